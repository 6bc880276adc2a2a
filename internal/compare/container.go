package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container runs the app under runc from an OCI bundle that holds only the static binary, in
// a network namespace of its own joined to the host by a veth pair.
//
// The app's port is published on 127.0.0.1 the way Docker's userland proxy does it: a TCP
// proxy in this process relays each connection to the container's address. That keeps the
// host's firewall untouched, and it is the same shape as the VMs' port forward, which QEMU's
// user network also relays in a host process.
type Container struct {
	Binary string
	Args   []string
	Port   int
	Runc   string // the runtime; default "runc"

	dir string // the bundle
	seq atomic.Int32
}

func (c *Container) Name() string { return "container" }

// runcFix is how to get the runtime: crun 1.8 from Debian refuses hybrid cgroup layouts, so
// runc is the one named.
const runcFix = "apt-get install runc"

func (c *Container) Prepare(ctx context.Context) (Artifact, error) {
	if c.Runc == "" {
		c.Runc = "runc"
	}
	if _, err := exec.LookPath(c.Runc); err != nil {
		return Artifact{}, &SkipError{Reason: c.Runc + " not found", Fix: runcFix}
	}
	if os.Geteuid() != 0 {
		return Artifact{}, &SkipError{Reason: "runc needs root to create the container and its network namespace", Fix: "run mote compare as root, e.g. sudo mote compare ..."}
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return Artifact{}, &SkipError{Reason: "ip not found (the container's network is set up with it)", Fix: "apt-get install iproute2"}
	}
	var err error
	if c.dir, err = os.MkdirTemp("", "mote-compare-bundle-"); err != nil {
		return Artifact{}, err
	}
	rootfs := filepath.Join(c.dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return Artifact{}, err
	}
	if err := copyFile(c.Binary, filepath.Join(rootfs, "app"), 0o755); err != nil {
		return Artifact{}, err
	}
	// The artifact is the bundle as Prepare leaves it; Start rewrites config.json with the
	// instance's namespace and limit, which changes its size by a few bytes.
	if err := c.writeConfig("/var/run/netns/placeholder", 0); err != nil {
		return Artifact{}, err
	}
	n, err := dirSize(c.dir)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Bytes: n, Note: "OCI bundle: the static binary and config.json"}, nil
}

// MemoryRange: the cgroup memory limit, bisected from 1 MiB.
func (c *Container) MemoryRange() (int, int, string, error) {
	return 1, 256, "cgroup memory limit (linux.resources.memory.limit)", nil
}

func (c *Container) writeConfig(netns string, memMiB int) error {
	caps := []string{"CAP_NET_BIND_SERVICE"} // ports below 1024
	spec := specs.Spec{
		// The version runc 1.1 (Debian 12) speaks; every field used here is in it.
		Version: "1.0.2",
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args:            append([]string{"/app"}, c.Args...),
			Env:             []string{"PATH=/", "HOME=/"},
			Cwd:             "/",
			NoNewPrivileges: true,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		},
		Hostname: "app",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: netns},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"},
		},
	}
	if memMiB > 0 {
		limit := int64(memMiB) << 20
		spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	}
	data, err := json.MarshalIndent(&spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "config.json"), data, 0o644)
}

func (c *Container) Start(ctx context.Context, s StartOptions) (*Instance, error) {
	n := int(c.seq.Add(1))
	id := fmt.Sprintf("mote-compare-%d-%d", os.Getpid(), n)
	// Interface names are at most 15 bytes; the pid and the count keep concurrent runs apart.
	tag := fmt.Sprintf("%d%c", os.Getpid()%100000, 'a'+rune(n%26))
	netns, hostIf, ctrIf := "mc"+tag, "mch"+tag, "mcc"+tag
	// A /30 in 10.254/16 per instance: .1 the host, .2 the container.
	block := (os.Getpid()*7 + n) % 16384
	hostIP := fmt.Sprintf("10.254.%d.%d", block/64, block%64*4+1)
	ctrIP := fmt.Sprintf("10.254.%d.%d", block/64, block%64*4+2)

	inst := newInstance("")
	undo := inst.undo
	steps := [][]string{
		{"netns", "add", netns},
		{"link", "add", hostIf, "type", "veth", "peer", "name", ctrIf},
		{"link", "set", ctrIf, "netns", netns},
		{"addr", "add", hostIP + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"-n", netns, "addr", "add", ctrIP + "/30", "dev", ctrIf},
		{"-n", netns, "link", "set", ctrIf, "up"},
		{"-n", netns, "link", "set", "lo", "up"},
	}
	for k, args := range steps {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			undo()
			return nil, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		if k == 0 {
			// Deleting the namespace deletes the veth pair with it.
			inst.cleanup = append(inst.cleanup, func() { exec.Command("ip", "netns", "del", netns).Run() })
		}
	}
	if err := c.writeConfig("/var/run/netns/"+netns, s.MemoryMiB); err != nil {
		undo()
		return nil, err
	}
	if c.Port != 0 {
		p, err := newProxy(s.HostPort, net.JoinHostPort(ctrIP, strconv.Itoa(c.Port)))
		if err != nil {
			undo()
			return nil, err
		}
		inst.Addr = p.addr()
		inst.cleanup = append(inst.cleanup, p.close)
	}
	pidFile := filepath.Join(c.dir, id+".pid")
	cmd := exec.Command(c.Runc, "run", "--bundle", c.dir, "--pid-file", pidFile, id)
	if err := inst.startCommand(cmd, false); err != nil {
		undo()
		return nil, err
	}
	// runc stays in the foreground as the container's parent; the memory is the app's, in
	// the container's cgroup, as docker stats counts it.
	go func() {
		for {
			if b, err := os.ReadFile(pidFile); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					inst.pid.Store(int64(pid))
					return
				}
			}
			select {
			case <-inst.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	inst.stop = func() {
		exec.Command(c.Runc, "kill", id, "TERM").Run()
		select {
		case <-inst.done:
		case <-time.After(stopGrace):
			exec.Command(c.Runc, "kill", id, "KILL").Run()
			select {
			case <-inst.done:
			case <-time.After(stopGrace):
				terminate(cmd.Process.Pid, inst.done)
			}
		}
	}
	inst.cleanup = append(inst.cleanup, func() {
		exec.Command(c.Runc, "delete", "--force", id).Run()
		os.Remove(pidFile)
	})
	return inst, nil
}

func (c *Container) Close() error {
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}

// proxy relays TCP connections from a host port to a backend.
type proxy struct {
	ln      net.Listener
	backend string
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

func newProxy(port int, backend string) (*proxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("publishing the container's port: %w", err)
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.relay(in) })
	}
}

func (p *proxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // closed
	}
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *proxy) relay(in net.Conn) {
	defer in.Close()
	out, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		return // the client sees its connection closed, as before the app listens
	}
	defer out.Close()
	if !p.track(in, true) || !p.track(out, true) {
		return
	}
	defer p.track(in, false)
	defer p.track(out, false)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
