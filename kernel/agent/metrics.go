package agent

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/metrics"
	"syscall"
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/abi/mote"
)

// goMetrics are the runtime/metrics samples exported, with the name and help of each.
var goMetrics = []struct {
	sample, name, kind, help string
}{
	{"/memory/classes/total:bytes", "go_memory_total_bytes", "gauge", "Memory mapped by the Go runtime (runtime/metrics /memory/classes/total:bytes)."},
	{"/memory/classes/heap/objects:bytes", "go_heap_objects_bytes", "gauge", "Bytes of live and not yet swept heap objects."},
	{"/gc/heap/goal:bytes", "go_heap_goal_bytes", "gauge", "Heap size the next GC cycle aims for."},
	{"/gc/heap/allocs:bytes", "go_heap_allocs_bytes_total", "counter", "Bytes allocated on the heap since start."},
	{"/gc/heap/allocs:objects", "go_heap_allocs_objects_total", "counter", "Heap objects allocated since start."},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "counter", "Completed GC cycles."},
	{"/sched/goroutines:goroutines", "go_goroutines", "gauge", "Live goroutines."},
	{"/sched/gomaxprocs:threads", "go_gomaxprocs", "gauge", "GOMAXPROCS."},
}

// metricsText renders the kernel's counters and Go's runtime metrics in Prometheus' text
// exposition format (version 0.0.4).
func metricsText() ([]byte, error) {
	words := make([]uint64, mote.StatSyscalls+2*linux.NumSyscalls)
	n, _, e := syscall.RawSyscall(mote.SysStats, uintptr(unsafe.Pointer(&words[0])), uintptr(len(words)), 0)
	if e != 0 {
		return nil, fmt.Errorf("kernel statistics: %v", e)
	}
	words = words[:n]
	if len(words) < mote.StatSyscalls || words[mote.StatVersion] != mote.StatsVersion {
		return nil, errors.New("kernel statistics: unknown layout")
	}
	var b bytes.Buffer
	metric := func(name, kind, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	value := func(name string, v uint64) { fmt.Fprintf(&b, "%s %d\n", name, v) }
	seconds := func(ns uint64) string { return fmt.Sprintf("%.9f", float64(ns)/1e9) }

	up, idle := words[mote.StatUptimeNs], words[mote.StatIdleNs]
	metric("mote_uptime_seconds", "gauge", "Time since the kernel booted.")
	fmt.Fprintf(&b, "mote_uptime_seconds %s\n", seconds(up))
	metric("mote_cpu_seconds_total", "counter", "CPU time by mode: busy (app and kernel) or idle (halted, waiting for an interrupt).")
	fmt.Fprintf(&b, "mote_cpu_seconds_total{mode=\"busy\"} %s\n", seconds(up-min(idle, up)))
	fmt.Fprintf(&b, "mote_cpu_seconds_total{mode=\"idle\"} %s\n", seconds(idle))
	metric("mote_threads", "gauge", "Live threads (one per Go runtime M).")
	value("mote_threads", words[mote.StatThreads])
	metric("mote_threads_created_total", "counter", "Threads created since boot.")
	value("mote_threads_created_total", words[mote.StatThreadsCreated])
	metric("mote_page_faults_total", "counter", "User page faults handled, demand paging included.")
	value("mote_page_faults_total", words[mote.StatPageFaults])
	metric("mote_memory_total_bytes", "gauge", "RAM the kernel manages.")
	value("mote_memory_total_bytes", words[mote.StatMemTotal])
	metric("mote_memory_free_bytes", "gauge", "RAM not in use.")
	value("mote_memory_free_bytes", words[mote.StatMemFree])

	for _, m := range []struct {
		name, help string
		idx        int
	}{
		{"mote_network_receive_bytes_total", "Bytes received by the network device.", mote.StatRxBytes},
		{"mote_network_receive_packets_total", "Frames received by the network device.", mote.StatRxPackets},
		{"mote_network_receive_drops_total", "Received frames dropped (bad length from the device).", mote.StatRxDrops},
		{"mote_network_transmit_bytes_total", "Bytes sent by the network device.", mote.StatTxBytes},
		{"mote_network_transmit_packets_total", "Frames sent by the network device.", mote.StatTxPackets},
		{"mote_network_transmit_drops_total", "Frames the device could not send.", mote.StatTxDrops},
	} {
		metric(m.name, "counter", m.help)
		value(m.name, words[m.idx])
	}

	nsys := int(words[mote.StatNumSyscalls])
	if len(words) >= mote.StatSyscalls+2*nsys {
		counts := words[mote.StatSyscalls : mote.StatSyscalls+nsys]
		errs := words[mote.StatSyscalls+nsys : mote.StatSyscalls+2*nsys]
		metric("mote_syscalls_total", "counter", "System calls made, by name.")
		for nr, c := range counts {
			if c != 0 {
				fmt.Fprintf(&b, "mote_syscalls_total{name=%q} %d\n", syscallName(nr), c)
			}
		}
		metric("mote_syscall_errors_total", "counter", "System calls that returned an error, by name.")
		for nr, c := range errs {
			if c != 0 {
				fmt.Fprintf(&b, "mote_syscall_errors_total{name=%q} %d\n", syscallName(nr), c)
			}
		}
	}

	samples := make([]metrics.Sample, len(goMetrics))
	for i, m := range goMetrics {
		samples[i].Name = m.sample
	}
	metrics.Read(samples)
	for i, m := range goMetrics {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			continue // not in this Go release
		}
		metric(m.name, m.kind, m.help)
		value(m.name, samples[i].Value.Uint64())
	}
	return b.Bytes(), nil
}

func syscallName(nr int) string {
	if nr < len(linux.SyscallNames) && linux.SyscallNames[nr] != "" {
		return linux.SyscallNames[nr]
	}
	return fmt.Sprintf("syscall_%d", nr)
}
