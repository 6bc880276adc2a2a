package image

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The link contract with the kernel (docs/ARCHITECTURE.md).
const (
	KernelModule  = "mote.dev/mote"
	KernelPackage = "mote.dev/mote/kernel"
	// NetPackage is the kernel's socket service (gVisor's netstack), linked only into apps that
	// use sockets: it is most of an image's size.
	NetPackage = "mote.dev/mote/kernel/net"
	// AgentPackage answers the host's metrics and pprof requests from inside the guest. It
	// adds runtime/pprof (and compress/gzip) to an image: about 0.7 MiB for a hello world,
	// little for a server that links net/http, which has them already.
	AgentPackage = "mote.dev/mote/kernel/agent"
	EntrySymbol  = "mote.dev/mote/kernel.entry32"
	// LDFlags set the PVH entry, put the text at 2 MiB (PVH starts at a 32-bit physical address),
	// make the 8-byte build-id note that PatchPVH rewrites, and keep the symbol table: the kernel
	// symbolizes backtraces with it and gdb needs it.
	LDFlags = "-E " + EntrySymbol + " -T 0x200000 -B 0x0000000000000000 -s=false"

	// The files the -overlay adds: one imports the kernel into a main package, the other into a
	// package's external test package.
	overlayMainFile = "zz_mote_kernel.go"
	overlayTestFile = "zz_mote_test.go"

	workGoVersion = "1.26" // the least go version a generated go.work states
)

// Package is what mote needs to know about a package, from go list -json.
type Package struct {
	Dir          string
	ImportPath   string
	Name         string
	Standard     bool
	Module       *Module
	CgoFiles     []string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// Module is a package's module, from go list -json.
type Module struct {
	Path      string
	Version   string
	Dir       string
	GoVersion string
}

// HasTests reports whether the package has any _test.go files.
func (p *Package) HasTests() bool { return len(p.TestGoFiles)+len(p.XTestGoFiles) > 0 }

// Builder turns Go packages into mote images.
type Builder struct {
	// KernelDir is a directory holding the module mote.dev/mote with the kernel package tree.
	KernelDir string
	// Dir is the directory relative package paths and import paths are resolved in ("" = cwd).
	Dir string
	// Stderr receives the go command's diagnostics (compile errors and the like).
	Stderr io.Writer
	// Env is added to the environment of every go command mote runs (tests point GOCACHE
	// and the like at their own directories).
	Env []string
}

// UserError is a failure caused by what the user asked for; its message says what to do.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

func userErrorf(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

var versionedSpec = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

// Load resolves spec to a package: a directory, an import path in the current module (or std),
// or module/path/cmd@version, fetched through the module proxy as go install does. tmp is a
// scratch directory the caller removes.
func (b *Builder) Load(ctx context.Context, spec, tmp string) (*Package, error) {
	switch {
	case spec == "":
		return nil, userErrorf("no package given (e.g. mote build ./cmd/server)")
	case strings.Contains(spec, "@"):
		if !versionedSpec.MatchString(spec) || isPathLike(spec) {
			return nil, userErrorf("%s: a versioned package is written module/path/cmd@version (e.g. golang.org/x/example/hello@latest)", spec)
		}
		return b.fetch(ctx, spec, tmp)
	case isPathLike(spec) || isDir(b.abs(spec)):
		dir := b.abs(spec)
		st, err := os.Stat(dir)
		if err != nil {
			return nil, userErrorf("%s: no such directory (give a package directory, an import path in this module, or module/path@version)", spec)
		}
		if !st.IsDir() {
			return nil, userErrorf("%s is a file, not a package directory (give the directory that holds the package)", spec)
		}
		return b.list(ctx, dir, ".", spec)
	default:
		return b.list(ctx, b.workDir(), spec, spec)
	}
}

func (b *Builder) workDir() string {
	if b.Dir != "" {
		return b.Dir
	}
	wd, _ := os.Getwd()
	return wd
}

func (b *Builder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(b.workDir(), p)
}

func isPathLike(s string) bool {
	return s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || filepath.IsAbs(s)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// list runs go list -json for one package. CGO_ENABLED=1 so that cgo files show up as such.
func (b *Builder) list(ctx context.Context, dir, pattern, spec string) (*Package, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-json", "--", pattern)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=1")
	cmd.Env = append(cmd.Env, b.Env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var p Package
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		if strings.Contains(msg, "go.mod file not found") {
			return nil, userErrorf("%s is not in a Go module (run go mod init in its directory)", spec)
		}
		if errors.Is(runErr, exec.ErrNotFound) {
			return nil, userErrorf("the go command is not on PATH (mote builds with it: install Go 1.26 or later)")
		}
		return nil, userErrorf("cannot load %s: %s", spec, firstLine(msg))
	}
	if p.Error != nil {
		return nil, userErrorf("cannot load %s: %s", spec, firstLine(p.Error.Err))
	}
	if p.Module == nil && !p.Standard {
		return nil, userErrorf("%s is not in a Go module (run go mod init in its directory)", spec)
	}
	return &p, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "go: ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// fetch downloads module/path/cmd@version into the module cache the way go install does,
// through a throwaway module, and lists the package there.
func (b *Builder) fetch(ctx context.Context, spec, tmp string) (*Package, error) {
	dir := filepath.Join(tmp, "fetch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module mote.invalid/fetch\n\ngo "+workGoVersion+"\n"), 0o644); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "get", "--", spec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, b.Env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, userErrorf("cannot fetch %s: %s", spec, firstLine(lastGoError(out.String())))
	}
	pkgPath, _, _ := strings.Cut(spec, "@")
	p, err := b.list(ctx, dir, pkgPath, spec)
	if err != nil {
		return nil, err
	}
	// The go command refuses overlays of files in the module cache, so build from a copy.
	if p.Module == nil || p.Module.Dir == "" {
		return nil, userErrorf("%s is not in a module", spec)
	}
	rel, err := filepath.Rel(p.Module.Dir, p.Dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("package %s lies outside its module directory %s", p.Dir, p.Module.Dir)
	}
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(p.Module.Dir)); err != nil {
		return nil, fmt.Errorf("copying %s@%s: %w", p.Module.Path, p.Module.Version, err)
	}
	return b.list(ctx, filepath.Join(src, rel), ".", spec)
}

