package strace

import (
	"strconv"
	"strings"
)

// bits names the bits of a flag argument; the ones not named print in hex.
type bits []struct {
	v    uint64
	name string
}

// format joins the names of the bits set in v with "|", as strace does; zero is zero.
func (b bits) format(v uint64, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, f := range b {
		if f.v != 0 && v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		parts = append(parts, cHex(v))
	}
	return strings.Join(parts, "|")
}

// values names the values of an argument that is one of a set.
type values map[uint64]string

func (m values) format(v uint64) string {
	if s, ok := m[v]; ok {
		return s
	}
	return cHex(v)
}

// The values below are Linux's amd64 ABI (include/uapi/...), as strace names them.

var openAccess = values{0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}

var openFlags = bits{
	{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o400, "O_NOCTTY"}, {0o1000, "O_TRUNC"},
	{0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o10000, "O_DSYNC"}, {0o20000, "O_ASYNC"},
	{0o40000, "O_DIRECT"}, {0o100000, "O_LARGEFILE"}, {0o20200000, "O_TMPFILE"},
	{0o200000, "O_DIRECTORY"}, {0o400000, "O_NOFOLLOW"}, {0o1000000, "O_NOATIME"},
	{0o2000000, "O_CLOEXEC"}, {0o4010000, "O_SYNC"}, {0o10000000, "O_PATH"},
}

const oCreat, oTmpfile = 0o100, 0o20200000

var protBits = bits{{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}}

var mapType = values{1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}

var mapFlags = bits{
	{0x10, "MAP_FIXED"}, {0x20, "MAP_ANONYMOUS"}, {0x100, "MAP_GROWSDOWN"}, {0x800, "MAP_DENYWRITE"},
	{0x1000, "MAP_EXECUTABLE"}, {0x2000, "MAP_LOCKED"}, {0x4000, "MAP_NORESERVE"},
	{0x8000, "MAP_POPULATE"}, {0x10000, "MAP_NONBLOCK"}, {0x20000, "MAP_STACK"},
	{0x40000, "MAP_HUGETLB"}, {0x80000, "MAP_SYNC"}, {0x100000, "MAP_FIXED_NOREPLACE"},
}

var madvice = values{
	0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED", 4: "MADV_DONTNEED",
	8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK", 11: "MADV_DOFORK", 12: "MADV_MERGEABLE",
	13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP",
	17: "MADV_DODUMP", 20: "MADV_COLD", 21: "MADV_PAGEOUT", 25: "MADV_COLLAPSE",
}

var futexOps = values{
	0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE", 4: "FUTEX_CMP_REQUEUE",
	5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI", 7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI",
	9: "FUTEX_WAIT_BITSET", 10: "FUTEX_WAKE_BITSET",
}

const (
	futexWait, futexWake, futexWaitBitset, futexWakeBitset = 0, 1, 9, 10
	futexPrivate, futexClockRealtime                       = 128, 256
)

// futexOp formats a futex operation: FUTEX_WAIT_PRIVATE, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME.
func futexOp(v uint64) string {
	s := futexOps.format(v &^ (futexPrivate | futexClockRealtime))
	if v&futexPrivate != 0 {
		s += "_PRIVATE"
	}
	if v&futexClockRealtime != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

var signalNames = values{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
	8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
	20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
	26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

func signal(v uint64) string {
	if s, ok := signalNames[v]; ok {
		return s
	}
	if v >= 32 && v <= 64 {
		return "SIGRT_" + strconv.FormatUint(v-32, 10)
	}
	return strconv.FormatUint(v, 10)
}

var sigprocmaskHow = values{0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}

var archPrctlCodes = values{0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS"}

var clockIDs = values{
	0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID", 3: "CLOCK_THREAD_CPUTIME_ID",
	4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE", 6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME",
}

var fcntlCmds = values{
	0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK", 6: "F_SETLK",
	7: "F_SETLKW", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW", 1030: "F_DUPFD_CLOEXEC",
	1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ",
}

var flockOps = bits{{1, "LOCK_SH"}, {2, "LOCK_EX"}, {4, "LOCK_NB"}, {8, "LOCK_UN"}}

var epollOps = values{1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"}

var atFlags = bits{
	{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"}, {0x400, "AT_SYMLINK_FOLLOW"},
	{0x800, "AT_NO_AUTOMOUNT"}, {0x1000, "AT_EMPTY_PATH"},
}

var socketFamilies = values{0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}

var socketTypes = values{1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}

var socketFlags = bits{{0o2000000, "SOCK_CLOEXEC"}, {0o4000, "SOCK_NONBLOCK"}}

var cloexecFlags = bits{{0o2000000, "O_CLOEXEC"}}

var cloneFlags = bits{
	{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
	{0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
	{0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"},
	{0x80000, "CLONE_SETTLS"}, {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"},
	{0x1000000, "CLONE_CHILD_SETTID"},
}

var prctlOptions = values{
	1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 15: "PR_SET_NAME", 16: "PR_GET_NAME",
	38: "PR_SET_NO_NEW_PRIVS", 0x53564d41: "PR_SET_VMA",
}

var rlimits = values{
	0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE",
	5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS",
}

var whence = values{0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}

var eventfdFlags = bits{{0o2000000, "EFD_CLOEXEC"}, {0o4000, "EFD_NONBLOCK"}, {1, "EFD_SEMAPHORE"}}

var epollFlags = bits{{0o2000000, "EPOLL_CLOEXEC"}}

var grndFlags = bits{{1, "GRND_NONBLOCK"}, {2, "GRND_RANDOM"}, {4, "GRND_INSECURE"}}

var shutdownHow = values{0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}

var sockoptLevels = values{0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"}

var msgFlags = bits{
	{1, "MSG_OOB"}, {2, "MSG_PEEK"}, {4, "MSG_DONTROUTE"}, {0x40, "MSG_DONTWAIT"},
	{0x100, "MSG_WAITALL"}, {0x4000, "MSG_NOSIGNAL"}, {0x40000000, "MSG_CMSG_CLOEXEC"},
}
