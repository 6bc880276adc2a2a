package kernel

// The Go runtime paces its heap by GOGC alone unless it is given a limit, and
// keeps freed pages for reuse, handing them back to the system only slowly. As
// a process among others that is right; in a guest, the machine's RAM is all
// the program will ever have, and a server that makes many connections in a
// small guest ran out of memory with under a tenth of it live. So, as a
// container platform that knows its limit would, the kernel tells the
// runtime: unless the environment sets GOMEMLIMIT already (GOMEMLIMIT=off
// turns it off), the program starts with GOMEMLIMIT at three quarters of the
// memory free when it starts. The rest is left for what the kernel allocates
// later on the program's behalf (page tables, socket and device buffers, files
// in /tmp). The limit is soft: a heap that needs more gets it, after harder
// collection.

const memLimitEnv = "GOMEMLIMIT="

var (
	memLimitBuf   [len(memLimitEnv) + 20]byte
	memLimitLen   int
	memLimitAdded bool // the program's environment ends with memLimitBuf[:memLimitLen]
)

// memLimitSetting returns the GOMEMLIMIT=... entry to add to the
// environment, or nil when the environment has one.
func memLimitSetting() []byte {
	for i := 0; i < nenvv; i++ {
		e := envv[i].bytes()
		if len(e) >= len(memLimitEnv) && string(e[:len(memLimitEnv)]) == memLimitEnv {
			return nil
		}
	}
	n := copy(memLimitBuf[:], memLimitEnv)
	limit := uint64(freeFrames) * pageSize / 4 * 3
	var digits [20]byte
	d := len(digits)
	for {
		d--
		digits[d] = byte('0' + limit%10)
		limit /= 10
		if limit == 0 {
			break
		}
	}
	n += copy(memLimitBuf[n:], digits[d:])
	memLimitLen = n
	return memLimitBuf[:n]
}
