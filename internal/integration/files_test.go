package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFiles boots examples/files, which serves a directory copied into its image with
// http.FileServer and reads a configuration file whose path its manifest gives, and fetches
// its pages through -p:
//   - image: built by mote build from the example's mote.yaml, from a copy of the example
//     that is deleted before the boot, so the image alone carries the files; run on microvm;
//   - manifest: mote run PKG with -f (another manifest, which publishes the port) and a
//     --copy on top of it, on q35.
func TestFiles(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	t.Run("image", func(t *testing.T) {
		t.Parallel()
		src := filepath.Join(t.TempDir(), "files")
		if err := os.CopyFS(src, os.DirFS(repo(t, "examples/files"))); err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(t.TempDir(), "files.img")
		if r := mote(timeout(t), t, "", "build", "-o", img, src); r.code != 0 {
			t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
		}
		if err := os.RemoveAll(src); err != nil {
			t.Fatal(err)
		}
		port := freePort(t, "tcp")
		serve(t, port, []string{"run", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), img}, map[string]string{
			"/css/site.css": "h1 { font-family: sans-serif; }\n",
			"/home.html":    "<!doctype html>\n<title>mote files</title>\n<link rel=\"stylesheet\" href=\"css/site.css\">\n<h1>Served from the image's own files</h1>\n",
			"/config":       "hello from a file in the image (config /etc/files/config.json, working directory /srv/www)\n",
		})
	})
	t.Run("manifest", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		port := freePort(t, "tcp")
		manifest := filepath.Join(dir, "run.yaml")
		os.WriteFile(manifest, []byte(fmt.Sprintf(`name: files2
args: ["-config", "/etc/files2.json"]
copy:
  - static:/srv/site
  - config.json:/etc/files2.json
workdir: /srv/site
ports: ["127.0.0.1:%d:8080"]
`, port)), 0o644)
		extra := filepath.Join(dir, "extra.txt")
		os.WriteFile(extra, []byte("added by --copy\n"), 0o644)
		serve(t, port, []string{"run", "--machine", "q35", "-f", manifest, "--copy", extra + ":/srv/site/", repo(t, "examples/files")}, map[string]string{
			"/extra.txt": "added by --copy\n",
			"/config":    "hello from a file in the image (config /etc/files2.json, working directory /srv/site)\n",
		})
	})
}

// serve runs mote with args until every path in want has been fetched from the host's port
// with the body given, then stops the guest.
func serve(t *testing.T, port int, args []string, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(timeout(t))
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- mote(ctx, t, "", args...) }()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	up := false
	for start := time.Now(); !up && time.Since(start) < 5*time.Minute; time.Sleep(500 * time.Millisecond) {
		select {
		case r := <-done:
			t.Fatalf("guest ended early: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		default:
		}
		_, _, err := get("/config")
		up = err == nil
	}
	var failed bool
	for path, body := range want {
		code, got, err := get(path)
		if err != nil || code != 200 || got != body {
			t.Errorf("GET %s: %d %q, %v; want 200 %q", path, code, got, err, body)
			failed = true
		}
	}
	cancel()
	r := <-done
	if failed || !up {
		t.Errorf("up %v; exit %d\nstdout:\n%s\nstderr:\n%s", up, r.code, r.stdout, r.stderr)
	}
}
