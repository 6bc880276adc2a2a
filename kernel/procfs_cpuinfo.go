package kernel

import "mote.dev/mote/kernel/arch/amd64"

// /proc/cpuinfo from CPUID, in Linux's layout for its one CPU. The flag
// names are Linux's (arch/x86/include/asm/cpufeatures.h) for the bits of
// the leaves programs test most; a bit without a name is left out.

var (
	flags1EDX = [32]string{"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "",
		"sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx",
		"fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"}
	flags1ECX = [32]string{"pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est",
		"tm2", "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", "", "pcid", "dca", "sse4_1",
		"sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", "", "avx", "f16c",
		"rdrand", "hypervisor"}
	flagsExtEDX = [32]string{11: "syscall", 19: "mp", 20: "nx", 22: "mmxext", 25: "fxsr_opt",
		26: "pdpe1gb", 27: "rdtscp", 29: "lm", 30: "3dnowext", 31: "3dnow"}
	flagsExtECX = [32]string{"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a",
		"misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", "", "lwp", "fma4"}
	flags7EBX = [32]string{0: "fsgsbase", 1: "tsc_adjust", 3: "bmi1", 4: "hle", 5: "avx2", 7: "smep",
		8: "bmi2", 9: "erms", 10: "invpcid", 11: "rtm", 16: "avx512f", 17: "avx512dq", 18: "rdseed",
		19: "adx", 20: "smap", 21: "avx512ifma", 23: "clflushopt", 24: "clwb", 26: "avx512pf",
		27: "avx512er", 28: "avx512cd", 29: "sha_ni", 30: "avx512bw", 31: "avx512vl"}
	flags7ECX = [32]string{1: "avx512vbmi", 2: "umip", 3: "pku", 4: "ospke", 6: "avx512_vbmi2",
		8: "gfni", 9: "vaes", 10: "vpclmulqdq", 11: "avx512_vnni", 12: "avx512_bitalg",
		14: "avx512_vpopcntdq", 22: "rdpid"}
)

func genCpuinfoText(w *textBuf) {
	maxLeaf, b, c, d := amd64.Cpuid(0, 0)
	var vendor [12]byte
	putReg(vendor[0:], b)
	putReg(vendor[4:], d)
	putReg(vendor[8:], c)
	a1, _, c1, d1 := amd64.Cpuid(1, 0)
	family := a1 >> 8 & 0xf
	model := a1 >> 4 & 0xf
	if family == 0xf {
		family += a1 >> 20 & 0xff
	}
	if family == 0x6 || family >= 0xf {
		model |= (a1 >> 16 & 0xf) << 4
	}
	maxExt, _, _, _ := amd64.Cpuid(0x80000000, 0)
	var brand [48]byte
	if maxExt >= 0x80000004 {
		for i := uint32(0); i < 3; i++ {
			a, b, c, d := amd64.Cpuid(0x80000002+i, 0)
			putReg(brand[16*i:], a)
			putReg(brand[16*i+4:], b)
			putReg(brand[16*i+8:], c)
			putReg(brand[16*i+12:], d)
		}
	}
	w.s("processor\t: 0\nvendor_id\t: ").bytes(vendor[:]).c('\n')
	w.s("cpu family\t: ").dec(uint64(family), 0).c('\n')
	w.s("model\t\t: ").dec(uint64(model), 0).c('\n')
	w.s("model name\t: ").bytes(trimBrand(brand[:])).c('\n')
	w.s("stepping\t: ").dec(uint64(a1&0xf), 0).c('\n')
	// The frequency the clock was calibrated at (clock.go), in MHz with
	// three decimals as Linux prints it.
	w.s("cpu MHz\t\t: ").dec(tscKHz/1000, 0).c('.').dec3(tscKHz % 1000).c('\n')
	w.s("physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\n")
	w.s("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: ").dec(uint64(maxLeaf), 0).s("\nwp\t\t: yes\n")
	w.s("flags\t\t:")
	cpuFlags(w, &flags1EDX, d1)
	cpuFlags(w, &flags1ECX, c1&^(1<<27)) // osxsave is not a flag Linux lists
	if maxExt >= 0x80000001 {
		_, _, ce, de := amd64.Cpuid(0x80000001, 0)
		cpuFlags(w, &flagsExtEDX, de)
		cpuFlags(w, &flagsExtECX, ce)
	}
	if maxLeaf >= 7 {
		_, b7, c7, _ := amd64.Cpuid(7, 0)
		cpuFlags(w, &flags7EBX, b7)
		cpuFlags(w, &flags7ECX, c7)
	}
	w.c('\n')
	bogo := tscKHz * 2 / 1000
	w.s("bogomips\t: ").dec(bogo, 0).s(".00\n")
	w.s("clflush size\t: 64\ncache_alignment\t: 64\n")
	if maxExt >= 0x80000008 {
		a8, _, _, _ := amd64.Cpuid(0x80000008, 0)
		w.s("address sizes\t: ").dec(uint64(a8&0xff), 0).s(" bits physical, ").dec(uint64(a8>>8&0xff), 0).s(" bits virtual\n")
	}
	w.s("power management:\n\n")
}

func cpuFlags(w *textBuf, names *[32]string, reg uint32) {
	for i, name := range names {
		if name != "" && reg&(1<<i) != 0 {
			w.c(' ').s(name)
		}
	}
}

func putReg(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// trimBrand drops the NULs and the leading spaces of the brand string.
func trimBrand(b []byte) []byte {
	b = cstr(b)
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// dec3 writes v (< 1000) as three digits.
func (w *textBuf) dec3(v uint64) *textBuf {
	return w.c(byte('0' + v/100)).c(byte('0' + v/10%10)).c(byte('0' + v%10))
}
