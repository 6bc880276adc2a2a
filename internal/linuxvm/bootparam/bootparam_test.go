package bootparam

import (
	"reflect"
	"strings"
	"testing"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	for _, c := range []Config{
		{},
		{Args: []string{"/app", "hello"}},
		{Args: []string{"/app", "two words", `"quoted"`, "100%", "tab\there", "ünï", ""}, Env: []string{"A=1", "B=x y"}},
		{Args: []string{"/app"}, Net: UserNet()},
	} {
		toks := Encode(c)
		for _, tok := range toks {
			if strings.ContainsAny(tok, " \t\n\"") {
				t.Errorf("token %q holds a byte the kernel would split or unquote", tok)
			}
		}
		line := "console=ttyS0 panic=-1 virtio_mmio.device=512@0xfeb00e00:12 " + strings.Join(toks, " ") + " quiet"
		got, err := Parse(line)
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %+v gave %+v (line %q)", c, got, line)
		}
	}
}

func TestEncodeFixed(t *testing.T) {
	got := strings.Join(Encode(Config{Args: []string{"/app", "a b"}, Env: []string{"K=%"}, Net: UserNet()}), " ")
	want := "mote.arg=/app mote.arg=a%20b mote.env=K=%25 mote.ip=10.0.2.15/24 mote.gw=10.0.2.2 mote.dns=10.0.2.3"
	if got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		"mote.arg=%4",
		"mote.arg=%zz",
		"mote.bogus=1",
		"mote.ip=10.0.2.15",
		"mote.ip=::1/64",
		"mote.gw=10.0.2.2",
		"mote.ip=10.0.2.15/24 mote.dns=x",
	} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", line)
		}
	}
}

func TestParseStopsAtDoubleDash(t *testing.T) {
	c, err := Parse("mote.arg=a -- mote.arg=b")
	if err != nil || !reflect.DeepEqual(c.Args, []string{"a"}) {
		t.Errorf("Parse = %+v, %v; want args [a]", c, err)
	}
}

func TestModuleParams(t *testing.T) {
	line := "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 virtio-mmio.device=512@0xfeb00c00:11 virtio_net.napi_tx=1 virtio_mmio_x.y=1 -- virtio_mmio.device=no"
	if got, want := ModuleParams(line, "virtio_mmio"), "device=512@0xfeb00e00:12 device=512@0xfeb00c00:11"; got != want {
		t.Errorf("ModuleParams(virtio_mmio) = %q, want %q", got, want)
	}
	if got := ModuleParams(line, "failover"); got != "" {
		t.Errorf("ModuleParams(failover) = %q, want none", got)
	}
}

func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"", "a%20b", "%", "%4", "%zz", "%%", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := Unescape(Escape(s)); err != nil || u != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, u, err)
		}
		u, err := Unescape(s)
		if err != nil {
			return
		}
		if again, err := Unescape(Escape(u)); err != nil || again != u {
			t.Fatalf("round trip of %q failed", u)
		}
	})
}
