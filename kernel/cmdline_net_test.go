package kernel

import "testing"

func TestParseIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.2.15":       "10.0.2.15",
		"255.255.255.255": "255.255.255.255",
		"0.0.0.0":         "0.0.0.0",
		"1.2.3":           "",
		"1.2.3.4.5":       "",
		"256.1.1.1":       "",
		"1..2.3":          "",
		"1.2.3.4 ":        "",
		"0001.2.3.4":      "",
		"":                "",
	} {
		var a [4]byte
		got := ""
		if parseIPv4([]byte(in), &a) {
			got = fmtIP(&a)
		}
		if got != want {
			t.Errorf("parseIPv4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{
		"10.9.0.2/24": "10.9.0.2/24",
		"10.9.0.2/32": "10.9.0.2/32",
		"10.9.0.2/0":  "",
		"10.9.0.2/33": "",
		"10.9.0.2/":   "",
		"10.9.0.2":    "",
		"x/24":        "",
	} {
		var a [4]byte
		var p uint8
		got := ""
		if parseCIDR([]byte(in), &a, &p) {
			got = fmtIP(&a) + "/" + string(rune('0'+p/10)) + string(rune('0'+p%10))
			if p < 10 {
				got = fmtIP(&a) + "/" + string(rune('0'+p))
			}
		}
		if got != want {
			t.Errorf("parseCIDR(%q) = %q, want %q", in, got, want)
		}
	}
}

func fmtIP(a *[4]byte) string {
	var b [15]byte
	return string(b[:formatIPv4(a, b[:])])
}
