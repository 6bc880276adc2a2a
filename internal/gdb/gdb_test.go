package gdb

import (
	"slices"
	"testing"
)

func TestSessionArgs(t *testing.T) {
	s := &Session{
		Image: "/img/app.img", Remote: "/run/gdb.sock", GOROOT: "/go", ModCache: "/mod cache",
		Sources:  map[string]string{"example.com/app": "/src/app", "example.com/app/sub": "/src/sub"},
		Commands: []string{"break main.main", "continue"}, Batch: true,
	}
	want := []string{
		"-q", "-iex", "set auto-load python-scripts off", "-batch",
		"-ex", "source /go/src/runtime/runtime-gdb.py",
		"-ex", "set substitute-path example.com/app/sub /src/sub",
		"-ex", "set substitute-path example.com/app /src/app",
		"-ex", "directory /go/src",
		"-ex", `directory "/mod cache"`,
		"-ex", "target remote /run/gdb.sock",
		"-ex", "break main.main", "-ex", "continue",
		"/img/app.img",
	}
	if got := s.Args(); !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}

func TestSessionWithoutGo(t *testing.T) {
	s := &Session{Image: "a.img", Remote: "127.0.0.1:1234"}
	want := []string{"-q", "-iex", "set auto-load python-scripts off", "-ex", "target remote 127.0.0.1:1234", "a.img"}
	if got := s.Args(); !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}
