// Package linux holds the parts of the Linux amd64 system-call ABI that the
// mote kernel implements: numbers, errno values, flags and structure layouts.
// It imports nothing, so every kernel package and host tool can use it.
package linux

//go:generate go run gen_sysnum.go

// Errno is a Linux error number. Handlers return it negated in RAX, as Linux does.
type Errno uintptr

// Error numbers (asm-generic/errno-base.h, errno.h).
const (
	EPERM           Errno = 1
	ENOENT          Errno = 2
	ESRCH           Errno = 3
	EINTR           Errno = 4
	EIO             Errno = 5
	ENXIO           Errno = 6
	E2BIG           Errno = 7
	EBADF           Errno = 9
	ECHILD          Errno = 10
	EAGAIN          Errno = 11
	ENOMEM          Errno = 12
	EACCES          Errno = 13
	EFAULT          Errno = 14
	EBUSY           Errno = 16
	EEXIST          Errno = 17
	EXDEV           Errno = 18
	ENODEV          Errno = 19
	ENOTDIR         Errno = 20
	EISDIR          Errno = 21
	EINVAL          Errno = 22
	ENFILE          Errno = 23
	EMFILE          Errno = 24
	ENOTTY          Errno = 25
	EFBIG           Errno = 27
	ENOSPC          Errno = 28
	ESPIPE          Errno = 29
	EROFS           Errno = 30
	EMLINK          Errno = 31
	EPIPE           Errno = 32
	ERANGE          Errno = 34
	EDEADLK         Errno = 35
	ENAMETOOLONG    Errno = 36
	ENOLCK          Errno = 37
	ENOSYS          Errno = 38
	ENOTEMPTY       Errno = 39
	ELOOP           Errno = 40
	ENODATA         Errno = 61
	EOVERFLOW       Errno = 75
	ENOTSOCK        Errno = 88
	EMSGSIZE        Errno = 90
	EPROTOTYPE      Errno = 91
	ENOPROTOOPT     Errno = 92
	EPROTONOSUPPORT Errno = 93
	ESOCKTNOSUPPORT Errno = 94
	EOPNOTSUPP      Errno = 95
	EAFNOSUPPORT    Errno = 97
	ENOBUFS         Errno = 105
	EISCONN         Errno = 106
	ENOTCONN        Errno = 107
	ECONNREFUSED    Errno = 111
	EADDRINUSE      Errno = 98
	ETIMEDOUT       Errno = 110
)

// Signals (asm-generic/signal.h).
const (
	SIGHUP     = 1
	SIGINT     = 2
	SIGQUIT    = 3
	SIGILL     = 4
	SIGTRAP    = 5
	SIGABRT    = 6
	SIGBUS     = 7
	SIGFPE     = 8
	SIGKILL    = 9
	SIGUSR1    = 10
	SIGSEGV    = 11
	SIGUSR2    = 12
	SIGPIPE    = 13
	SIGALRM    = 14
	SIGTERM    = 15
	SIGCHLD    = 17
	SIGCONT    = 18
	SIGSTOP    = 19
	SIGURG     = 23
	SIGPROF    = 27
	SIGWINCH   = 28
	SIGSYS     = 31
	NumSignals = 64
)

// Signal info codes (asm-generic/siginfo.h).
const (
	SI_USER     = 0
	SI_KERNEL   = 0x80
	SI_TKILL    = -6
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
	FPE_INTDIV  = 1
	ILL_ILLOPN  = 2
	TRAP_BRKPT  = 1
	BUS_ADRERR  = 2
)

// rt_sigaction flags and sigprocmask operations.
const (
	SA_SIGINFO   = 0x4
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
	SA_RESTORER  = 0x04000000

	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2

	SIG_DFL = 0
	SIG_IGN = 1

	SS_ONSTACK  = 1
	SS_DISABLE  = 2
	MINSIGSTKSZ = 2048
)

// Sigaction is struct kernel_sigaction as rt_sigaction(2) reads it on amd64.
type Sigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// Stack is stack_t, the argument of sigaltstack(2).
type Stack struct {
	Sp    uint64
	Flags int32
	_     int32
	Size  uint64
}

// Sizes and offsets of the amd64 signal frame (arch/x86/include/uapi/asm/sigcontext.h,
// ucontext.h). The handler's stack holds: return address (the restorer), ucontext, siginfo,
// then the 512-byte FXSAVE area that uc_mcontext.fpstate points to.
const (
	SiginfoSize   = 128
	UcontextSize  = 304 // flags, link, stack_t, sigcontext (256), sigmask (8)
	UcStackOff    = 16
	UcMcontextOff = 40
	UcSigmaskOff  = 296
	McFpstateOff  = 184 // within sigcontext, after the 23 general registers
	FXSaveSize    = 512
)

