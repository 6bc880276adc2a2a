package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// tapNetwork makes a network namespace for a test (never the host's own interfaces) with a
// bridge br0 and the named tap devices on it; brAddr, if set, is the bridge's own address. It
// returns the namespace's name.
func tapNetwork(t *testing.T, suffix, brAddr string, taps ...string) string {
	t.Helper()
	needQEMU(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a network namespace with a bridge and tap devices")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (apt-get install iproute2)")
	}
	ns := fmt.Sprintf("mote-test-%d-%s", os.Getpid(), suffix)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	in := func(args ...string) { t.Helper(); sh(append([]string{"ip", "netns", "exec", ns}, args...)...) }
	in("ip", "link", "add", "br0", "type", "bridge")
	for _, tap := range taps {
		in("ip", "tuntap", "add", "dev", tap, "mode", "tap")
		in("ip", "link", "set", tap, "master", "br0")
		in("ip", "link", "set", tap, "up")
	}
	if brAddr != "" {
		in("ip", "addr", "add", brAddr, "dev", "br0")
	}
	in("ip", "link", "set", "br0", "up")
	return ns
}

// TestTapBridge puts two guests on one bridge, each on its own tap device with a static
// address, inside a network namespace the test makes: the client guest fetches a page from
// the server guest.
func TestTapBridge(t *testing.T) {
	ns := tapNetwork(t, "static", "", "tap0", "tap1")
	t.Parallel()
	bin := buildMote(t)
	ctx, cancel := context.WithCancel(timeout(t))
	defer cancel()
	server := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run",
		"--net", "tap:tap0", "--ip", "10.9.0.2/24", prog(t, "httpload"))
	var serverOut syncBuffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Wait()
	defer cancel()
	client := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run",
		"--net", "tap:tap1", "--ip", "10.9.0.3/24", "-e", "FETCH_WAIT=5m",
		prog(t, "fetch"), "--", "http://10.9.0.2:8080/from-the-other-guest")
	out, err := client.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `200 OK "ok /from-the-other-guest"`) {
		t.Errorf("client guest: %v\n%s\nserver guest:\n%s", err, out, serverOut.String())
	}
}
