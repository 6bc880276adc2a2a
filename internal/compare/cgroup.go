package compare

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// memoryCgroup is a memory cgroup of our own that limits a process started into it: the host
// process's counterpart of the container's linux.resources.memory.limit.
type memoryCgroup struct {
	dir string
}

// cgroupRoot returns where memory cgroups are made: the v1 memory hierarchy, or the v2
// unified one when that is all there is.
func cgroupRoot() (dir string, v2 bool, err error) {
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		return "/sys/fs/cgroup/memory", false, nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "/sys/fs/cgroup", true, nil
	}
	return "", false, errors.New("no cgroup memory controller under /sys/fs/cgroup")
}

// canLimitMemory says why memory cgroups cannot be made here, or nil.
func canLimitMemory() error {
	if os.Geteuid() != 0 {
		return errors.New("limiting a process's memory needs root (a cgroup of its own)")
	}
	_, _, err := cgroupRoot()
	return err
}

func newMemoryCgroup(name string, mib int) (*memoryCgroup, error) {
	root, v2, err := cgroupRoot()
	if err != nil {
		return nil, err
	}
	g := &memoryCgroup{dir: filepath.Join(root, name)}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, err
	}
	limit := strconv.FormatInt(int64(mib)<<20, 10)
	files := map[string]string{"memory.limit_in_bytes": limit}
	if v2 {
		files = map[string]string{"memory.max": limit, "memory.swap.max": "0"}
	}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(g.dir, f), []byte(v), 0); err != nil && !(v2 && f == "memory.swap.max") {
			g.remove()
			return nil, fmt.Errorf("cgroup %s: %w", f, err)
		}
	}
	return g, nil
}

// procs is the file a process joins the cgroup by writing its pid to.
func (g *memoryCgroup) procs() string { return filepath.Join(g.dir, "cgroup.procs") }

// remove deletes the cgroup once its processes have ended.
func (g *memoryCgroup) remove() { os.Remove(g.dir) }
