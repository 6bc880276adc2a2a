package kernel

import (
	"encoding/base64"
	hashcrc "hash/crc32"
	"testing"
)

func TestBase64Quad(t *testing.T) {
	data := []byte("mote\x00\xff\xfe agent channel")
	for n := 0; n <= len(data); n++ {
		p := data[:n]
		var got []byte
		for len(p) > 0 {
			q := base64Quad(p)
			got = append(got, q[:]...)
			p = p[min(len(p), 3):]
		}
		if want := base64.StdEncoding.EncodeToString(data[:n]); string(got) != want {
			t.Errorf("%q: %s, want %s", data[:n], got, want)
		}
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in string
		id uint32
		ok bool
	}{
		{"0", 0, true}, {"7", 7, true}, {"999999999", 999999999, true},
		{"", 0, false}, {"1234567890", 0, false}, {"-1", 0, false}, {"1a", 0, false},
	} {
		id, ok := parseID([]byte(tc.in))
		if id != tc.id || ok != tc.ok {
			t.Errorf("parseID(%q) = %d, %v; want %d, %v", tc.in, id, ok, tc.id, tc.ok)
		}
	}
}

func TestCRC32(t *testing.T) {
	for _, s := range []string{"", "a", "mote", "the kernel channel carries the agent's answers\x00\xff"} {
		if got, want := crc32([]byte(s)), hashcrc.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("crc32(%q) = %08x, want %08x", s, got, want)
		}
	}
}
