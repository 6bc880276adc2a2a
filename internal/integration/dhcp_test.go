package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTapDHCP puts two guests on one bridge without --ip, with a DHCP server (testdata/dhcpd)
// on the bridge, inside a network namespace the test makes. The server guest takes a lease,
// renews it at T1, and serves HTTP at its address, which the test learns from the DHCP
// server's log; the client guest, also addressed by DHCP, fetches a page from it and shows
// what the lease gave it: the address, resolv.conf and hosts. Then the DHCP server stops: the
// server guest's lease runs out, and it takes a new one from a new server.
func TestTapDHCP(t *testing.T) {
	ns := tapNetwork(t, "dhcp", "10.9.0.1/24", "tap0", "tap1")
	t.Parallel()
	bin := buildMote(t)
	dhcpd := buildDHCPD(t)
	ctx, cancel := context.WithCancel(timeout(t))
	defer cancel()

	// A 20 s lease: T1, when the guest renews, is 10 s in.
	var leases syncBuffer
	srv := startDHCPD(t, ctx, ns, dhcpd, &leases)

	server := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run", "--net", "tap:tap0", prog(t, "httpload"))
	var serverOut syncBuffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Wait()
	defer cancel()

	m := waitMatch(t, &leases, regexp.MustCompile(`(?m)^ack (\S+) (\S+) httpload new$`), 3*time.Minute)
	if m == nil {
		t.Fatalf("no lease for the server guest\ndhcpd:\n%s\nserver guest:\n%s", leases.String(), serverOut.String())
	}
	addr := m[1]
	if !strings.Contains(serverOut.String(), "mote: dhcp: eth0 "+addr+"/24 router 10.9.0.1 dns 10.9.0.1 from 10.9.0.1, lease 20s") {
		t.Errorf("the server guest's console does not show its lease:\n%s", serverOut.String())
	}
	renew := regexp.MustCompile(`(?m)^ack ` + regexp.QuoteMeta(addr) + ` ` + regexp.QuoteMeta(m[2]) + ` httpload renew$`)
	if waitMatch(t, &leases, renew, 2*time.Minute) == nil {
		t.Errorf("the server guest did not renew its lease\ndhcpd:\n%s", leases.String())
	}

	client := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run", "--net", "tap:tap1",
		"-e", "FETCH_WAIT=5m", prog(t, "netinfo"), "--", "http://"+addr+":8080/from-dhcp")
	var clientErr strings.Builder
	client.Stderr = &clientErr
	out, err := client.Output()
	if err != nil || !strings.Contains(string(out), `200 OK "ok /from-dhcp"`) {
		t.Fatalf("client guest: %v\n%s\n%s\nserver guest:\n%s\ndhcpd:\n%s", err, out, clientErr.String(), serverOut.String(), leases.String())
	}
	cm := regexp.MustCompile(`(?m)^addr eth0 (10\.9\.0\.\d+)/24$`).FindStringSubmatch(string(out))
	if cm == nil || cm[1] == addr {
		t.Fatalf("client guest's eth0 address: %v (the server guest's is %s)\n%s", cm, addr, out)
	}
	for _, want := range []string{
		"/etc/resolv.conf: nameserver 10.9.0.1\n",
		"/etc/hosts: " + cm[1] + "\tnetinfo\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("client guest: no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(clientErr.String(), "mote: dhcp: eth0 "+cm[1]+"/24 router 10.9.0.1") {
		t.Errorf("client guest's console does not show its lease:\n%s", clientErr.String())
	}
	if !regexp.MustCompile(`(?m)^ack ` + regexp.QuoteMeta(cm[1]) + ` \S+ netinfo new$`).MatchString(leases.String()) {
		t.Errorf("dhcpd did not lease %s to the client guest:\n%s", cm[1], leases.String())
	}

	// The server goes away: the lease runs out and the guest says so; a server again: a new
	// lease.
	srv.Process.Kill()
	srv.Wait()
	lost := regexp.MustCompile(`mote: dhcp: lease on eth0 lost`)
	if waitMatch(t, &serverOut, lost, 2*time.Minute) == nil {
		t.Fatalf("the server guest did not give up its lease without a server:\n%s", serverOut.String())
	}
	var again syncBuffer
	startDHCPD(t, ctx, ns, dhcpd, &again)
	if waitMatch(t, &again, regexp.MustCompile(`(?m)^ack \S+ `+regexp.QuoteMeta(m[2])+` httpload new$`), 3*time.Minute) == nil {
		t.Fatalf("no new lease for the server guest\ndhcpd:\n%s\nserver guest:\n%s", again.String(), serverOut.String())
	}
	if waitMatch(t, &serverOut, regexp.MustCompile(`(?s)lease on eth0 lost.*mote: dhcp: eth0 `), time.Minute) == nil {
		t.Errorf("the server guest's console does not show its new lease:\n%s", serverOut.String())
	}
}

// startDHCPD runs the tests' DHCP server with a 20 s lease on br0 in the namespace ns,
// printing to out; it is killed when ctx ends.
func startDHCPD(t *testing.T, ctx context.Context, ns, dhcpd string, out *syncBuffer) *exec.Cmd {
	t.Helper()
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", ns, dhcpd, "-iface", "br0",
		"-server", "10.9.0.1", "-first", "10.9.0.100", "-lease", "20s")
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	return srv
}

// TestTapDHCPNoServer boots a guest on a tap without --ip and without a DHCP server: the
// console says so after 10 s, the app starts without an address, and its connection off the
// guest fails with ENETUNREACH.
func TestTapDHCPNoServer(t *testing.T) {
	ns := tapNetwork(t, "nodhcp", "", "tap0")
	t.Parallel()
	bin := buildMote(t)
	ctx, cancel := context.WithTimeout(timeout(t), 3*time.Minute)
	defer cancel()
	start := time.Now()
	guest := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run", "--net", "tap:tap0",
		prog(t, "netinfo"), "--", "http://10.9.0.1:8080/")
	var errOut strings.Builder
	guest.Stderr = &errOut
	out, err := guest.Output()
	took := time.Since(start)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1 (the fetch failed)", err)
	}
	if !strings.Contains(errOut.String(), "mote: dhcp: no answer on eth0 after 10s") {
		t.Errorf("no message about DHCP on the console:\n%s", errOut.String())
	}
	if !strings.Contains(string(out), "connect: network is unreachable") {
		t.Errorf("the fetch did not fail with ENETUNREACH:\n%s", out)
	}
	if strings.Contains(string(out), "addr eth0") || strings.Contains(string(out), "nameserver") {
		t.Errorf("the guest has an address or a name server without a lease:\n%s", out)
	}
	if took < 10*time.Second {
		t.Errorf("the guest gave up on DHCP after %v, before 10 s", took)
	}
	t.Logf("no DHCP server: the guest exited after %v", took.Round(time.Millisecond))
}

// buildDHCPD builds testdata/dhcpd, the tests' DHCP server.
func buildDHCPD(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dhcpd")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/dhcpd").CombinedOutput(); err != nil {
		t.Fatalf("building dhcpd: %v\n%s", err, out)
	}
	return bin
}

// waitMatch polls buf until re matches, and returns the match, or nil after d.
func waitMatch(t *testing.T, buf *syncBuffer, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
	}
	return nil
}
