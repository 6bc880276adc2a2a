package strace

import (
	"bytes"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct{ record, want string }{
		{"1 257 3 12000 ffffffffffffff9c 3ba8e0 80000 0 0 0 1=/etc/hosts",
			`[tid 1] openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <0.000012>`},
		{"1 257 -2 900 ffffffffffffff9c 3ba8e0 0 0 0 0 1=/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
			`[tid 1] openat(AT_FDCWD, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000001>`},
		{"2 257 4 1000 5 c000010000 80241 1a4 0 0 1=f%20x",
			`[tid 2] openat(5, "f x", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 4 <0.000001>`},
		{"1 1 14 5000 1 c000012345 e 0 0 0 1=hello,%20world!%0a",
			`[tid 1] write(1, "hello, world!\n", 14) = 14 <0.000005>`},
		{"3 0 -11 0 3 c000123000 200 0 0 0",
			`[tid 3] read(3, 0xc000123000, 512) = -1 EAGAIN (Resource temporarily unavailable) <0.000000>`},
		{"1 1 40 0 2 c000 28 0 0 0 1~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%01%22",
			`[tid 1] write(2, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\1\""..., 40) = 40 <0.000000>`},
		{"1 1 -14 0 1 10 4 0 0 0",
			`[tid 1] write(1, 0x10, 4) = -1 EFAULT (Bad address) <0.000000>`},
		{"1 231 ? 0 0 0 0 0 0 0", `[tid 1] exit_group(0) = ?`},
		{"1 9 140733193125888 1000 0 40000 3 22 ffffffffffffffff 0",
			`[tid 1] mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffefffc0000 <0.000001>`},
		{"1 9 6495131402240 0 5e844000000 4000000 0 22 ffffffffffffffff 0",
			`[tid 1] mmap(0x5e844000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x5e844000000 <0.000000>`},
		{"1 202 0 0 4f8c28 80 0 0 0 0", `[tid 1] futex(0x4f8c28, FUTEX_WAIT_PRIVATE, 0, NULL) = 0 <0.000000>`},
		{"4 202 1 0 4f8c28 81 1 0 0 0", `[tid 4] futex(0x4f8c28, FUTEX_WAKE_PRIVATE, 1) = 1 <0.000000>`},
		{"1 35 0 3000 c000 0 0 0 0 0 0=%00%00%00%00%00%00%00%00%b8%0b%00%00%00%00%00%00",
			`[tid 1] nanosleep({tv_sec=0, tv_nsec=3000}, NULL) = 0 <0.000003>`},
		{"1 228 0 0 1 c000 0 0 0 0 1=%02%00%00%00%00%00%00%00%01%00%00%00%00%00%00%00",
			`[tid 1] clock_gettime(CLOCK_MONOTONIC, {tv_sec=2, tv_nsec=1}) = 0 <0.000000>`},
		{"1 228 -14 0 1 10 0 0 0 0", `[tid 1] clock_gettime(CLOCK_MONOTONIC, 0x10) = -1 EFAULT (Bad address) <0.000000>`},
		{"1 42 -115 0 6 c000 10 0 0 0 1=%02%00%85%8f%7f%00%00%01%00%00%00%00%00%00%00%00",
			`[tid 1] connect(6, {sa_family=AF_INET, sin_port=htons(34191), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress) <0.000000>`},
		{"1 49 0 0 5 c000 1c 0 0 0 1=%0a%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%01%00%00%00%00",
			`[tid 1] bind(5, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0 <0.000000>`},
		{"1 42 0 0 3 c000 e 0 0 0 1=%01%00/tmp/sock%00%00%00", `[tid 1] connect(3, {sa_family=AF_UNIX, sun_path="/tmp/sock"}, 14) = 0 <0.000000>`},
		{"1 49 0 0 3 c000 6e 0 0 0 1~%01%00/a/very/long/path/to/a/socket/fil", `[tid 1] bind(3, {sa_family=AF_UNIX, sun_path="/a/very/long/path/to/a/socket/fil"...}, 110) = 0 <0.000000>`},
		{"1 49 0 0 3 c000 2 0 0 0 1=%10%00", `[tid 1] bind(3, {sa_family=AF_NETLINK, ...}, 2) = 0 <0.000000>`},
		{"1 49 0 0 3 c000 2 0 0 0 1=%02", `[tid 1] bind(3, 0xc000, 2) = 0 <0.000000>`},
		{"1 72 0 0 0 1 0 0 0 0", `[tid 1] fcntl(0, F_GETFD) = 0 <0.000000>`},
		{"1 73 -11 0 3 6 0 0 0 0", `[tid 1] flock(3, LOCK_EX|LOCK_NB) = -1 EAGAIN (Resource temporarily unavailable) <0.000000>`},
		{"1 13 0 0 1 0 c000 8 0 0", `[tid 1] rt_sigaction(SIGHUP, NULL, 0xc000, 8) = 0 <0.000000>`},
		{"1 158 0 0 1002 3cfe88 0 0 0 0", `[tid 1] arch_prctl(ARCH_SET_FS, 0x3cfe88) = 0 <0.000000>`},
		{"1 39 1 0 0 0 0 0 0 0", `[tid 1] getpid() = 1 <0.000000>`},
		{"1 41 5 0 2 80801 0 0 0 0", `[tid 1] socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 5 <0.000000>`},
		{"1 41 5 0 a 80801 6 0 0 0", `[tid 1] socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 5 <0.000000>`},
		{"3 19713 -11 0 c000 0 0 0 0 0", `[tid 3] mote_next_request(0xc000, 0, 0, 0, 0, 0) = -1 EAGAIN (Resource temporarily unavailable) <0.000000>`},
		{"1 400 -38 0 1 2 3 4 5 6", `[tid 1] syscall_400(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented) <0.000000>`},
		{"1 28 0 0 7f0000 1000 f 0 0 0", `[tid 1] madvise(0x7f0000, 4096, MADV_NOHUGEPAGE) = 0 <0.000000>`},
	} {
		call, err := ParseCall(c.record)
		if err != nil {
			t.Errorf("ParseCall(%q): %v", c.record, err)
			continue
		}
		if got := Format(call); got != c.want {
			t.Errorf("Format(%q)\n got %s\nwant %s", c.record, got, c.want)
		}
	}
}

