package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/volume"
)

// TestVolumeCommands: create, ls, inspect, and rm refused while a running instance mounts
// the volume, then allowed once it has exited.
func TestVolumeCommands(t *testing.T) {
	dir := t.TempDir()
	if out, stderr, code := runState(t, dir, "volume", "create", "app"); code != 0 || out != "app\n" {
		t.Fatalf("create: exit %d %q %q", code, out, stderr)
	}
	if _, stderr, code := runState(t, dir, "volume", "create", "bad/name"); code == 0 || !strings.Contains(stderr, "invalid volume name") {
		t.Errorf("create bad/name: exit %d %q", code, stderr)
	}
	s, _ := instance.Open(dir)
	cfg, _ := json.Marshal(bootConfig{Volumes: []volume.Mount{{Spec: volume.Spec{Source: "app", Guest: "/data", Named: true}}}})
	st := &instance.State{Name: "db", Status: instance.Running, Created: time.Now(), Started: time.Now(),
		Supervisor: instance.Self(), VMM: instance.Self(), Config: cfg}
	in, err := s.Create(st)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runState(t, dir, "volume", "ls")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "app") || !strings.Contains(out, " db ") {
		t.Errorf("ls: exit %d\n%s", code, out)
	}
	if out, _, _ := runState(t, dir, "volume", "ls", "-q"); out != "app\n" {
		t.Errorf("ls -q: %q", out)
	}
	out, _, code = runState(t, dir, "volume", "inspect", "app")
	var got []volumeInspect
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got) != 1 || got[0].Name != "app" ||
		got[0].Data != filepath.Join(dir, "volumes", "app", "data") || len(got[0].UsedBy) != 1 {
		t.Errorf("inspect: exit %d %v\n%s", code, err, out)
	}
	if _, stderr, code := runState(t, dir, "volume", "rm", "app"); code != 1 || !strings.Contains(stderr, "in use by db; stop it first (mote stop db)") {
		t.Errorf("rm in use: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "volumes", "app", "data")); err != nil {
		t.Fatal("a refused rm removed data")
	}
	st.Status, st.Finished = instance.Exited, time.Now()
	in.Save(st)
	if out, stderr, code := runState(t, dir, "volume", "rm", "app"); code != 0 || out != "app\n" {
		t.Errorf("rm: exit %d %q %q", code, out, stderr)
	}
	// The volumes directory is not an instance.
	if out, _, _ := runState(t, dir, "ps", "-a", "-q"); strings.Contains(out, "volumes") {
		t.Errorf("ps lists the volumes directory: %q", out)
	}
}

// TestVolumeDryRun: -v and the manifest's volumes become QEMU devices and kernel parameters; a
// manifest's relative directory is the package's; -v flags replace the manifest's list.
func TestVolumeDryRun(t *testing.T) {
	app := appDir(t, map[string]string{"mote.yaml": "volumes: [./data:/data:ro]\n", "data/f": "x"})
	out, stderr, code := runMote(t, "run", "--dry-run", app)
	wantDev := "-fsdev local,id=vol0,path=" + filepath.Join(app, "data") + ",security_model=none,readonly=on -device virtio-9p-device,fsdev=vol0,mount_tag=vol0"
	if code != 0 || !strings.Contains(out, wantDev) || !strings.Contains(out, "vol=vol0:/data:ro") {
		t.Errorf("manifest volume: exit %d\n%s\n%s", code, out, stderr)
	}
	other := t.TempDir()
	out, stderr, code = runMote(t, "run", "--dry-run", "--machine", "q35", "-v", other+":/srv", app)
	if code != 0 || strings.Contains(out, "/data") || !strings.Contains(out, "virtio-9p-pci,fsdev=vol0,mount_tag=vol0,disable-legacy=on") ||
		!strings.Contains(out, "vol=vol0:/srv") {
		t.Errorf("-v over the manifest: exit %d\n%s\n%s", code, out, stderr)
	}
}
