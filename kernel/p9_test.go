package kernel

import (
	"encoding/binary"
	"testing"

	"mote.dev/mote/kernel/abi/linux"
)

// reply builds a 9P reply: size, type, tag and body.
func reply(typ uint8, tag uint16, body ...any) []byte {
	b := []byte{0, 0, 0, 0, typ, byte(tag), byte(tag >> 8)}
	for _, v := range body {
		switch v := v.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, v)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, v)
		case string:
			b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		}
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

func qidBytes(typ uint8, path uint64) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	return binary.LittleEndian.AppendUint64(b, path)
}

func TestP9Decode(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		treq uint8
		tag  uint16
		want linux.Errno
		test func(t *testing.T, r p9r)
	}{
		{"lerror", reply(p9Rlerror, 3, uint32(2)), p9Twalk, 3, linux.ENOENT, nil},
		{"lerror zero", reply(p9Rlerror, 3, uint32(0)), p9Twalk, 3, linux.EIO, nil},
		{"lerror huge", reply(p9Rlerror, 3, uint32(70000)), p9Twalk, 3, linux.EIO, nil},
		{"walk", reply(p9Twalk+1, 1, uint16(2), qidBytes(p9QTDir, 5), qidBytes(0, 9)), p9Twalk, 1, 0, func(t *testing.T, r p9r) {
			if r.nwqid != 2 || r.qid.path != 9 {
				t.Errorf("%+v", r)
			}
		}},
		{"walk too many", reply(p9Twalk+1, 1, uint16(17)), p9Twalk, 1, linux.EIO, nil},
		{"walk short", reply(p9Twalk+1, 1, uint16(2), qidBytes(0, 9)), p9Twalk, 1, linux.EIO, nil},
		{"wrong tag", reply(p9Tclunk+1, 4), p9Tclunk, 5, linux.EIO, nil},
		{"wrong type", reply(p9Tread+1, 0, uint32(0)), p9Twrite, 0, linux.EIO, nil},
		{"read", reply(p9Tread+1, 0, uint32(3), []byte("abc")), p9Tread, 0, 0, func(t *testing.T, r p9r) {
			if r.count != 3 || r.off != 11 {
				t.Errorf("%+v", r)
			}
		}},
		{"read count past end", reply(p9Tread+1, 0, uint32(300), []byte("abc")), p9Tread, 0, linux.EIO, nil},
		{"readlink", reply(p9Treadlink+1, 0, "target"), p9Treadlink, 0, 0, func(t *testing.T, r p9r) {
			if r.count != 6 || r.off != 9 {
				t.Errorf("%+v", r)
			}
		}},
		{"getattr short", reply(p9Tgetattr+1, 0, uint64(0x7ff), qidBytes(0, 1)), p9Tgetattr, 0, linux.EIO, nil},
		{"header only", []byte{7, 0, 0, 0, p9Tclunk + 1, 0, 0}, p9Tclunk, 0, 0, nil},
		{"too short for a header", []byte{7, 0, 0}, p9Tclunk, 0, linux.EIO, nil},
		{"size past the buffer", []byte{200, 0, 0, 0, p9Tclunk + 1, 0, 0}, p9Tclunk, 0, linux.EIO, nil},
		{"size below a header", []byte{3, 0, 0, 0, p9Tclunk + 1, 0, 0}, p9Tclunk, 0, linux.EIO, nil},
		{"empty", nil, p9Tclunk, 0, linux.EIO, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p9Decode(tc.b, tc.treq, tc.tag)
			if r.err != tc.want {
				t.Fatalf("err %d, want %d", r.err, tc.want)
			}
			if tc.test != nil {
				tc.test(t, r)
			}
		})
	}
}

func TestP9GetattrAndStatfs(t *testing.T) {
	body := []any{uint64(0x7ff), qidBytes(0, 42), uint32(0o100644), uint32(1), uint32(2),
		uint64(1), uint64(0), uint64(1234), uint64(4096), uint64(8)}
	for i := 0; i < 4; i++ { // atime, mtime, ctime, btime
		body = append(body, uint64(100+i), uint64(5))
	}
	body = append(body, uint64(0), uint64(0))
	r := p9Decode(reply(p9Tgetattr+1, 2, body...), p9Tgetattr, 2)
	a := r.attr
	if r.err != 0 || r.qid.path != 42 || a.mode != 0o100644 || a.size != 1234 || a.mtime != 101*1e9+5 {
		t.Errorf("getattr: %+v", r)
	}
	r = p9Decode(reply(8+1, 0, uint32(v9fsMagic), uint32(4096), uint64(10), uint64(5), uint64(4), uint64(100), uint64(50), uint64(7), uint32(255)), p9Tstatfs, 0)
	if r.err != 0 || r.fs.bsize != 4096 || r.fs.bavail != 4 || r.fs.namelen != 255 {
		t.Errorf("statfs: %+v", r)
	}
}

func TestP9Msg(t *testing.T) {
	buf := make([]byte, 64)
	m := p9msg{b: buf}
	m.begin(p9Twalk, 7)
	m.u32(1)
	m.u32(2)
	m.u16(1)
	m.str([]byte("name"))
	n := m.finish()
	want := []byte{23, 0, 0, 0, p9Twalk, 7, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 4, 0, 'n', 'a', 'm', 'e'}
	if n != len(want) || string(buf[:n]) != string(want) {
		t.Errorf("Twalk: % x", buf[:n])
	}
	m = p9msg{b: make([]byte, 16)}
	m.begin(p9Twalk, 0)
	m.str(make([]byte, 20))
	if m.finish() != 0 {
		t.Error("a message too long for its buffer was finished")
	}
}

