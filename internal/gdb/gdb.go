// Package gdb prepares a gdb session against a guest held by QEMU's gdb stub: the command line
// that loads the image's symbols and Go's runtime support (runtime-gdb.py, for info goroutines),
// maps the image's trimmed source paths back to directories on the host, and connects.
package gdb

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Binary is the debugger mote launches.
const Binary = "gdb"

// Find returns the path of gdb, or an error that says how to install it.
func Find() (string, error) {
	p, err := exec.LookPath(Binary)
	if err != nil {
		return "", errors.New("gdb not found: install it (on Debian or Ubuntu: apt-get install gdb), or use --gdb-port and connect a debugger of your own")
	}
	return p, nil
}

// Session is what gdb needs to debug one guest.
type Session struct {
	Image  string // the image: an ELF with the symbols and DWARF of the app and kernel
	Remote string // where the stub listens: HOST:PORT, or the path of a unix socket
	// GOROOT is the Go tree the image was built with; its runtime-gdb.py teaches gdb Go's
	// goroutines, and its src directory holds the standard library's sources. Empty: neither.
	GOROOT string
	// Sources maps path prefixes as the image records them (images are built with -trimpath,
	// so files are named module/path/file.go) to directories on the host.
	Sources map[string]string
	// ModCache is the module cache, where files named module@version/... are found.
	ModCache string
	// Commands run after connecting, in order (gdb -ex).
	Commands []string
	// Batch runs gdb with -batch: it exits after the commands.
	Batch bool
}

// Setup returns the gdb commands that prepare the session, without the user's.
func (s *Session) Setup() []string {
	var cmds []string
	if s.GOROOT != "" {
		cmds = append(cmds, "source "+filepath.Join(s.GOROOT, "src", "runtime", "runtime-gdb.py"))
	}
	// Longest prefix first: gdb applies the first rule that matches.
	prefixes := make([]string, 0, len(s.Sources))
	for p := range s.Sources {
		prefixes = append(prefixes, p)
	}
	sort.Slice(prefixes, func(i, j int) bool {
		if len(prefixes[i]) != len(prefixes[j]) {
			return len(prefixes[i]) > len(prefixes[j])
		}
		return prefixes[i] < prefixes[j]
	})
	for _, p := range prefixes {
		cmds = append(cmds, "set substitute-path "+quote(p)+" "+quote(s.Sources[p]))
	}
	// Standard library files are recorded relative to GOROOT/src, module files relative to
	// the module cache: both are found by searching those directories.
	if s.GOROOT != "" {
		cmds = append(cmds, "directory "+quote(filepath.Join(s.GOROOT, "src")))
	}
	if s.ModCache != "" {
		cmds = append(cmds, "directory "+quote(s.ModCache))
	}
	return append(cmds, "target remote "+s.Remote)
}

// Args returns gdb's arguments (without the binary).
func (s *Session) Args() []string {
	// The image's .debug_gdb_scripts names runtime-gdb.py by a relative path gdb cannot
	// resolve; it is sourced explicitly instead, without the warning auto-loading prints.
	args := []string{"-q", "-iex", "set auto-load python-scripts off"}
	if s.Batch {
		args = append(args, "-batch")
	}
	for _, c := range append(s.Setup(), s.Commands...) {
		args = append(args, "-ex", c)
	}
	return append(args, s.Image)
}

// quote quotes an argument of a gdb command when it has spaces.
func quote(s string) string {
	if !strings.ContainsAny(s, " \t\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// GoEnv returns GOROOT and GOMODCACHE of the go command on PATH; empty strings when there is
// none (an image can be debugged without Go installed, only without Go's runtime support).
func GoEnv(ctx context.Context) (goroot, modcache string) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT", "GOMODCACHE").Output()
	if err != nil {
		return "", ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", ""
	}
	goroot, modcache = strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
	if _, err := os.Stat(filepath.Join(goroot, "src", "runtime", "runtime-gdb.py")); err != nil {
		goroot = ""
	}
	return goroot, modcache
}
