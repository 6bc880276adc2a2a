package cli

import (
	"strings"
	"testing"
)

func TestTapOptions(t *testing.T) {
	tests := []struct {
		o       vmOptions
		tap     string
		wantErr string
	}{
		{vmOptions{}, "", ""},
		{vmOptions{net: "user"}, "", ""},
		{vmOptions{net: "tap:tap0"}, "tap0", ""}, // DHCP
		{vmOptions{net: "tap:tap0", ip: "10.9.0.2/24", gw: "10.9.0.1", dns: "10.9.0.1"}, "tap0", ""},
		{vmOptions{net: "tap:tap0", gw: "10.9.0.1"}, "", "--gw and --dns go with --ip"},
		{vmOptions{net: "tap:tap0", dns: "10.9.0.1"}, "", "--gw and --dns go with --ip"},
		{vmOptions{net: "tap:tap0", ip: "10.9.0.2"}, "", "want an IPv4 address with its prefix length"},
		{vmOptions{ip: "10.9.0.2/24"}, "", "configure the guest on a tap network"},
		{vmOptions{net: "tap:"}, "", "tap:IFNAME"},
	}
	for _, tc := range tests {
		tap, err := tapOptions(&tc.o)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.wantErr)
		case tap != tc.tap:
			t.Errorf("%+v: tap %q, want %q", tc.o, tap, tc.tap)
		}
	}
}

// TestTapCmdline checks what the kernel is told: ip=dhcp without --ip, the addresses with it.
func TestTapCmdline(t *testing.T) {
	c := &CLI{}
	g := guestSpec{image: "x.img", memory: "128M"}
	for _, tc := range []struct {
		o         vmOptions
		want, not string
	}{
		{vmOptions{net: "tap:tap0", accel: "tcg"}, "ip=dhcp", "gw="},
		{vmOptions{net: "tap:tap0", ip: "10.9.0.2/24", gw: "10.9.0.1", accel: "tcg"}, "ip=10.9.0.2/24 gw=10.9.0.1", "dhcp"},
		{vmOptions{accel: "tcg"}, "", "ip="},
	} {
		cfg, _, err := c.guestConfig(&tc.o, g)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cfg.Cmdline, tc.want) || strings.Contains(cfg.Cmdline, tc.not) {
			t.Errorf("%+v: command line %q, want %q and no %q", tc.o, cfg.Cmdline, tc.want, tc.not)
		}
	}
}
