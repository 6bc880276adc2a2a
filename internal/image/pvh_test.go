package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"
)

// testELF builds a minimal x86-64 executable laid out like Go's linker lays out a binary linked
// with -B 0x0000000000000000: a Go build-id note covered by PT_NOTE, then the 8-byte GNU
// build-id note, then code.
func testELF(t testing.TB) []byte {
	const (
		base    = 0x200000
		phoff   = 64
		notes   = phoff + 2*56
		goNote  = notes       // 12 + "Go\0\0" + 4-byte desc = 20
		gnuNote = goNote + 20 // 12 + "GNU\0" + 8-byte desc = 24
		text    = gnuNote + 24
		shstr   = text + 16
	)
	var b bytes.Buffer
	le := binary.LittleEndian
	shstrtab := "\x00.note.go.buildid\x00.note.gnu.build-id\x00.text\x00.shstrtab\x00"
	shoff := (shstr + len(shstrtab) + 7) &^ 7

	hdr := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: 1,
		Entry: base + text, Phoff: phoff, Shoff: uint64(shoff), Ehsize: 64,
		Phentsize: 56, Phnum: 2, Shentsize: 64, Shnum: 5, Shstrndx: 4,
	}
	copy(hdr.Ident[:], "\x7fELF\x02\x01\x01")
	binary.Write(&b, le, hdr)
	binary.Write(&b, le, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: 5, Off: 0, Vaddr: base, Paddr: base, Filesz: text + 16, Memsz: text + 16, Align: 0x1000})
	binary.Write(&b, le, elf.Prog64{Type: uint32(elf.PT_NOTE), Flags: 4, Off: goNote, Vaddr: base + goNote, Paddr: base + goNote, Filesz: 20, Memsz: 20, Align: 4})
	binary.Write(&b, le, [3]uint32{4, 4, 4})
	b.WriteString("Go\x00\x00abcd")
	binary.Write(&b, le, [3]uint32{4, 8, ntGNUBuildID})
	b.WriteString("GNU\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	b.Write(bytes.Repeat([]byte{0xf4}, 16))
	b.WriteString(shstrtab)
	for b.Len() < shoff {
		b.WriteByte(0)
	}
	name := func(s string) uint32 { return uint32(strings.Index(shstrtab, "\x00"+s+"\x00") + 1) }
	binary.Write(&b, le, elf.Section64{})
	binary.Write(&b, le, elf.Section64{Name: name(".note.go.buildid"), Type: uint32(elf.SHT_NOTE), Flags: 2, Addr: base + goNote, Off: goNote, Size: 20, Addralign: 4})
	binary.Write(&b, le, elf.Section64{Name: name(".note.gnu.build-id"), Type: uint32(elf.SHT_NOTE), Flags: 2, Addr: base + gnuNote, Off: gnuNote, Size: 24, Addralign: 4})
	binary.Write(&b, le, elf.Section64{Name: name(".text"), Type: uint32(elf.SHT_PROGBITS), Flags: 6, Addr: base + text, Off: text, Size: 16, Addralign: 16})
	binary.Write(&b, le, elf.Section64{Name: name(".shstrtab"), Type: uint32(elf.SHT_STRTAB), Off: shstr, Size: uint64(len(shstrtab)), Addralign: 1})
	return b.Bytes()
}

func TestPatchPVH(t *testing.T) {
	b := testELF(t)
	if _, err := PVHEntry(b); err == nil {
		t.Fatal("unpatched image has a PVH note")
	}
	if err := PatchPVH(b); err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := PVHEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if entry != f.Entry {
		t.Errorf("PVH entry %#x, ELF entry %#x", entry, f.Entry)
	}
	var note *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_NOTE {
			note = p
		}
	}
	if note.Filesz != 44 || note.Memsz != 44 || note.Off != 176 || note.Vaddr != 0x200000+176 {
		t.Errorf("PT_NOTE after patch: %+v", note.ProgHeader)
	}
	data, err := f.Section(".note.gnu.build-id").Data()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00")
	want = binary.LittleEndian.AppendUint64(want, f.Entry)
	if !bytes.Equal(data, want) {
		t.Errorf("note bytes\n got % x\nwant % x", data, want)
	}

	// Patching again changes nothing.
	again := bytes.Clone(b)
	if err := PatchPVH(again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Error("second patch changed the image")
	}
}

func TestPatchPVHErrors(t *testing.T) {
	good := testELF(t)
	le := binary.LittleEndian
	tests := []struct {
		name   string
		mangle func(b []byte) []byte
		want   string
	}{
		{"empty", func(b []byte) []byte { return nil }, "not a 64-bit"},
		{"not elf", func(b []byte) []byte { return []byte("#!/bin/sh\necho hi\n") }, "not a 64-bit"},
		{"arm64", func(b []byte) []byte { le.PutUint16(b[18:], uint16(elf.EM_AARCH64)); return b }, "not a 64-bit"},
		{"no build id", func(b []byte) []byte { copy(b[196+12:], "XYZ\x00"); return b }, "no 8-byte GNU build-id"},
		{"4-byte build id", func(b []byte) []byte { le.PutUint32(b[196+4:], 4); return b }, ""},
		{"note past section", func(b []byte) []byte { le.PutUint32(b[196+4:], 1000); return b }, "runs past"},
		{"entry outside load", func(b []byte) []byte { le.PutUint64(b[24:], 0x900000); return b }, "no loadable segment"},
		{"entry above 4G", func(b []byte) []byte {
			le.PutUint64(b[24:], 0x1_0000_0000+0x200000+220)
			le.PutUint64(b[64+16:], 0x1_0000_0000+0x200000)
			le.PutUint64(b[64+24:], 0x1_0000_0000+0x200000)
			return b
		}, "above 4 GiB"},
		{"phdrs outside file", func(b []byte) []byte { le.PutUint64(b[0x20:], 1<<40); return b }, ""},
		{"no PT_NOTE", func(b []byte) []byte { le.PutUint32(b[64+56:], uint32(elf.PT_NULL)); return b }, "no PT_NOTE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mangle(bytes.Clone(good))
			err := PatchPVH(b)
			if err == nil {
				t.Fatal("PatchPVH succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func FuzzPatch(f *testing.F) {
	f.Add(testELF(f))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		if err := PatchPVH(b); err != nil {
			return
		}
		// Whatever PatchPVH accepts must boot: a PVH note a loader can find, with the entry.
		entry, err := PVHEntry(b)
		if err != nil {
			t.Fatalf("patched image fails the loader check: %v", err)
		}
		if entry > maxPhysEntryAddr {
			t.Fatalf("PVH entry %#x above 4 GiB", entry)
		}
		if len(b) != len(orig) {
			t.Fatal("patch changed the length")
		}
		again := bytes.Clone(b)
		if err := PatchPVH(again); err != nil || !bytes.Equal(again, b) {
			t.Fatalf("second patch: err %v, changed %v", err, !bytes.Equal(again, b))
		}
	})
}