func TestP9Dirent(t *testing.T) {
	var b []byte
	b = append(b, qidBytes(0, 3)...)
	b = binary.LittleEndian.AppendUint64(b, 77)
	b = append(b, 8)
	b = binary.LittleEndian.AppendUint16(b, 3)
	b = append(b, "abc"...)
	d, ok := p9NextDirent(b)
	if !ok || d.next != 77 || string(d.name) != "abc" || d.len != len(b) {
		t.Errorf("%+v %v", d, ok)
	}
	if _, ok := p9NextDirent(b[:len(b)-1]); ok {
		t.Error("a cut entry decoded")
	}
}

// FuzzP9Decode: whatever the device writes back, decoding neither panics nor points data
// outside the reply.
func FuzzP9Decode(f *testing.F) {
	f.Add(reply(p9Tread+1, 0, uint32(3), []byte("abc")), uint8(p9Tread))
	f.Add(reply(p9Twalk+1, 0, uint16(1), qidBytes(0, 1)), uint8(p9Twalk))
	f.Add(reply(p9Treaddir+1, 0, uint32(0)), uint8(p9Treaddir))
	f.Add(reply(p9Rlerror, 0, uint32(5)), uint8(p9Tgetattr))
	f.Fuzz(func(t *testing.T, b []byte, treq uint8) {
		r := p9Decode(b, treq, 0)
		if r.err == 0 && uint64(r.off)+uint64(r.count) > uint64(len(b)) && (treq == p9Tread || treq == p9Treaddir || treq == p9Treadlink) {
			t.Fatalf("data [%d, +%d) outside a %d-byte reply", r.off, r.count, len(b))
		}
		if r.err == 0 && treq == p9Treaddir {
			data := b[r.off : r.off+r.count]
			for len(data) > 0 {
				d, ok := p9NextDirent(data)
				if !ok {
					break
				}
				data = data[d.len:]
			}
		}
	})
}

// TestP9DecodeRreadHdr: a direct read's reply is checked from its header and the length the
// device wrote, since the data went to the app's pages.
func TestP9DecodeRreadHdr(t *testing.T) {
	hdr := func(typ uint8, tag uint16, count uint32) []byte {
		b := []byte{0, 0, 0, 0, typ, byte(tag), byte(tag >> 8)}
		b = binary.LittleEndian.AppendUint32(b, count)
		binary.LittleEndian.PutUint32(b, p9ReadHdr+count)
		return b
	}
	for _, tc := range []struct {
		name      string
		hdr       []byte
		rlen, max uint32
		err       linux.Errno
		count     uint32
	}{
		{"whole", hdr(p9Tread+1, 3, 4096), p9ReadHdr + 4096, 1 << 20, 0, 4096},
		{"end of file", hdr(p9Tread+1, 3, 0), p9ReadHdr, 1 << 20, 0, 0},
		{"more than asked", hdr(p9Tread+1, 3, 8192), p9ReadHdr + 8192, 4096, linux.EIO, 0},
		{"more than written", hdr(p9Tread+1, 3, 4096), p9ReadHdr + 100, 1 << 20, linux.EIO, 0},
		{"wrong tag", hdr(p9Tread+1, 4, 10), p9ReadHdr + 10, 1 << 20, linux.EIO, 0},
		{"wrong type", hdr(p9Twrite+1, 3, 10), p9ReadHdr + 10, 1 << 20, linux.EIO, 0},
		{"error", reply(p9Rlerror, 3, uint32(linux.EISDIR)), p9ReadHdr, 1 << 20, linux.EISDIR, 0},
		{"short", hdr(p9Tread+1, 3, 0)[:7], 7, 1 << 20, linux.EIO, 0},
	} {
		r := p9DecodeRreadHdr(tc.hdr, tc.rlen, tc.max, 3)
		if r.err != tc.err || r.count != tc.count {
			t.Errorf("%s: err %v count %d, want %v %d", tc.name, r.err, r.count, tc.err, tc.count)
		}
	}
}

// FuzzP9DecodeRreadHdr: a direct read's reply never claims more than was asked for or written.
func FuzzP9DecodeRreadHdr(f *testing.F) {
	f.Add(reply(p9Tread+1, 0, uint32(0)), uint32(p9ReadHdr), uint32(4096))
	f.Add(reply(p9Rlerror, 0, uint32(5)), uint32(p9ReadHdr), uint32(4096))
	f.Add([]byte{10, 0, 0, 0, p9Tread + 1, 0, 0, 0xff, 0xff, 0xff, 0xff}, uint32(20), ^uint32(0)) // size wraps
	f.Fuzz(func(t *testing.T, b []byte, rlen, max uint32) {
		r := p9DecodeRreadHdr(b, rlen, max, 0)
		if r.err == 0 && (r.count > max || uint64(r.count)+p9ReadHdr > uint64(rlen)) {
			t.Fatalf("count %d past max %d or the %d bytes written", r.count, max, rlen)
		}
	})
}
