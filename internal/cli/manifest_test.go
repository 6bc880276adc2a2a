package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mote.dev/mote/internal/config"
)

// appDir makes a main package with the given extra files (mote.yaml among them).
func appDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/app\n\ngo 1.26\n"
	files["main.go"] = "package main\n\nfunc main() {}\n"
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestManifestAndCopyErrors: mistakes in mote.yaml and in --copy are one clear line each,
// before anything is built or booted.
func TestManifestAndCopyErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	t.Parallel()
	img := filepath.Join(t.TempDir(), "app.img")
	if _, errOut, code := runMote(t, "build", "-o", img, appDir(t, map[string]string{})); code != 0 {
		t.Fatalf("building an image: exit %d\n%s", code, errOut)
	}
	tests := []struct {
		name  string
		files map[string]string // the app's; nil: no app, args name everything
		args  []string          // APP stands for the app's directory
		code  int
		want  string
	}{
		{"misspelt field", map[string]string{"mote.yaml": "name: app\nvolums:\n  - data:/data\n"}, []string{"build", "APP"}, 1,
			`mote.yaml:2: unknown field "volums" (did you mean "volumes"?)`},
		{"wrong type", map[string]string{"mote.yaml": "name: app\n\nargs: -v\n"}, []string{"run", "--dry-run", "APP"}, 1,
			`mote.yaml:3: args: want a list of strings, e.g. args: ["-addr", ":8080"]; got "-v"`},
		{"bad port", map[string]string{"mote.yaml": "ports:\n  - \"8080\"\n"}, []string{"run", "--dry-run", "APP"}, 1,
			"mote.yaml:2: ports: -p 8080: want [HOSTIP:]HOSTPORT:GUESTPORT"},
		{"manifest copy missing", map[string]string{"mote.yaml": "copy:\n  - static:/srv/www\n"}, []string{"build", "APP"}, 1,
			"mote.yaml:2 static:/srv/www: APP/static does not exist on the host"},
		{"copy missing", map[string]string{}, []string{"build", "--copy", "no-such-dir:/srv", "APP"}, 1,
			"--copy no-such-dir:/srv: CWD/no-such-dir does not exist on the host"},
		{"copy relative dest", map[string]string{}, []string{"build", "--copy", "testdata:srv", "APP"}, 2,
			`--copy "testdata:srv": want SRC:DEST, a host path and an absolute guest path`},
		{"copy under proc", map[string]string{}, []string{"run", "--dry-run", "--copy", "testdata:/proc/x", "APP"}, 2,
			`--copy "testdata:/proc/x": /proc/x is under /proc, which the kernel makes at boot`},
		{"copy over hosts", map[string]string{}, []string{"build", "--copy", "testdata:/etc/hosts", "APP"}, 2,
			"/etc/hosts is written by the kernel at boot"},
		{"copy into image", nil, []string{"run", "--dry-run", "--copy", "testdata:/srv", img}, 2,
			"--copy is for building: " + img + " is an image, built already"},
		{"manifest file for image", nil, []string{"run", "--dry-run", "-f", "mote.yaml", img}, 2,
			"-f is for building"},
		{"missing manifest file", map[string]string{}, []string{"build", "-f", "nope.yaml", "APP"}, 1,
			"nope.yaml: no such file (mote init DIR writes one)"},
		{"unknown named volume", map[string]string{"mote.yaml": "volumes: [data:/data]\n"}, []string{"run", "--dry-run", "APP"}, 1,
			`no volume named "data"; create it with mote volume create data`},
		{"volume dir missing", map[string]string{"mote.yaml": "volumes: [./data:/data]\n"}, []string{"run", "--dry-run", "APP"}, 1,
			"host directory APP/data does not exist; create it first (mkdir -p APP/data)"},
		{"bad volume", map[string]string{"mote.yaml": "name: a\nvolumes: [./data:data]\n"}, []string{"run", "--dry-run", "APP"}, 1,
			"mote.yaml:2: volumes: -v \"./data:data\": the guest directory must be an absolute path"},
		{"relative workdir", map[string]string{}, []string{"run", "--dry-run", "--workdir", "srv", "APP"}, 2,
			`--workdir: the guest path "srv" is not absolute`},
		{"files bigger than memory", map[string]string{"big": strings.Repeat("x", 1<<20)}, []string{"run", "--dry-run", "-m", "8M", "--copy", "APP/big:/srv/big", "APP"}, 1,
			"the image's files take 1.0 MiB of guest memory, more than -m 8M leaves the program: use -m 256M or more"},
	}
	wd, _ := os.Getwd()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := ""
			if tc.files != nil {
				app = appDir(t, tc.files)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "APP", app)
			}
			_, errOut, code := runMote(t, args...)
			want := strings.ReplaceAll(strings.ReplaceAll(tc.want, "APP", app), "CWD", wd)
			if code != tc.code || !strings.Contains(errOut, want) {
				t.Errorf("mote %s: exit %d (want %d), stderr:\n%s\nwant it to contain:\n%s", strings.Join(args, " "), code, tc.code, errOut, want)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("want one line, got:\n%s", errOut)
			}
		})
	}
}

