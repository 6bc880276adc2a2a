package cli

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/config"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/usernet"
	"mote.dev/mote/internal/volume"
)

// imageFlags are the flags build and run share for what goes into an image; they override
// the package's mote.yaml.
type imageFlags struct {
	file    string   // -f: the manifest to read instead of mote.yaml beside the package
	copies  []string // --copy SRC:DEST
	workdir string
}

func (o *imageFlags) bindImage(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "read the manifest from `FILE` instead of mote.yaml beside the package")
	f.StringArrayVar(&o.copies, "copy", nil, "put a host file or directory into the image: `SRC:DEST`, DEST an absolute guest path (repeatable)")
	f.StringVar(&o.workdir, "workdir", "", "the program's working directory in the guest, an absolute `DIR` (default /)")
}

// given reports whether a flag that only makes sense when building was used.
func (o *imageFlags) given() string {
	switch {
	case o.file != "":
		return "-f"
	case len(o.copies) > 0:
		return "--copy"
	}
	return ""
}

// checkWorkdir checks --workdir and makes it clean.
func (o *imageFlags) checkWorkdir() error {
	if o.workdir == "" {
		return nil
	}
	if err := image.CheckDest(o.workdir); err != nil {
		return &StatusError{Code: 2, Msg: "--workdir: " + err.Error()}
	}
	o.workdir = path.Clean(o.workdir)
	return nil
}

// appConfig is what the manifest and the flags together say about an app.
type appConfig struct {
	build   image.BuildOptions // Name, Args, Env, Memory, Workdir and Copies
	ports   []string           // the manifest's, in -p syntax; -p flags replace them (mergePorts)
	volumes []string           // the manifest's, in -v syntax
}

// resolveConfig reads the package's manifest (mote.yaml beside it, or -f FILE) and lays the
// flags over it. Relative copy sources are taken from the package directory when the manifest
// gives them, from the current directory when a flag does.
func resolveConfig(p *image.Package, o *imageFlags) (*appConfig, error) {
	bad := func(err error) error { return &StatusError{Code: exitFailure, Msg: err.Error()} }
	f := &config.File{}
	if file := o.file; file != "" {
		var err error
		if f, err = config.Load(file, file); err != nil {
			return nil, bad(err)
		}
	} else if file := config.Find(p.Dir); file != "" {
		var err error
		if f, err = config.Load(file, relPath(file)); err != nil {
			return nil, bad(err)
		}
	}
	ac := &appConfig{build: image.BuildOptions{
		Name: f.Name.S, Args: config.Strings(f.Args), Env: config.Strings(f.Env), Memory: f.Memory.S,
	}}
	for _, v := range f.Copy {
		c, err := image.ParseCopy(v.S, p.Dir, f.Where(v))
		if err != nil {
			return nil, bad(err)
		}
		ac.build.Copies = append(ac.build.Copies, c)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for _, s := range o.copies {
		c, err := image.ParseCopy(s, wd, "--copy")
		if err != nil {
			return nil, &StatusError{Code: 2, Msg: err.Error()}
		}
		ac.build.Copies = append(ac.build.Copies, c)
	}
	if err := o.checkWorkdir(); err != nil {
		return nil, err
	}
	ac.build.Workdir = cmp.Or(o.workdir, f.Workdir.S)
	if ac.build.Workdir != "" {
		ac.build.Workdir = path.Clean(ac.build.Workdir)
	}
	for _, v := range f.Ports {
		if _, err := usernet.ParsePublish(v.S); err != nil {
			return nil, bad(fmt.Errorf("%s: ports: %v", f.Where(v), err))
		}
		ac.ports = append(ac.ports, v.S)
	}
	for _, v := range f.Volumes {
		sp, err := volume.Parse(v.S)
		if err != nil {
			return nil, bad(fmt.Errorf("%s: volumes: %v", f.Where(v), err))
		}
		s := v.S
		if !sp.Named && !filepath.IsAbs(sp.Source) && !strings.HasPrefix(sp.Source, "~") {
			// A manifest's relative directory is the package's, as its copy sources are.
			s = filepath.Join(p.Dir, sp.Source) + strings.TrimPrefix(v.S, sp.Source)
		}
		ac.volumes = append(ac.volumes, s)
	}
	return ac, nil
}

// mergeVolumes is the volumes to mount: the -v flags if any were given, else the manifest's,
// as for ports.
func mergeVolumes(manifest, flags []string) []string {
	if len(flags) > 0 {
		return flags
	}
	return manifest
}

// mergePorts is the ports to publish: the -p flags if any were given, else the manifest's.
// Flags replace the list rather than add to it, so that mote run -p 9000:8080 ./app does not
// also take the manifest's 8080.
func mergePorts(manifest, flags []string) []string {
	if len(flags) > 0 {
		return flags
	}
	return manifest
}

// relPath is p relative to the current directory when that is shorter, for messages.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && len(r) < len(p) {
		return r
	}
	return p
}
