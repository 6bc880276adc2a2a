package kernel

import (
	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/abi/mote"
)

// The system-call table. Each handler implements one Linux system call for
// the calling thread t with the arguments in f (RDI, RSI, RDX, R10, R8, R9),
// and returns the result or a negated errno. A handler that blocks t
// returns nothing useful: the result is written when t is woken.
//
// Numbers without a handler return ENOSYS and are named once on the kernel
// channel.
type sysHandler func(t *thread, f *Frame) int64

var syscallTable = [linux.NumSyscalls]sysHandler{
	// Files and the console (sys_file.go).
	linux.SYS_READ:   sysRead,
	linux.SYS_WRITE:  sysWrite,
	linux.SYS_WRITEV: sysWritev,
	linux.SYS_READV:  sysReadv,
	linux.SYS_CLOSE:  sysClose,
	linux.SYS_FCNTL:  sysFcntl,
	linux.SYS_IOCTL:  sysIoctl,
	linux.SYS_DUP:    sysDup,
	linux.SYS_DUP2:   sysDup2,
	linux.SYS_DUP3:   sysDup3,
	linux.SYS_SPLICE: sysSplice,

	// The file system (sys_fs.go).
	linux.SYS_OPEN:       sysOpen,
	linux.SYS_OPENAT:     sysOpenat,
	linux.SYS_CREAT:      sysCreat,
	linux.SYS_PREAD64:    sysPread64,
	linux.SYS_PWRITE64:   sysPwrite64,
	linux.SYS_LSEEK:      sysLseek,
	linux.SYS_FSTAT:      sysFstat,
	linux.SYS_NEWFSTATAT: sysNewfstatat,
	linux.SYS_STAT:       sysStat,
	linux.SYS_LSTAT:      sysLstat,
	linux.SYS_GETDENTS64: sysGetdents64,
	linux.SYS_MKDIR:      sysMkdir,
	linux.SYS_MKDIRAT:    sysMkdirat,
	linux.SYS_UNLINK:     sysUnlink,
	linux.SYS_UNLINKAT:   sysUnlinkat,
	linux.SYS_RMDIR:      sysRmdir,
	linux.SYS_RENAME:     sysRename,
	linux.SYS_RENAMEAT:   sysRenameat,
	linux.SYS_RENAMEAT2:  sysRenameat2,
	linux.SYS_READLINK:   sysReadlink,
	linux.SYS_READLINKAT: sysReadlinkat,
	linux.SYS_SYMLINK:    sysSymlink,
	linux.SYS_SYMLINKAT:  sysSymlinkat,
	linux.SYS_MKNOD:      sysMknod,
	linux.SYS_MKNODAT:    sysMknodat,
	linux.SYS_LINK:       sysLink,
	linux.SYS_LINKAT:     sysLinkat,
	linux.SYS_FTRUNCATE:  sysFtruncate,
	linux.SYS_TRUNCATE:   sysTruncate,
	linux.SYS_FSYNC:      sysFsync,
	linux.SYS_FDATASYNC:  sysFsync,
	linux.SYS_SYNCFS:     sysFsync,
	linux.SYS_ACCESS:     sysAccess,
	linux.SYS_FACCESSAT:  sysFaccessat,
	linux.SYS_FACCESSAT2: sysFaccessat2,
	linux.SYS_CHMOD:      sysChmod,
	linux.SYS_FCHMOD:     sysFchmod,
	linux.SYS_FCHMODAT:   sysFchmodat,
	linux.SYS_FCHMODAT2:  sysFchmodat2,
	linux.SYS_FCHOWN:     sysFchown,
	linux.SYS_FCHOWNAT:   sysFchownat,
	linux.SYS_UTIMENSAT:  sysUtimensat,
	linux.SYS_CHDIR:      sysChdir,
	linux.SYS_FCHDIR:     sysFchdir,
	linux.SYS_GETCWD:     sysGetcwd,
	linux.SYS_UMASK:      sysUmask,
	linux.SYS_STATFS:     sysStatfs,
	linux.SYS_FSTATFS:    sysFstatfs,
	linux.SYS_FADVISE64:  sysFadvise64,
	linux.SYS_FLOCK:      sysFlock,

	// Event notification (sys_epoll.go).
	linux.SYS_EVENTFD:       sysEventfd,
	linux.SYS_EVENTFD2:      sysEventfd2,
	linux.SYS_EPOLL_CREATE:  sysEpollCreate,
	linux.SYS_EPOLL_CREATE1: sysEpollCreate1,
	linux.SYS_EPOLL_CTL:     sysEpollCtl,
	linux.SYS_EPOLL_WAIT:    sysEpollWait,
	linux.SYS_EPOLL_PWAIT:   sysEpollPwait,
	linux.SYS_PIPE:          sysPipe,
	linux.SYS_PIPE2:         sysPipe2,

	// Memory (sys_mm.go).
	linux.SYS_MMAP:     sysMmap,
	linux.SYS_MUNMAP:   sysMunmap,
	linux.SYS_MPROTECT: sysMprotect,
	linux.SYS_MADVISE:  sysMadvise,
	linux.SYS_MSYNC:    sysMsync,
	linux.SYS_MREMAP:   sysMremap,
	linux.SYS_BRK:      sysBrk,

	// Threads and the process (sys_thread.go).
	linux.SYS_CLONE:             sysClone,
	linux.SYS_EXIT:              sysExit,
	linux.SYS_EXIT_GROUP:        sysExitGroup,
	linux.SYS_WAIT4:             sysWait4,
	linux.SYS_WAITID:            sysWait4,
	linux.SYS_GETPID:            sysGetpid,
	linux.SYS_GETPPID:           sysGetppid,
	linux.SYS_GETTID:            sysGettid,
	linux.SYS_GETUID:            sysGetuid,
	linux.SYS_GETEUID:           sysGetuid,
	linux.SYS_GETGID:            sysGetuid,
	linux.SYS_GETEGID:           sysGetuid,
	linux.SYS_GETGROUPS:         sysGetgroups,
	linux.SYS_ARCH_PRCTL:        sysArchPrctl,
	linux.SYS_SET_TID_ADDRESS:   sysSetTidAddress,
	linux.SYS_SCHED_YIELD:       sysSchedYield,
	linux.SYS_SCHED_GETAFFINITY: sysSchedGetaffinity,
	linux.SYS_PRLIMIT64:         sysPrlimit64,
	linux.SYS_GETRLIMIT:         sysGetrlimit,
	linux.SYS_PRCTL:             sysPrctl,
	linux.SYS_UNAME:             sysUname,
	linux.SYS_GETRANDOM:         sysGetrandom,

	// Sockets, forwarded to the socket service (sys_socket.go).
	linux.SYS_SOCKET:      sysSocket,
	linux.SYS_SOCKETPAIR:  sysSocketpair,
	linux.SYS_SENDFILE:    sysSendfile,
	linux.SYS_BIND:        sysBind,
	linux.SYS_LISTEN:      sysListen,
	linux.SYS_ACCEPT:      sysAccept,
	linux.SYS_ACCEPT4:     sysAccept4,
	linux.SYS_CONNECT:     sysConnect,
	linux.SYS_SHUTDOWN:    sysShutdown,
	linux.SYS_GETSOCKNAME: sysGetsockname,
	linux.SYS_GETPEERNAME: sysGetpeername,
	linux.SYS_SETSOCKOPT:  sysSetsockopt,
	linux.SYS_GETSOCKOPT:  sysGetsockopt,
	linux.SYS_SENDTO:      sysSendto,
	linux.SYS_RECVFROM:    sysRecvfrom,
	linux.SYS_SENDMSG:     sysSendmsg,
	linux.SYS_RECVMSG:     sysRecvmsg,

	// Signals (signal.go).
	linux.SYS_RT_SIGACTION:   sysRtSigaction,
	linux.SYS_RT_SIGPROCMASK: sysRtSigprocmask,
	linux.SYS_RT_SIGRETURN:   sysRtSigreturn,
	linux.SYS_SIGALTSTACK:    sysSigaltstack,
	linux.SYS_TGKILL:         sysTgkill,
	linux.SYS_TKILL:          sysTkill,
	linux.SYS_KILL:           sysKill,

	// Time and waiting (sys_time.go).
	linux.SYS_FUTEX:           sysFutex,
	linux.SYS_NANOSLEEP:       sysNanosleep,
	linux.SYS_SETITIMER:       sysSetitimer,
	linux.SYS_GETITIMER:       sysGetitimer,
	linux.SYS_CLOCK_NANOSLEEP: sysClockNanosleep,
	linux.SYS_CLOCK_GETTIME:   sysClockGettime,
	linux.SYS_CLOCK_GETRES:    sysClockGetres,
	linux.SYS_GETTIMEOFDAY:    sysGettimeofday,
	linux.SYS_TIME:            sysTime,
}