func TestParseCallErrors(t *testing.T) {
	for _, bad := range []string{
		"",
		"1 2 3",
		"x 1 0 0 0 0 0 0 0 0",
		"1 -1 0 0 0 0 0 0 0 0",
		"1 1 0 0 zz 0 0 0 0 0",
		"1 1 0 0 0 0 0 0 0 0 9=x",
		"1 1 0 0 0 0 0 0 0 0 1=%4",
		"1 1 0 0 0 0 0 0 0 0 1=%zz",
		"1 1 0 0 0 0 0 0 0 0 1",
	} {
		if _, err := ParseCall(bad); err == nil {
			t.Errorf("ParseCall(%q) = nil error", bad)
		}
	}
}

func FuzzParseCall(f *testing.F) {
	f.Add("1 257 3 12000 ffffffffffffff9c 3ba8e0 80000 0 0 0 1=/etc/hosts")
	f.Add("1 1 40 0 2 c000 28 0 0 0 1~aaa%01%22")
	f.Add("1 231 ? 0 0 0 0 0 0 0")
	f.Add("1 42 0 0 6 c000 10 0 0 0 1=%02%00%85%8f%7f%00%00%01")
	f.Add("1 35 0 0 c000 0 0 0 0 0 0=%00%00%00%00%00%00%00%00%b8%0b%00%00%00%00%00%00")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCall(s)
		if err != nil {
			return
		}
		if out := Format(c); !strings.HasPrefix(out, "[tid ") {
			t.Errorf("Format = %q", out)
		}
	})
}

func TestQuote(t *testing.T) {
	for _, c := range []struct {
		in       string
		complete bool
		want     string
	}{
		{"\x01\x00\x00\x00", true, `"\1\0\0\0"`},
		{"\x001", true, `"\0001"`},
		{"a\"b\\c\td", true, `"a\"b\\c\td"`},
		{"HTTP/1.1 200 OK\r\n", false, `"HTTP/1.1 200 OK\r\n"...`},
		{"\xff", true, `"\377"`},
	} {
		if got := quote([]byte(c.in), c.complete); got != c.want {
			t.Errorf("quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestErrnoName(t *testing.T) {
	for e, want := range map[int]string{2: "ENOENT", 11: "EAGAIN", 38: "ENOSYS", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 0: "errno 0", 9999: "errno 9999"} {
		if got := ErrnoName(e); got != want {
			t.Errorf("ErrnoName(%d) = %q, want %q", e, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	var counts []Count
	for _, rec := range []string{"39 1000 0 2000000", "257 3 2 3000000", "1 2 0 1000000", "231 1 0 0"} {
		c, err := ParseCount(rec)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, c)
	}
	var b bytes.Buffer
	if err := WriteSummary(&b, counts); err != nil {
		t.Fatal(err)
	}
	want := `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 50.00    0.003000        1000         3         2 openat
 33.33    0.002000           2      1000           getpid
 16.67    0.001000         500         2           write
  0.00    0.000000           0         1           exit_group
------ ----------- ----------- --------- --------- ----------------
100.00    0.006000                  1006         2 total
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, bad := range []string{"", "1 2 3", "1 2 3 x", "1 -2 3 4"} {
		if _, err := ParseCount(bad); err == nil {
			t.Errorf("ParseCount(%q) = nil error", bad)
		}
	}
}
