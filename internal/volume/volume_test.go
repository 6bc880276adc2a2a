package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  string
	}{
		{in: "/srv/data:/data", want: Spec{Source: "/srv/data", Guest: "/data"}},
		{in: "./data:/var/lib/app/:ro", want: Spec{Source: "./data", Guest: "/var/lib/app", ReadOnly: true}},
		{in: "../x:/x:rw", want: Spec{Source: "../x", Guest: "/x"}},
		{in: "~/x:/x", want: Spec{Source: "~/x", Guest: "/x"}},
		{in: "pgdata:/data", want: Spec{Source: "pgdata", Guest: "/data", Named: true}},
		{in: "pg.data-1:/data:ro", want: Spec{Source: "pg.data-1", Guest: "/data", ReadOnly: true, Named: true}},
		{in: "data", err: "one or two ':'"},
		{in: "a:b:c:d", err: "one or two ':'"},
		{in: ":/data", err: "no host directory or volume name"},
		{in: "/x:/data:rx", err: `unknown option "rx"`},
		{in: "/x:data", err: "absolute path"},
		{in: "/x:/", err: "over the guest's root"},
		{in: "/x:/a/..", err: "over the guest's root"},
		{in: "/x:/proc/x", err: "belongs to the kernel"},
		{in: "/x:/dev", err: "belongs to the kernel"},
		{in: "/x:/etc", err: "belongs to the kernel"},
		{in: "/x:/etc/app:ro", want: Spec{Source: "/x", Guest: "/etc/app", ReadOnly: true}},
		{in: "bad name:/x", err: "neither a path"},
		{in: "-x:/x", err: "neither a path"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q): %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseAll(t *testing.T) {
	if _, err := ParseAll([]string{"/a:/data", "/b:/data/sub"}); err == nil {
		t.Error("a volume inside another was accepted")
	}
	if _, err := ParseAll([]string{"/a:/data", "/b:/data"}); err == nil {
		t.Error("two volumes at one path were accepted")
	}
	if _, err := ParseAll([]string{"/a:/data", "/b:/database"}); err != nil {
		t.Error(err)
	}
	many := make([]string, MaxMounts+1)
	for i := range many {
		many[i] = "/a:/d" + string(rune('a'+i))
	}
	if _, err := ParseAll(many); err == nil {
		t.Error("more than MaxMounts accepted")
	}
}

func TestHostDir(t *testing.T) {
	dir := t.TempDir()
	if got, err := HostDir(dir); err != nil || got != dir {
		t.Errorf("HostDir(%s) = %s, %v", dir, got, err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := HostDir(missing); err == nil || !strings.Contains(err.Error(), "mkdir -p "+missing) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("HostDir created the missing directory")
	}
	f := filepath.Join(dir, "f")
	os.WriteFile(f, nil, 0o644)
	if _, err := HostDir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
}

func TestStore(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Create("app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("app"); err == nil {
		t.Error("created twice")
	}
	if _, err := s.Create("../x"); err == nil {
		t.Error("a bad name was accepted")
	}
	os.WriteFile(filepath.Join(v.Data, "f"), []byte("12345"), 0o644)
	got, err := s.Get("app")
	if err != nil || got.Data != v.Data || !got.Created.Equal(v.Created) || got.Size() != 5 {
		t.Errorf("Get: %+v %v", got, err)
	}
	var nf *NotFoundError
	if _, err := s.Get("other"); !errors.As(err, &nf) || !strings.Contains(err.Error(), "mote volume create other") {
		t.Errorf("Get of an unknown name: %v", err)
	}
	mounts, err := Resolve([]Spec{{Source: "app", Guest: "/d", Named: true}}, s)
	if err != nil || mounts[0].Host != v.Data {
		t.Errorf("Resolve: %+v %v", mounts, err)
	}

	// Damage: unreadable metadata, then a missing data directory. Nothing is deleted.
	meta := filepath.Join(s.Root, "app", metaFile)
	os.WriteFile(meta, []byte("{"), 0o600)
	var ce *CorruptError
	if _, err := s.Get("app"); !errors.As(err, &ce) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("damaged metadata: %v", err)
	}
	if _, err := os.Stat(filepath.Join(v.Data, "f")); err != nil {
		t.Error("a damaged volume lost data")
	}
	os.WriteFile(meta, []byte(`{"name":"app"}`), 0o600)
	os.Rename(v.Data, v.Data+".moved")
	if _, err := s.Get("app"); !errors.As(err, &ce) {
		t.Errorf("missing data directory: %v", err)
	}
	names, _ := s.Names()
	if len(names) != 1 || names[0] != "app" {
		t.Errorf("Names: %v", names)
	}
	if err := s.Remove("app"); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.Names(); len(names) != 0 {
		t.Errorf("after Remove: %v", names)
	}
	if err := s.Remove("app"); !errors.As(err, &nf) {
		t.Errorf("second Remove: %v", err)
	}
}
