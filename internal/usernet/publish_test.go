package usernet

import (
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Publish
		err  string
	}{
		{in: "8080:80", want: Publish{Proto: "tcp", HostPort: 8080, GuestPort: 80}},
		{in: "127.0.0.1:8080:80", want: Publish{Proto: "tcp", HostIP: "127.0.0.1", HostPort: 8080, GuestPort: 80}},
		{in: "[::1]:53:53/udp", want: Publish{Proto: "udp", HostIP: "::1", HostPort: 53, GuestPort: 53}},
		{in: "8080", err: "want [HOSTIP:]HOSTPORT:GUESTPORT"},
		{in: "8080:80/sctp", err: `protocol "sctp"`},
		{in: "0:80", err: "host port"},
		{in: "80:70000", err: "guest port"},
		{in: "example.com:80:80", err: "not an IP address"},
	} {
		got, err := ParsePublish(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePublish(%q) = %v, want an error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
