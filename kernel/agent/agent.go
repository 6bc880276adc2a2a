// Package agent answers the host's requests that need Go's runtime: metrics (the kernel's
// counters with the Go heap from runtime/metrics, in Prometheus' text format) and pprof
// profiles. mote build links it into every image, beside the kernel; the app imports
// nothing.
//
// It runs in the app's own runtime, like the socket service: it registers with the kernel
// (kernel/abi/mote) and sleeps on an eventfd in Go's netpoller, costing one parked goroutine
// until the host asks. Answers go back through the kernel, which frames them as records on
// the kernel channel (kernel/agent.go).
package agent

import (
	"bytes"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"mote.dev/mote/kernel/abi/mote"
)

func init() {
	fd, _, e := syscall.RawSyscall(mote.SysAgentOpen, 0, 0, 0)
	if e != 0 {
		return // not on mote's kernel (a test on the host), or an agent is there already
	}
	go serve(os.NewFile(fd, "mote-agent"))
}

// maxCPUProfile bounds a CPU profile's duration.
const maxCPUProfile = 5 * time.Minute

func serve(f *os.File) {
	var b [8]byte
	for {
		if _, err := f.Read(b[:]); err != nil && !isAgain(err) {
			println("mote: agent:", err.Error())
			return
		}
		for {
			var r mote.Request
			if _, _, e := syscall.RawSyscall(mote.SysAgentNext, uintptr(unsafe.Pointer(&r)), 0, 0); e != 0 {
				break
			}
			n := min(int(r.Len), len(r.Text))
			// Each in its own goroutine: a scrape must not wait out a CPU profile. The
			// host tells the answers apart by their ids.
			go answer(r.ID, string(r.Text[:n]))
		}
	}
}

func isAgain(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == syscall.EAGAIN
}

// answer does one request and sends its answer.
func answer(id uint32, req string) {
	out, err := do(req)
	if err != nil {
		end(id, err.Error())
		return
	}
	for len(out) > 0 {
		k := min(len(out), mote.MaxChunk)
		syscall.RawSyscall(mote.SysAgentData, uintptr(id), uintptr(unsafe.Pointer(&out[0])), uintptr(k))
		out = out[k:]
	}
	end(id, "")
}

func end(id uint32, msg string) {
	var p uintptr
	if msg != "" {
		p = uintptr(unsafe.Pointer(unsafe.StringData(msg)))
	}
	syscall.RawSyscall(mote.SysAgentEnd, uintptr(id), p, uintptr(len(msg)))
}

// do carries out a request:
//
//	metrics               Prometheus text exposition format
//	pprof heap|allocs|goroutine|threadcreate|block|mutex
//	pprof cpu SECONDS
func do(req string) ([]byte, error) {
	f := strings.Fields(req)
	switch {
	case len(f) == 1 && f[0] == "metrics":
		return metricsText()
	case len(f) == 3 && f[0] == "pprof" && f[1] == "cpu":
		secs, err := strconv.Atoi(f[2])
		d := time.Duration(secs) * time.Second
		if err != nil || d <= 0 || d > maxCPUProfile {
			return nil, fmt.Errorf("pprof cpu: bad duration %q (1 to %d seconds)", f[2], int(maxCPUProfile.Seconds()))
		}
		return cpuProfile(d)
	case len(f) == 2 && f[0] == "pprof":
		p := pprof.Lookup(f[1])
		if p == nil {
			return nil, fmt.Errorf("pprof: no profile %q", f[1])
		}
		var b bytes.Buffer
		if err := p.WriteTo(&b, 0); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown request %q", req)
}

func cpuProfile(d time.Duration) ([]byte, error) {
	var b bytes.Buffer
	if err := pprof.StartCPUProfile(&b); err != nil {
		return nil, err // e.g. the app profiles itself already
	}
	time.Sleep(d)
	pprof.StopCPUProfile()
	return b.Bytes(), nil
}
