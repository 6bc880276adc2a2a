// Package config reads mote.yaml, the manifest beside a main package that says how mote builds
// and runs it. Parsing is strict: an unknown field, a field given twice or a value of the wrong
// shape is an error that names the file, the line and the field, so a misspelt key never
// passes silently as it would with a plain YAML decode.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"mote.dev/mote/internal/image"
)

// FileName is the manifest's name beside a main package.
const FileName = "mote.yaml"

// File is a parsed manifest. Every value keeps its line for later messages.
type File struct {
	Path    string // as given, for messages
	Name    Value
	Args    []Value
	Env     []Value
	Memory  Value
	Ports   []Value
	Volumes []Value
	Copy    []Value
	Workdir Value
}

// Value is one string of the manifest and the line it is on; Line 0 means not given.
type Value struct {
	S    string
	Line int
}

// Where names a value's place for messages: "mote.yaml:7".
func (f *File) Where(v Value) string { return fmt.Sprintf("%s:%d", f.Path, v.Line) }

// Strings returns the strings of vs.
func Strings(vs []Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.S)
	}
	return out
}

// Error is a mistake in a manifest, at a line.
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Path + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// field is one key of the manifest.
type field struct {
	name    string
	list    bool
	example string // shown when the value has the wrong shape
	set     func(f *File, v []Value)
}

// fields are the manifest's keys, in the order mote init writes them.
var fields = []field{
	{"name", false, "name: server", func(f *File, v []Value) { f.Name = v[0] }},
	{"args", true, `args: ["-addr", ":8080"]`, func(f *File, v []Value) { f.Args = v }},
	{"env", true, "env: [CONFIG=/etc/app/config.json]", func(f *File, v []Value) { f.Env = v }},
	{"memory", false, "memory: 256M", func(f *File, v []Value) { f.Memory = v[0] }},
	{"ports", true, `ports: ["8080:8080"]`, func(f *File, v []Value) { f.Ports = v }},
	{"volumes", true, `volumes: ["./data:/data"]`, func(f *File, v []Value) { f.Volumes = v }},
	{"copy", true, `copy: ["static:/srv/www"]`, func(f *File, v []Value) { f.Copy = v }},
	{"workdir", false, "workdir: /srv", func(f *File, v []Value) { f.Workdir = v[0] }},
}

// Find returns the path of the manifest beside the package in dir, or "" if there is none.
func Find(dir string) string {
	p := filepath.Join(dir, FileName)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p
	}
	return ""
}

// Load reads and parses the manifest at path; name is how messages call it.
func Load(path, name string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file (mote init DIR writes one)", name)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return Parse(name, data)
}

// Parse parses and checks a manifest; path is how messages call it.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil // empty: every default
	}
	top := resolve(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return f, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, &Error{path, top.Line, "want fields such as name:, args: and copy: (mote init writes an example)"}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], resolve(top.Content[i+1])
		fd := lookupField(k.Value)
		if fd == nil {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := suggest(k.Value); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (the fields are " + fieldNames() + ")"
			}
			return nil, &Error{path, k.Line, msg}
		}
		if first, ok := seen[fd.name]; ok {
			return nil, &Error{path, k.Line, fmt.Sprintf("%s is given twice (first on line %d)", fd.name, first)}
		}
		seen[fd.name] = k.Line
		vals, err := values(path, fd, v)
		if err != nil {
			return nil, err
		}
		if vals != nil {
			fd.set(f, vals)
		}
	}
	return f, f.check()
}

// values reads a field's value: one string, or a list of strings. A null value (the key alone)
// means not given.
func values(path string, fd *field, v *yaml.Node) ([]Value, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	shape := func() error {
		want := "a string"
		if fd.list {
			want = "a list of strings"
		}
		return &Error{path, v.Line, fmt.Sprintf("%s: want %s, e.g. %s; got %s", fd.name, want, fd.example, describe(v))}
	}
	if !fd.list {
		if v.Kind != yaml.ScalarNode {
			return nil, shape()
		}
		return []Value{{v.Value, v.Line}}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, shape()
	}
	out := []Value{}
	for _, e := range v.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			return nil, &Error{path, e.Line, fmt.Sprintf("%s: each entry must be a string, e.g. %s; got %s", fd.name, fd.example, describe(e))}
		}
		out = append(out, Value{e.Value, e.Line})
	}
	return out, nil
}

// check validates what can be checked without the host: sizes, paths and KEY=VALUE pairs.
// Ports, volumes and the copies' sources are checked by those who use them.
func (f *File) check() error {
	bad := func(v Value, format string, args ...any) error {
		return &Error{f.Path, v.Line, fmt.Sprintf(format, args...)}
	}
	if f.Name.Line != 0 && (f.Name.S == "" || strings.ContainsAny(f.Name.S, "/ \t\n")) {
		return bad(f.Name, "name %q: want a word such as server (it is argv[0], the image file's name and the guest's host name)", f.Name.S)
	}
	if f.Memory.Line != 0 {
		n, err := image.ParseMemory(f.Memory.S)
		if err != nil {
			return bad(f.Memory, "memory: %v", err)
		}
		if n < image.MinMemory {
			return bad(f.Memory, "memory %s is below the %s a mote guest needs", f.Memory.S, image.FormatMemory(image.MinMemory))
		}
	}
	for _, e := range f.Env {
		if k, _, ok := strings.Cut(e.S, "="); !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return bad(e, "env %q: want KEY=VALUE", e.S)
		}
	}
	if f.Workdir.Line != 0 {
		if err := image.CheckDest(f.Workdir.S); err != nil {
			return bad(f.Workdir, "workdir: %v", err)
		}
	}
	for _, c := range f.Copy {
		if _, err := image.ParseCopy(c.S, "/", "copy"); err != nil {
			return bad(c, "%v", err)
		}
	}
	for _, list := range [][]Value{f.Args, f.Ports, f.Volumes} {
		for _, v := range list {
			if strings.ContainsRune(v.S, 0) {
				return bad(v, "a value holds a NUL byte")
			}
		}
	}
	for _, v := range append(f.Ports, f.Volumes...) {
		if v.S == "" {
			return bad(v, "an empty entry")
		}
	}
	return nil
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// syntaxError turns the YAML library's "yaml: line N: what" into "path:N: what".
func syntaxError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		_, rest, _ := strings.Cut(msg, ":")
		return &Error{path, line, "bad YAML:" + rest}
	}
	return &Error{path, 0, "bad YAML: " + msg}
}

func lookupField(name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

func fieldNames() string {
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}