// lastGoError picks the go command's error line out of its chatter ("go: downloading ...").
func lastGoError(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.HasPrefix(lines[i], "go: downloading") && !strings.HasPrefix(lines[i], "go: finding") {
			return lines[i]
		}
	}
	return s
}

// WorkFile returns a go.work that puts the app's module and the kernel's module side by side.
// An app that is mote itself (its module is mote.dev/mote) already holds the kernel.
func WorkFile(p *Package, kernelDir string) string {
	goVer := workGoVersion
	var uses []string
	if p.Module != nil {
		if p.Module.GoVersion != "" && version.Compare("go"+p.Module.GoVersion, "go"+goVer) > 0 {
			goVer = p.Module.GoVersion
		}
		uses = append(uses, p.Module.Dir)
	}
	if p.Module == nil || p.Module.Path != KernelModule {
		uses = append(uses, kernelDir)
		if v := goDirective(filepath.Join(kernelDir, "go.mod")); v != "" && version.Compare("go"+v, "go"+goVer) > 0 {
			goVer = v
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "go %s\n\nuse (\n", goVer)
	for _, u := range uses {
		fmt.Fprintf(&b, "\t%s\n", strconvQuote(u))
	}
	b.WriteString(")\n")
	return b.String()
}

// goDirective returns the version in a go.mod's go line, or "" when there is none.
func goDirective(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}

func strconvQuote(s string) string {
	js, _ := json.Marshal(s) // a go.work string is a Go string; JSON's quoting is a subset
	return string(js)
}

// OverlayFile returns the file the -overlay adds to the package, and its contents: an import of
// the kernel into the main package, or into the package's external test package for a test.
func OverlayFile(p *Package, test, agent bool) (name string, src []byte) {
	const header = "// Code generated by mote. DO NOT EDIT.\n\n"
	imports := "import _ \"" + KernelPackage + "\"\n"
	if p.UsesSockets(test) {
		imports += "import _ \"" + NetPackage + "\"\n"
	}
	if agent {
		imports += "import _ \"" + AgentPackage + "\"\n"
	}
	if test {
		return overlayTestFile, []byte(header + "package " + p.Name + "_test\n\n" + imports)
	}
	return overlayMainFile, []byte(header + "package main\n\n" + imports)
}

// UsesSockets reports whether the package (with its tests, for a test binary) can open
// sockets: it is net or depends on it. Test imports are known only directly, so any net/...
// import counts there.
func (p *Package) UsesSockets(test bool) bool {
	if p.ImportPath == "net" || slices.Contains(p.Deps, "net") {
		return true
	}
	if test {
		for _, imp := range append(append([]string(nil), p.TestImports...), p.XTestImports...) {
			if imp == "net" || strings.HasPrefix(imp, "net/") {
				return true
			}
		}
	}
	return false
}

// Overlay is the JSON for go build -overlay.
type Overlay struct {
	Replace map[string]string
}

// BuildOptions says what to build.
type BuildOptions struct {
	Package *Package
	Output  string // the image file to write
	Test    bool   // build the package's test binary (go test -c) instead of a command
	TmpDir  string // scratch directory, removed by the caller
	// Name, if set, names the image (argv[0]); else ImageName.
	Name    string
	Args    []string
	Env     []string
	Memory  string
	Workdir string
	// Copies are the host files put into the image (mote build --copy).
	Copies []Copy
	// NoAgent leaves the agent (AgentPackage) out of a command's image: no metrics or
	// profiles from the guest, a smaller image. Test binaries never have it.
	NoAgent bool
}

// Build compiles the package with the kernel, patches the ELF for PVH, appends the manifest and
// writes the image to opts.Output.
func (b *Builder) Build(ctx context.Context, opts BuildOptions) (*Manifest, error) {
	p := opts.Package
	if !opts.Test && p.Name != "main" {
		return nil, userErrorf("%s is package %s, not a command: mote build needs a main package", p.ImportPath, p.Name)
	}
	// The standard library's cgo files (net, os/user) all have pure-Go twins that a
	// CGO_ENABLED=0 build takes; anyone else's cgo is the app's own and cannot be.
	if len(p.CgoFiles) > 0 && !p.Standard {
		return nil, userErrorf("%s uses cgo (%s imports \"C\"): mote images are pure Go, build it without cgo or pick a pure-Go alternative", p.ImportPath, p.CgoFiles[0])
	}
	if b.KernelDir == "" {
		return nil, errors.New("no kernel source directory")
	}
	if opts.Workdir != "" {
		if err := CheckDest(opts.Workdir); err != nil {
			return nil, userErrorf("workdir: %v", err)
		}
	}
	// The files first: a mistake in them shows before the compiler's minutes.
	files, filesInfo, err := PackRoot(opts.Copies, opts.Workdir)
	if err != nil {
		return nil, &UserError{Msg: err.Error()}
	}

	// A kernel tree without the agent (the stand-in kernels of the tests) builds without it.
	agent := !opts.Test && !opts.NoAgent && isDir(filepath.Join(b.KernelDir, "kernel", "agent"))
	name, src := OverlayFile(p, opts.Test, agent)
	target := filepath.Join(p.Dir, name)
	if _, err := os.Stat(target); err == nil {
		return nil, userErrorf("%s already has a file named %s, which mote adds to every image: rename that file", p.Dir, name)
	}
	added := filepath.Join(opts.TmpDir, name)
	if err := os.WriteFile(added, src, 0o644); err != nil {
		return nil, err
	}
	ov, err := json.Marshal(Overlay{Replace: map[string]string{target: added}})
	if err != nil {
		return nil, err
	}
	ovPath := filepath.Join(opts.TmpDir, "overlay.json")
	workPath := filepath.Join(opts.TmpDir, "go.work")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(workPath, []byte(WorkFile(p, b.KernelDir)), 0o644); err != nil {
		return nil, err
	}

	elfPath := filepath.Join(opts.TmpDir, "image.elf")
	args := []string{"build"}
	if opts.Test {
		args = []string{"test", "-c"}
	}
	args = append(args, "-o", elfPath, "-trimpath", "-buildvcs=false", "-overlay", ovPath, "-ldflags", LDFlags, "--", p.ImportPath)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "GOWORK="+workPath, "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0",
		// The kernel saves vector state with FXSAVE and leaves AVX off.
		"GOAMD64=v1")
	cmd.Env = append(cmd.Env, b.Env...)
	var goErr bytes.Buffer
	cmd.Stdout = b.Stderr
	cmd.Stderr = io.MultiWriter(b.Stderr, &goErr)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if strings.Contains(goErr.String(), "missing entry symbol") {
			return nil, userErrorf("the kernel source in %s has no entry symbol %s (is it a mote kernel?)", b.KernelDir, EntrySymbol)
		}
		return nil, userErrorf("go %s failed for %s (see the errors above)", args[0], p.ImportPath)
	}
	elfBytes, err := os.ReadFile(elfPath)
	if err != nil {
		if opts.Test && errors.Is(err, os.ErrNotExist) {
			return nil, userErrorf("%s has no test files", p.ImportPath)
		}
		return nil, err
	}
	if err := PatchPVH(elfBytes); err != nil {
		return nil, fmt.Errorf("making %s bootable: %w", p.ImportPath, err)
	}
	if _, err := LazyBSS(elfBytes); err != nil {
		return nil, fmt.Errorf("trimming %s's zero-filled tail: %w", p.ImportPath, err)
	}
	m := &Manifest{Version: ManifestVersion, Name: cmp.Or(opts.Name, ImageName(p, opts.Test)), Args: opts.Args, Env: opts.Env, Memory: opts.Memory,
		Network: p.UsesSockets(opts.Test), Agent: agent, Workdir: opts.Workdir, Files: filesInfo}
	img, err := AppendManifest(elfBytes, files, m)
	if err != nil {
		return nil, err
	}
	return m, writeFileAtomic(opts.Output, img, 0o755)
}

