package compare

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
)

// Process runs the app's static binary as a host process. It listens on the app's own port:
// nothing stands between it and the load generator.
type Process struct {
	Binary string   // static linux/amd64 binary
	Args   []string // after argv[0]
	Port   int      // the app's port; 0 for none

	seq atomic.Int32
}

func (p *Process) Name() string { return "process" }

func (p *Process) Prepare(ctx context.Context) (Artifact, error) {
	fi, err := os.Stat(p.Binary)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Bytes: fi.Size(), Note: "static binary"}, nil
}

func (p *Process) Start(ctx context.Context, s StartOptions) (*Instance, error) {
	addr := ""
	if p.Port != 0 {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p.Port))
		if err != nil {
			return nil, fmt.Errorf("port %d is taken on this host, and a process listens on the app's own port: free it, or give the app another port (-p, and the app's own flag after --)", p.Port)
		}
		l.Close()
	}
	inst := newInstance(addr)
	cmd := exec.Command(p.Binary, p.Args...)
	if s.MemoryMiB > 0 {
		g, err := newMemoryCgroup(fmt.Sprintf("mote-compare-%d-%d", os.Getpid(), p.seq.Add(1)), s.MemoryMiB)
		if err != nil {
			return nil, err
		}
		inst.cleanup = append(inst.cleanup, g.remove)
		// The shell joins the cgroup, then becomes the app: limited from its first page.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ >"$0" && exec "$@"`, g.procs(), p.Binary}, p.Args...)...)
	}
	if err := inst.startCommand(cmd, true); err != nil {
		for _, f := range inst.cleanup {
			f()
		}
		return nil, err
	}
	return inst, nil
}

// MemoryRange: a cgroup memory limit, as the container's.
func (p *Process) MemoryRange() (int, int, string, error) {
	if err := canLimitMemory(); err != nil {
		return 0, 0, "", err
	}
	return 1, 256, "cgroup memory limit", nil
}

func (p *Process) Close() error { return nil }
