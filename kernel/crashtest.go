package kernel

import "unsafe"

// A kernel fault on request, so that tests can check the crash report end
// to end. The call exists only when the command line has crashtest=1
// (mote run --kernel-arg crashtest=1); otherwise it is an unknown number.
const nrMoteCrashTest = 0x4dff

var crashTest bool

// crashAddr is never mapped: below user memory and above the RAM that is
// identity-mapped for any guest smaller than 64 GiB.
const crashAddr = userLow - pageSize

// sysMoteCrashTest reads crashAddr in ring 0, which page-faults in the
// kernel while serving the app's system call.
func sysMoteCrashTest(t *thread, f *Frame) int64 {
	if !crashTest {
		return enosys(nrMoteCrashTest)
	}
	return int64(*(*uint64)(unsafe.Pointer(uintptr(crashAddr))))
}