// Indices of the general registers in sigcontext (struct sigcontext for amd64).
const (
	RegR8 = iota
	RegR9
	RegR10
	RegR11
	RegR12
	RegR13
	RegR14
	RegR15
	RegRDI
	RegRSI
	RegRBP
	RegRBX
	RegRDX
	RegRAX
	RegRCX
	RegRSP
	RegRIP
	RegEFL
	RegCSGSFS
	RegERR
	RegTRAPNO
	RegOLDMASK
	RegCR2
)

// mmap, mprotect, madvise and msync.
const (
	PROT_NONE  = 0x0
	PROT_READ  = 0x1
	PROT_WRITE = 0x2
	PROT_EXEC  = 0x4

	MAP_SHARED          = 0x1
	MAP_PRIVATE         = 0x2
	MAP_SHARED_VALIDATE = 0x3
	MAP_TYPE            = 0xf
	MAP_FIXED           = 0x10
	MAP_ANONYMOUS       = 0x20
	MAP_NORESERVE       = 0x4000
	MAP_FIXED_NOREPLACE = 0x100000

	MADV_NORMAL     = 0
	MADV_DONTNEED   = 4
	MADV_FREE       = 8
	MADV_HUGEPAGE   = 14
	MADV_NOHUGEPAGE = 15
	MADV_COLLAPSE   = 25

	MS_ASYNC      = 0x1
	MS_INVALIDATE = 0x2
	MS_SYNC       = 0x4
)

// futex(2) operations.
const (
	FUTEX_WAIT           = 0
	FUTEX_WAKE           = 1
	FUTEX_WAIT_BITSET    = 9
	FUTEX_WAKE_BITSET    = 10
	FUTEX_PRIVATE_FLAG   = 128
	FUTEX_CLOCK_REALTIME = 256
)

// clone(2) flags.
const (
	CLONE_VM             = 0x100
	CLONE_FS             = 0x200
	CLONE_FILES          = 0x400
	CLONE_SIGHAND        = 0x800
	CLONE_THREAD         = 0x10000
	CLONE_SYSVSEM        = 0x40000
	CLONE_SETTLS         = 0x80000
	CLONE_PARENT_SETTID  = 0x100000
	CLONE_CHILD_CLEARTID = 0x200000
	CLONE_CHILD_SETTID   = 0x1000000
)

// Clocks for clock_gettime(2).
const (
	CLOCK_REALTIME           = 0
	CLOCK_MONOTONIC          = 1
	CLOCK_PROCESS_CPUTIME_ID = 2
	CLOCK_THREAD_CPUTIME_ID  = 3
	CLOCK_MONOTONIC_RAW      = 4
	CLOCK_REALTIME_COARSE    = 5
	CLOCK_MONOTONIC_COARSE   = 6
	CLOCK_BOOTTIME           = 7
)

// arch_prctl(2) codes.
const (
	ARCH_SET_GS = 0x1001
	ARCH_SET_FS = 0x1002
	ARCH_GET_FS = 0x1003
	ARCH_GET_GS = 0x1004
)

// Auxiliary vector keys.
const (
	AT_NULL         = 0
	AT_PHDR         = 3
	AT_PHENT        = 4
	AT_PHNUM        = 5
	AT_PAGESZ       = 6
	AT_ENTRY        = 9
	AT_UID          = 11
	AT_EUID         = 12
	AT_GID          = 13
	AT_EGID         = 14
	AT_HWCAP        = 16
	AT_CLKTCK       = 17
	AT_SECURE       = 23
	AT_RANDOM       = 25
	AT_HWCAP2       = 26
	AT_EXECFN       = 31
	AT_SYSINFO_EHDR = 33
)

// fcntl(2) commands and file flags.
const (
	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_DUPFD_CLOEXEC = 1030
	FD_CLOEXEC      = 1

	// Record locks: struct flock's l_type, and the commands that take one.
	F_GETLK      = 5
	F_SETLK      = 6
	F_SETLKW     = 7
	F_OFD_GETLK  = 36
	F_OFD_SETLK  = 37
	F_OFD_SETLKW = 38
	F_RDLCK      = 0
	F_WRLCK      = 1
	F_UNLCK      = 2

	// flock(2) operations.
	LOCK_SH = 1
	LOCK_EX = 2
	LOCK_NB = 4
	LOCK_UN = 8

	O_RDONLY    = 0x0
	O_WRONLY    = 0x1
	O_RDWR      = 0x2
	O_ACCMODE   = 0x3
	O_CREAT     = 0x40
	O_EXCL      = 0x80
	O_NOCTTY    = 0x100
	O_TRUNC     = 0x200
	O_APPEND    = 0x400
	O_NONBLOCK  = 0x800
	O_DIRECTORY = 0x10000
	O_NOFOLLOW  = 0x20000
	O_CLOEXEC   = 0x80000

	AT_FDCWD = -100
)

// prlimit64 resources.
const (
	RLIMIT_STACK  = 3
	RLIMIT_NOFILE = 7
	RLIM_INFINITY = ^uint64(0)
)
