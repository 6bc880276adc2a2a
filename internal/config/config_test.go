package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `# a comment
name: files
args: ["-root", /srv/www, 8080]
env:
  - CONFIG=/etc/files/config.json
  - EMPTY=
memory: 256M
ports: ["8080:8080", 127.0.0.1:9090:90/udp]
volumes:
copy:
  - &www static:/srv/www
  - config.json:/etc/files/
workdir: /srv
`
	f, err := Parse("mote.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("name", []string{f.Name.S}, "files")
	check("args", Strings(f.Args), "-root", "/srv/www", "8080")
	check("env", Strings(f.Env), "CONFIG=/etc/files/config.json", "EMPTY=")
	check("memory", []string{f.Memory.S}, "256M")
	check("ports", Strings(f.Ports), "8080:8080", "127.0.0.1:9090:90/udp")
	check("volumes", Strings(f.Volumes))
	check("copy", Strings(f.Copy), "static:/srv/www", "config.json:/etc/files/")
	check("workdir", []string{f.Workdir.S}, "/srv")
	if f.Where(f.Copy[1]) != "mote.yaml:12" || f.Memory.Line != 7 {
		t.Errorf("lines: copy[1] at %s, memory at %d", f.Where(f.Copy[1]), f.Memory.Line)
	}

	for _, empty := range []string{"", "# nothing\n", "---\n", "~\n"} {
		if f, err := Parse("mote.yaml", []byte(empty)); err != nil || f.Name.Line != 0 || f.Args != nil {
			t.Errorf("Parse(%q) = %+v, %v", empty, f, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"name: a\nvolums: [x:/y]\n", `mote.yaml:2: unknown field "volums" (did you mean "volumes"?)`},
		{"environment:\n  - A=1\n", `mote.yaml:1: unknown field "environment" (did you mean "env"?)`},
		{"Name: a\n", `mote.yaml:1: unknown field "Name" (did you mean "name"?)`},
		{"image: x\n", `mote.yaml:1: unknown field "image" (the fields are name, args, env, memory, ports, volumes, copy, workdir)`},
		{"name: a\nargs: -v\n", `mote.yaml:2: args: want a list of strings, e.g. args: ["-addr", ":8080"]; got "-v"`},
		{"memory:\n  size: 1G\n", `mote.yaml:2: memory: want a string, e.g. memory: 256M; got a mapping`},
		{"env:\n  A: 1\n", `mote.yaml:2: env: want a list of strings, e.g. env: [CONFIG=/etc/app/config.json]; got a mapping`},
		{"copy:\n  - [a, b]\n", `mote.yaml:2: copy: each entry must be a string, e.g. copy: ["static:/srv/www"]; got a list`},
		{"ports:\n  - \n", `mote.yaml:2: ports: each entry must be a string`},
		{"name: a\nname: b\n", `mote.yaml:2: name is given twice (first on line 1)`},
		{"- a\n- b\n", `mote.yaml:1: want fields such as name:, args: and copy:`},
		{"name: [a\n", `mote.yaml:1: bad YAML: did not find expected`},
		{"name: a\n\targs: []\n", `mote.yaml:2: bad YAML: found a tab character`},
		{"memory: lots\n", `mote.yaml:1: memory: bad memory size "lots"`},
		{"memory: 4M\n", `mote.yaml:1: memory 4M is below the 8M a mote guest needs`},
		{"env: [A]\n", `mote.yaml:1: env "A": want KEY=VALUE`},
		{"workdir: srv\n", `mote.yaml:1: workdir: the guest path "srv" is not absolute`},
		{"workdir: /proc/x\n", `mote.yaml:1: workdir: /proc/x is under /proc`},
		{"copy:\n  - static\n", `mote.yaml:2: copy "static": want SRC:DEST`},
		{"copy:\n  - x:/dev/x\n", `mote.yaml:2: copy "x:/dev/x": /dev/x is under /dev`},
		{"name: my app\n", `mote.yaml:1: name "my app": want a word`},
	} {
		_, err := Parse("mote.yaml", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q):\n got %v\nwant %s...", tc.src, err, tc.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	f, err := Parse("mote.yaml", Template("web"))
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	if f.Name.S != "web" {
		t.Errorf("template name %q", f.Name.S)
	}
	// Uncommented, every example in it is a valid manifest.
	var lines []string
	for _, l := range strings.Split(string(Template("web")), "\n") {
		if s, ok := strings.CutPrefix(l, "# "); ok && (strings.HasPrefix(s, "  - ") || isField(s)) {
			l = s
		}
		lines = append(lines, l)
	}
	if _, err := Parse("uncommented.yaml", []byte(strings.Join(lines, "\n"))); err != nil {
		t.Errorf("the template's examples, uncommented: %v\n%s", err, strings.Join(lines, "\n"))
	}
	for _, fd := range fields {
		if !strings.Contains(string(Template("web")), fd.name+":") {
			t.Errorf("the template does not show %s", fd.name)
		}
	}
}

// isField reports whether a commented line is a field, "key: value" or "key:".
func isField(s string) bool {
	k, _, ok := strings.Cut(s, ":")
	return ok && lookupField(k) != nil
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if Find(dir) != "" {
		t.Error("Find found a manifest in an empty directory")
	}
	p := filepath.Join(dir, FileName)
	os.WriteFile(p, []byte("name: x\n"), 0o644)
	if Find(dir) != p {
		t.Errorf("Find = %q", Find(dir))
	}
	if f, err := Load(p, "mote.yaml"); err != nil || f.Name.S != "x" {
		t.Errorf("Load: %+v, %v", f, err)
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml"), "nope.yaml"); err == nil || !strings.Contains(err.Error(), "nope.yaml: no such file (mote init DIR writes one)") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("name: a\nargs: [x]\ncopy: [a:/b]\n"))
	f.Add(Template("x"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err == nil && file == nil {
			t.Fatal("no file and no error")
		}
	})
}