// TestManifestRun: the manifest and the flags reach the image and the QEMU command line, flags
// winning; the image's files go to the guest as its module.
func TestManifestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	t.Parallel()
	app := appDir(t, map[string]string{
		"mote.yaml": `name: web
args: ["-x", "1"]
env: [A=1, B=2]
memory: 64M
copy:
  - static:/srv/www
workdir: /srv/www
`,
		"static/index.html": "hi\n",
		"extra.txt":         "extra\n",
	})
	img := filepath.Join(t.TempDir(), "out")
	os.Mkdir(img, 0o755)
	out, errOut, code := runMote(t, "build", "-o", img, "--copy", filepath.Join(app, "extra.txt")+":/etc/web/", app)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, errOut)
	}
	img = filepath.Join(img, "web.img") // named after the manifest's name
	if strings.TrimSpace(out) != img {
		t.Errorf("build printed %q, want %s", out, img)
	}
	out, errOut, code = runMote(t, "inspect", img)
	var shown []struct {
		Manifest struct {
			Name, Memory, Workdir string
			Args, Env             []string
			Files                 struct{ Entries int }
		}
	}
	if err := json.Unmarshal([]byte(out), &shown); code != 0 || err != nil || len(shown) != 1 {
		t.Fatalf("inspect: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	m := shown[0].Manifest
	if m.Name != "web" || m.Memory != "64M" || m.Workdir != "/srv/www" || strings.Join(m.Args, " ") != "-x 1" ||
		strings.Join(m.Env, " ") != "A=1 B=2" || m.Files.Entries != 3 {
		t.Errorf("inspect shows %+v", m)
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--dry-run", img}, []string{"-m 64M", "-initrd FILES", "arg=web arg=-x arg=1 env=A%3D1 env=B%3D2 cwd=/srv/www hostname=web"}},
		{[]string{"run", "--dry-run", "-m", "96M", "-e", "B=3", "--workdir", "/etc/web", img, "--", "-y"},
			[]string{"-m 96M", "arg=web arg=-y env=A%3D1 env=B%3D3 cwd=/etc/web hostname=web"}},
		{[]string{"run", "--dry-run", app}, []string{"-m 64M", "-initrd FILES", "cwd=/srv/www"}},
	} {
		out, errOut, code := runMote(t, tc.args...)
		out = normalize(out)
		for _, w := range tc.want {
			if code != 0 || !strings.Contains(out, w) {
				t.Errorf("mote %s: exit %d, want %q in:\n%s%s", strings.Join(tc.args, " "), code, w, out, errOut)
			}
		}
	}
	// Without files, no module.
	plain := appDir(t, map[string]string{})
	if out, _, _ := runMote(t, "run", "--dry-run", plain); strings.Contains(out, "-initrd") || strings.Contains(out, "cwd=") {
		t.Errorf("an app without files or workdir: %s", out)
	}
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My Server")
	os.Mkdir(dir, 0o755)
	out, errOut, code := runMote(t, "init", dir)
	path := filepath.Join(dir, config.FileName)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "mote.yaml") {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	f, err := config.Load(path, "mote.yaml")
	if err != nil || f.Name.S != "my-server" {
		t.Errorf("the written manifest: %+v, %v", f, err)
	}
	os.WriteFile(path, []byte("name: mine\n"), 0o644)
	if _, errOut, code := runMote(t, "init", dir); code != 1 || !strings.Contains(errOut, "exists already; edit it, or add --force to replace it") {
		t.Errorf("init over a manifest: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(path); string(b) != "name: mine\n" {
		t.Error("init without --force changed the manifest")
	}
	if _, _, code := runMote(t, "init", "--force", dir); code != 0 {
		t.Errorf("init --force: exit %d", code)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "# copy:") {
		t.Errorf("init --force did not write the template:\n%s", b)
	}
	if _, errOut, code := runMote(t, "init", filepath.Join(dir, "nope")); code != 1 || !strings.Contains(errOut, "is not a directory") {
		t.Errorf("init of a missing directory: exit %d, %s", code, errOut)
	}
}

func TestMergePorts(t *testing.T) {
	if got := mergePorts([]string{"8080:8080"}, nil); strings.Join(got, " ") != "8080:8080" {
		t.Errorf("manifest only: %v", got)
	}
	if got := mergePorts([]string{"8080:8080"}, []string{"9000:8080"}); strings.Join(got, " ") != "9000:8080" {
		t.Errorf("flags replace the manifest's ports: %v", got)
	}
}
