package cmdline

import (
	"slices"
	"testing"
)

func TestEncode(t *testing.T) {
	got, err := Encode([]Param{
		{"arg", "hello"},
		{"arg", "two words"},
		{"env", "GREETING=hi 100%"},
		{"cwd", "/src/sort"},
		{"tsc_khz", "2400000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "arg=hello arg=two%20words env=GREETING%3Dhi%20100%25 cwd=/src/sort tsc_khz=2400000"
	if got != want {
		t.Errorf("Encode:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeRejectsBadKey(t *testing.T) {
	for _, k := range []string{"", "Arg", "a b", "a=b"} {
		if _, err := Encode([]Param{{k, "v"}}); err == nil {
			t.Errorf("Encode accepted key %q", k)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	in := []Param{{"arg", ""}, {"arg", "\x00\xff\n\t \"'%="}, {"env", "A=B=C"}, {"arg", "ünïcode"}}
	s, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Errorf("round trip: got %q, want %q", out, in)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, s := range []string{"noequals", "arg=%4", "arg=%zz", "BAD=1"} {
		if _, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) succeeded", s)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("hello world")
	f.Add("%%=\x00")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := Encode([]Param{{"arg", v}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Decode(s)
		if err != nil {
			t.Fatalf("Decode(%q): %v", s, err)
		}
		if len(out) != 1 || out[0].Value != v {
			t.Fatalf("round trip of %q gave %q", v, out)
		}
	})
}
