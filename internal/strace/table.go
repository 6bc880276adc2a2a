package strace

import "mote.dev/mote/kernel/abi/linux"

// signatures says how to show each system call's arguments, after strace; a call not listed
// shows six hex words. Memory arguments (str, timespec, timeval, sockaddr) must agree with the kernel's traceMemTable
// (kernel/trace.go), which decides what memory it copies.
var signatures = map[int]signature{
	// Files and the console.
	linux.SYS_READ:     {args: []arg{fd, str, udec}},
	linux.SYS_WRITE:    {args: []arg{fd, str, udec}},
	linux.SYS_PREAD64:  {args: []arg{fd, str, udec, dec}},
	linux.SYS_PWRITE64: {args: []arg{fd, str, udec, dec}},
	linux.SYS_READV:    {args: []arg{fd, ptr, udec}},
	linux.SYS_WRITEV:   {args: []arg{fd, ptr, udec}},
	linux.SYS_CLOSE:    {args: []arg{fd}},
	linux.SYS_FCNTL:    {args: []arg{fd, valueArg(fcntlCmds), fcntlArg}},
	linux.SYS_IOCTL:    {args: []arg{fd, hex, hex}},
	linux.SYS_DUP:      {args: []arg{fd}},
	linux.SYS_DUP2:     {args: []arg{fd, fd}},
	linux.SYS_DUP3:     {args: []arg{fd, fd, flagsArg(cloexecFlags)}},
	linux.SYS_LSEEK:    {args: []arg{fd, dec, valueArg(whence)}},
	linux.SYS_FLOCK:    {args: []arg{fd, flagsArg(flockOps)}},

	// The file system.
	linux.SYS_OPEN:       {args: []arg{str, openFlagsArg, openMode}},
	linux.SYS_OPENAT:     {args: []arg{dirFD, str, openFlagsArg, openMode}},
	linux.SYS_CREAT:      {args: []arg{str, octal}},
	linux.SYS_STAT:       {args: []arg{str, ptr}},
	linux.SYS_LSTAT:      {args: []arg{str, ptr}},
	linux.SYS_FSTAT:      {args: []arg{fd, ptr}},
	linux.SYS_NEWFSTATAT: {args: []arg{dirFD, str, ptr, flagsArg(atFlags)}},
	linux.SYS_STATFS:     {args: []arg{str, ptr}},
	linux.SYS_FSTATFS:    {args: []arg{fd, ptr}},
	linux.SYS_GETDENTS64: {args: []arg{fd, ptr, udec}},
	linux.SYS_ACCESS:     {args: []arg{str, octal}},
	linux.SYS_FACCESSAT:  {args: []arg{dirFD, str, octal}},
	linux.SYS_FACCESSAT2: {args: []arg{dirFD, str, octal, flagsArg(atFlags)}},
	linux.SYS_MKDIR:      {args: []arg{str, octal}},
	linux.SYS_MKDIRAT:    {args: []arg{dirFD, str, octal}},
	linux.SYS_MKNOD:      {args: []arg{str, octal, hex}},
	linux.SYS_MKNODAT:    {args: []arg{dirFD, str, octal, hex}},
	linux.SYS_UNLINK:     {args: []arg{str}},
	linux.SYS_UNLINKAT:   {args: []arg{dirFD, str, flagsArg(atFlags)}},
	linux.SYS_RMDIR:      {args: []arg{str}},
	linux.SYS_RENAME:     {args: []arg{str, str}},
	linux.SYS_RENAMEAT:   {args: []arg{dirFD, str, dirFD, str}},
	linux.SYS_RENAMEAT2:  {args: []arg{dirFD, str, dirFD, str, hex}},
	linux.SYS_LINK:       {args: []arg{str, str}},
	linux.SYS_LINKAT:     {args: []arg{dirFD, str, dirFD, str, flagsArg(atFlags)}},
	linux.SYS_SYMLINK:    {args: []arg{str, str}},
	linux.SYS_SYMLINKAT:  {args: []arg{str, dirFD, str}},
	linux.SYS_READLINK:   {args: []arg{str, str, udec}},
	linux.SYS_READLINKAT: {args: []arg{dirFD, str, str, udec}},
	linux.SYS_TRUNCATE:   {args: []arg{str, dec}},
	linux.SYS_FTRUNCATE:  {args: []arg{fd, dec}},
	linux.SYS_FSYNC:      {args: []arg{fd}},
	linux.SYS_FDATASYNC:  {args: []arg{fd}},
	linux.SYS_CHMOD:      {args: []arg{str, octal}},
	linux.SYS_FCHMOD:     {args: []arg{fd, octal}},
	linux.SYS_FCHMODAT:   {args: []arg{dirFD, str, octal}},
	linux.SYS_FCHOWNAT:   {args: []arg{dirFD, str, dec32, dec32, flagsArg(atFlags)}},
	linux.SYS_UTIMENSAT:  {args: []arg{dirFD, str, ptr, flagsArg(atFlags)}},
	linux.SYS_CHDIR:      {args: []arg{str}},
	linux.SYS_FCHDIR:     {args: []arg{fd}},
	linux.SYS_GETCWD:     {args: []arg{str, udec}},
	linux.SYS_UMASK:      {args: []arg{octal}},
	linux.SYS_EXECVE:     {args: []arg{str, ptr, ptr}},

	// Event notification and pipes.
	linux.SYS_EVENTFD2:      {args: []arg{udec, flagsArg(eventfdFlags)}},
	linux.SYS_EPOLL_CREATE1: {args: []arg{flagsArg(epollFlags)}},
	linux.SYS_EPOLL_CTL:     {args: []arg{fd, valueArg(epollOps), fd, ptr}},
	linux.SYS_EPOLL_WAIT:    {args: []arg{fd, ptr, dec32, dec32}},
	linux.SYS_EPOLL_PWAIT:   {args: []arg{fd, ptr, dec32, dec32, ptr, udec}},
	linux.SYS_PIPE2:         {args: []arg{ptr, flagsArg(openFlags)}},

	// Memory.
	linux.SYS_MMAP:     {args: []arg{ptr, udec, protArg, mmapFlagsArg, fd, hex}, ret: resHex},
	linux.SYS_MUNMAP:   {args: []arg{ptr, udec}},
	linux.SYS_MPROTECT: {args: []arg{ptr, udec, protArg}},
	linux.SYS_MADVISE:  {args: []arg{ptr, udec, valueArg(madvice)}},
	linux.SYS_BRK:      {args: []arg{ptr}, ret: resHex},

	// Threads and the process.
	linux.SYS_CLONE:             {args: []arg{flagsArg(cloneFlags), ptr, ptr, ptr, ptr}},
	linux.SYS_EXIT:              {args: []arg{dec32}},
	linux.SYS_EXIT_GROUP:        {args: []arg{dec32}},
	linux.SYS_GETPID:            {},
	linux.SYS_GETPPID:           {},
	linux.SYS_GETTID:            {},
	linux.SYS_GETUID:            {},
	linux.SYS_GETEUID:           {},
	linux.SYS_GETGID:            {},
	linux.SYS_GETEGID:           {},
	linux.SYS_ARCH_PRCTL:        {args: []arg{valueArg(archPrctlCodes), hex}},
	linux.SYS_SET_TID_ADDRESS:   {args: []arg{ptr}},
	linux.SYS_SCHED_YIELD:       {},
	linux.SYS_SCHED_GETAFFINITY: {args: []arg{dec32, udec, ptr}},
	linux.SYS_PRLIMIT64:         {args: []arg{dec32, valueArg(rlimits), ptr, ptr}},
	linux.SYS_GETRLIMIT:         {args: []arg{valueArg(rlimits), ptr}},
	linux.SYS_PRCTL:             {args: []arg{valueOrDec(prctlOptions), hex, hex, hex, hex}},
	linux.SYS_UNAME:             {args: []arg{ptr}},
	linux.SYS_GETRANDOM:         {args: []arg{ptr, udec, flagsArg(grndFlags)}},

	// Sockets.
	linux.SYS_SOCKET:      {args: []arg{valueArg(socketFamilies), socketTypeArg, protocol}},
	linux.SYS_BIND:        {args: []arg{fd, sockaddr, udec}},
	linux.SYS_LISTEN:      {args: []arg{fd, dec32}},
	linux.SYS_ACCEPT:      {args: []arg{fd, ptr, ptr}},
	linux.SYS_ACCEPT4:     {args: []arg{fd, ptr, ptr, flagsArg(socketFlags)}},
	linux.SYS_CONNECT:     {args: []arg{fd, sockaddr, udec}},
	linux.SYS_SHUTDOWN:    {args: []arg{fd, valueArg(shutdownHow)}},
	linux.SYS_GETSOCKNAME: {args: []arg{fd, ptr, ptr}},
	linux.SYS_GETPEERNAME: {args: []arg{fd, ptr, ptr}},
	linux.SYS_SETSOCKOPT:  {args: []arg{fd, valueOrDec(sockoptLevels), dec32, ptr, udec}},
	linux.SYS_GETSOCKOPT:  {args: []arg{fd, valueOrDec(sockoptLevels), dec32, ptr, ptr}},
	linux.SYS_SENDTO:      {args: []arg{fd, str, udec, flagsArg(msgFlags), ptr, udec}},
	linux.SYS_RECVFROM:    {args: []arg{fd, str, udec, flagsArg(msgFlags), ptr, ptr}},
	linux.SYS_SENDMSG:     {args: []arg{fd, ptr, flagsArg(msgFlags)}},
	linux.SYS_RECVMSG:     {args: []arg{fd, ptr, flagsArg(msgFlags)}},

	// Signals.
	linux.SYS_RT_SIGACTION:   {args: []arg{sigArg, ptr, ptr, udec}},
	linux.SYS_RT_SIGPROCMASK: {args: []arg{valueArg(sigprocmaskHow), ptr, ptr, udec}},
	linux.SYS_RT_SIGRETURN:   {},
	linux.SYS_SIGALTSTACK:    {args: []arg{ptr, ptr}},
	linux.SYS_TGKILL:         {args: []arg{dec32, dec32, sigArg}},
	linux.SYS_TKILL:          {args: []arg{dec32, sigArg}},
	linux.SYS_KILL:           {args: []arg{dec32, sigArg}},

	// Time and waiting.
	linux.SYS_FUTEX:           {args: []arg{ptr, func(c *Call, i int) string { return futexOp(c.Args[i]) }, futexVal, futexRest, futexRest, futexRest}},
	linux.SYS_NANOSLEEP:       {args: []arg{timespec, ptr}},
	linux.SYS_CLOCK_NANOSLEEP: {args: []arg{valueArg(clockIDs), hex, timespec, ptr}},
	linux.SYS_CLOCK_GETTIME:   {args: []arg{valueArg(clockIDs), timespec}},
	linux.SYS_CLOCK_GETRES:    {args: []arg{valueArg(clockIDs), timespec}},
	linux.SYS_GETTIMEOFDAY:    {args: []arg{timeval, ptr}},
	linux.SYS_TIME:            {args: []arg{ptr}},
}

// fcntlArg shows fcntl's third argument only for the commands that take one.
var fcntlArg arg = func(c *Call, i int) string {
	switch c.Args[1] {
	case 1, 3: // F_GETFD, F_GETFL
		return ""
	case 2: // F_SETFD
		if c.Args[i] == 1 {
			return "FD_CLOEXEC"
		}
	case 4: // F_SETFL
		return openFlags.format(c.Args[i], "0")
	}
	return dec(c, i)
}

var protArg arg = func(c *Call, i int) string { return protBits.format(c.Args[i], "PROT_NONE") }