// BuildBinary compiles the package as an ordinary static linux/amd64 program, without the
// kernel: the same app as the image holds, as a process, a container or a Linux guest runs it.
// It uses the go.work Build would, so the app resolves its dependencies the same way.
func (b *Builder) BuildBinary(ctx context.Context, p *Package, output, tmp string) error {
	if p.Name != "main" {
		return userErrorf("%s is package %s, not a command: it needs a main package", p.ImportPath, p.Name)
	}
	if len(p.CgoFiles) > 0 && !p.Standard {
		return userErrorf("%s uses cgo (%s imports \"C\"): build it without cgo", p.ImportPath, p.CgoFiles[0])
	}
	workPath := filepath.Join(tmp, "go.work")
	if err := os.WriteFile(workPath, []byte(WorkFile(p, b.KernelDir)), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", output, "-trimpath", "-buildvcs=false", "--", p.ImportPath)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "GOWORK="+workPath, "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, b.Env...)
	cmd.Stdout, cmd.Stderr = b.Stderr, b.Stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return userErrorf("go build failed for %s (see the errors above)", p.ImportPath)
	}
	return nil
}

// ImageName is the name of a package's image: the last element of its import path (skipping a
// major-version suffix, as go build does), with ".test" for a test binary.
func ImageName(p *Package, test bool) string {
	name := path.Base(p.ImportPath)
	if isMajorVersion(name) && path.Dir(p.ImportPath) != "." {
		name = path.Base(path.Dir(p.ImportPath))
	}
	if test {
		name += ".test"
	}
	return name
}

func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
