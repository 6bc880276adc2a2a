// Command app is the workload of bench/volumes: sequential write and read throughput, and
// fsync'd 4 KiB writes per second, in a directory that is a volume.
//
//	app [-linux] [-mb 64] [-syncs 300] DIR
//
// Under mote, DIR is a volume already (mote run -v HOSTDIR:DIR). In the Linux guest (-linux)
// the app mounts it itself, as PID 2 of a guest whose init knows nothing of volumes: it loads
// the modules packed in /modules (virtio and 9p) and mounts the virtio-9p device tagged vol0
// on DIR with 9P2000.L and -msize (by default mote's, 1 MiB + 4 KiB; Linux 6.1 limits it to
// 512,000 bytes, the most its virtio transport carries).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	linux := flag.Bool("linux", false, "load the 9p modules and mount vol0 on DIR first (the Linux guest)")
	mb := flag.Int("mb", 64, "MiB written, then read, sequentially in 1 MiB calls")
	syncs := flag.Int("syncs", 300, "4 KiB writes, each followed by fdatasync")
	msize := flag.Int("msize", 1<<20+4096, "the msize the Linux guest asks for")
	flag.Parse()
	dir := flag.Arg(0)
	if *linux {
		if err := mount9p(dir, *msize); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	if err := run(dir, *mb, *syncs); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func run(dir string, mb, syncs int) error {
	buf := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	p := filepath.Join(dir, "seq.dat")
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < mb; i++ {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	w := time.Since(start)
	f.Close()

	f, err = os.Open(p)
	if err != nil {
		return err
	}
	start = time.Now()
	n, err := readAll(f, make([]byte, 1<<20))
	r := time.Since(start)
	f.Close()
	if err != nil || n != int64(mb)<<20 {
		return fmt.Errorf("read %d bytes: %v", n, err)
	}

	f, err = os.Create(filepath.Join(dir, "sync.dat"))
	if err != nil {
		return err
	}
	page := buf[:4096]
	start = time.Now()
	for i := 0; i < syncs; i++ {
		if _, err := f.Write(page); err != nil {
			return err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
	}
	s := time.Since(start)
	f.Close()
	// Small reads: the round trip of one request, with nothing to copy.
	f, err = os.Open(p)
	if err != nil {
		return err
	}
	one := make([]byte, 1)
	start = time.Now()
	for i := 0; i < 1000; i++ {
		if _, err := f.ReadAt(one, int64(i)*4096); err != nil {
			return err
		}
	}
	l := time.Since(start)
	f.Close()
	fmt.Printf("result seqwrite_MBps %.1f\n", float64(mb)/w.Seconds())
	fmt.Printf("result pread1_us %.0f\n", float64(l.Microseconds())/1000)
	fmt.Printf("result seqread_MBps %.1f\n", float64(mb)/r.Seconds())
	fmt.Printf("result fsync4k_per_s %.0f\n", float64(syncs)/s.Seconds())
	return nil
}

// readAll reads f to its end in calls of len(buf) bytes (io.Copy to io.Discard would read in
// io.Discard's own 8 KiB).
func readAll(f *os.File, buf []byte) (int64, error) {
	var n int64
	for {
		k, err := f.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// mount9p loads /modules/* in /modules/order's order and mounts vol0 on dir.
func mount9p(dir string, msize int) error {
	order, err := os.ReadFile("/modules/order")
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(order)) {
		f, err := os.Open("/modules/" + name + ".ko")
		if err != nil {
			return err
		}
		err = finitModule(int(f.Fd()))
		f.Close()
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("load module %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return syscall.Mount("vol0", dir, "9p", 0, fmt.Sprintf("trans=virtio,version=9p2000.L,msize=%d", msize))
}

func finitModule(fd int) error {
	empty := []byte{0}
	_, _, e := syscall.Syscall(sysFinitModule, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}

// sysFinitModule is finit_module(2) on amd64, which package syscall does not name.
const sysFinitModule = 313
