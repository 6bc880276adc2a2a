// Package volume is what mote run -v mounts: the parsing of -v strings (shared by the command
// line and the manifest), and the store of named volumes, directories under mote's state
// directory that outlive the guests using them.
package volume

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// MaxMounts is how many volumes one guest may have (the kernel's mount table).
const MaxMounts = 8

// Spec is one -v string, parsed: SOURCE:GUESTDIR[:ro|:rw]. SOURCE is a host directory when it
// is a path (absolute, or starting with ./ ../ or ~/), else the name of a volume.
type Spec struct {
	Source   string `json:"source"`
	Guest    string `json:"guest"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	Named    bool   `json:"named,omitempty"`
}

// Mount is a Spec resolved: the host directory QEMU exports.
type Mount struct {
	Spec
	Host string `json:"host"`
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// ValidName checks a volume's name: it becomes a directory name.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid volume name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 63 characters", name)
	}
	return nil
}

// Parse reads one -v string.
func Parse(s string) (Spec, error) {
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("-v %q: %s (want HOSTDIR:GUESTDIR[:ro] or NAME:GUESTDIR[:ro])", s, why)
	}
	parts := strings.Split(s, ":")
	var sp Spec
	switch len(parts) {
	case 2:
	case 3:
		switch parts[2] {
		case "ro":
			sp.ReadOnly = true
		case "rw":
		default:
			return bad(fmt.Sprintf("unknown option %q: the third field is ro or rw", parts[2]))
		}
	default:
		return bad("one or two ':' expected (paths with ':' are not supported)")
	}
	src, guest := parts[0], parts[1]
	switch {
	case src == "":
		return bad("no host directory or volume name")
	case isPath(src):
	case ValidName(src) == nil:
		sp.Named = true
	default:
		return bad("the source is neither a path (start it with / or ./) nor a volume name")
	}
	if !path.IsAbs(guest) {
		return bad("the guest directory must be an absolute path")
	}
	guest = path.Clean(guest)
	if guest == "/" {
		return bad("a volume cannot be mounted over the guest's root")
	}
	// The kernel makes /proc, /dev and /etc's files; a volume may go below
	// /etc (/etc/app), not over it.
	for _, p := range []string{"/proc", "/dev", "/etc"} {
		if guest == p || p != "/etc" && strings.HasPrefix(guest, p+"/") {
			return bad(guest + " belongs to the kernel; mount the volume elsewhere")
		}
	}
	if strings.ContainsAny(guest, " \t\n") {
		return bad("the guest directory cannot contain white space")
	}
	sp.Source, sp.Guest = src, guest
	return sp, nil
}

func isPath(s string) bool {
	return strings.HasPrefix(s, "/") || s == "." || s == ".." || strings.HasPrefix(s, "./") ||
		strings.HasPrefix(s, "../") || s == "~" || strings.HasPrefix(s, "~/")
}

// ParseAll parses -v strings and checks them together: at most MaxMounts, and no guest
// directory twice or inside another.
func ParseAll(in []string) ([]Spec, error) {
	if len(in) > MaxMounts {
		return nil, fmt.Errorf("-v: at most %d volumes per guest", MaxMounts)
	}
	var out []Spec
	for _, s := range in {
		sp, err := Parse(s)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.Guest == sp.Guest || strings.HasPrefix(sp.Guest, o.Guest+"/") || strings.HasPrefix(o.Guest, sp.Guest+"/") {
				return nil, fmt.Errorf("-v %q: %s is already a volume's, or inside or above one", s, sp.Guest)
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// HostDir checks a bind mount's host directory and returns it absolute. A missing directory
// is an error, not created: a mistyped path would otherwise become an empty volume, and the
// data the guest writes would land where nobody looks for it.
func HostDir(src string) (string, error) {
	p := src
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("-v %s: %v", src, err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p[1:], "/"))
	}
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("-v %s: host directory %s does not exist; create it first (mkdir -p %s), or use a named volume (mote volume create NAME)", src, p, p)
	case err != nil:
		return "", fmt.Errorf("-v %s: %v", src, err)
	case !st.IsDir():
		return "", fmt.Errorf("-v %s: %s is not a directory; a volume is a directory", src, p)
	}
	return p, nil
}

// Resolve turns specs into mounts: bind mounts are checked, named volumes looked up in store
// (which may be nil when none is named).
func Resolve(specs []Spec, store *Store) ([]Mount, error) {
	var out []Mount
	for _, sp := range specs {
		m := Mount{Spec: sp}
		if sp.Named {
			if store == nil {
				return nil, errors.New("named volumes need mote's state directory")
			}
			v, err := store.Get(sp.Source)
			if err != nil {
				return nil, err
			}
			m.Host = v.Data
		} else {
			h, err := HostDir(sp.Source)
			if err != nil {
				return nil, err
			}
			m.Host = h
		}
		out = append(out, m)
	}
	return out, nil
}