func errno(e linux.Errno) int64 { return -int64(e) }

func errnoResult(e linux.Errno) uint64 { return uint64(-int64(e)) }

var enosysLogged [linux.NumSyscalls/64 + 1]uint64

func doSyscall(t *thread) {
	f := &t.frame
	nr := f.RAX
	t.sysnr = nr
	syscallEnter(t, nr, f)
	var r int64
	switch {
	case nr < uint64(len(syscallTable)) && syscallTable[nr] != nil:
		r = syscallTable[nr](t, f)
	case nr >= nrMoteServiceFD && nr <= nrMoteNetSend, nr == nrMoteNetConfig:
		r = serviceCall(t, f, nr)
	case nr >= mote.SysAgentOpen && nr <= mote.SysStats:
		r = agentCall(t, f, nr)
	case nr == nrMoteCrashTest:
		r = sysMoteCrashTest(t, f)
	default:
		r = enosys(nr)
	}
	countSyscall(nr, r)
	t.restartDeadline = 0
	if t.state == tsRunning {
		f.RAX = uint64(r)
		volEnd(t)
	}
	syscallExit(t, r)
}

// enosys names an unimplemented system call once on the kernel channel.
func enosys(nr uint64) int64 {
	if nr < linux.NumSyscalls {
		if enosysLogged[nr/64]&(1<<(nr%64)) == 0 {
			enosysLogged[nr/64] |= 1 << (nr % 64)
			name := linux.SyscallNames[nr]
			if name == "" {
				name = "unknown"
			}
			logRecord().s("unimplemented syscall ").s(name).s(" (").dec(int64(nr)).s(")").nl()
		}
	} else {
		logRecord().s("unimplemented syscall ").dec(int64(nr)).nl()
	}
	return errno(linux.ENOSYS)
}
