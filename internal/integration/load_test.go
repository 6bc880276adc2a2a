// The load test of the networking acceptance: the slowest integration test (about 90 s under
// TCG), most of it waiting out netstack's TIME_WAIT before the heap check.

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTPLoad: 10,000 keep-alive requests and 2,000 fresh connections, 64 at a time, all
// answered correctly; a handler that dereferences nil closes its connection and the server
// goes on; 1,000 UDP datagrams echo; afterwards the guest's descriptors are back where they
// began and its heap comes back down (netstack keeps closed connections in TIME_WAIT a minute).
func TestHTTPLoad(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	ctx, cancel := context.WithCancel(timeout(t))
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- mote(ctx, t, "", "run", "-p", fmt.Sprintf("127.0.0.1:%d:8080", tcpPort),
			"-p", fmt.Sprintf("127.0.0.1:%d:9000/udp", udpPort), prog(t, "httpload"))
	}()
	defer func() { cancel(); <-done }()
	base := fmt.Sprintf("http://127.0.0.1:%d", tcpPort)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	get := func(c *http.Client, path string) (string, error) {
		resp, err := c.Get(base + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	var stats string
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if stats, err = get(client, "/stats"); err == nil {
			break
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("the guest never answered: %v", err)
		}
	}
	var fds0, heap0 int
	fmt.Sscanf(stats, "%d %d", &fds0, &heap0)

	load := func(c *http.Client, n int) int64 {
		var ok atomic.Int64
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 64 {
			wg.Go(func() {
				for i := range jobs {
					if body, err := get(c, fmt.Sprintf("/r%d", i)); err == nil && body == fmt.Sprintf("ok /r%d", i) {
						ok.Add(1)
					}
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		return ok.Load()
	}
	if n := load(client, 10000); n != 10000 {
		t.Errorf("keep-alive: %d of 10000 requests answered correctly", n)
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	if n := load(fresh, 2000); n != 2000 {
		t.Errorf("fresh connections: %d of 2000 requests answered correctly", n)
	}
	if body, err := get(fresh, "/nil"); err == nil {
		t.Errorf("a handler that dereferences nil answered %q; want a closed connection or a 500", body)
	}
	if body, err := get(fresh, "/after"); err != nil || body != "ok /after" {
		t.Errorf("after the nil handler: %q, %v", body, err)
	}

	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	good, buf := 0, make([]byte, 64)
	for i := range 1000 {
		msg := fmt.Sprintf("datagram %d", i)
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if k, err := c.Read(buf); err == nil && string(buf[:k]) == msg {
			good++
		}
	}
	c.Close()
	if good != 1000 {
		t.Errorf("UDP echo: %d of 1000 datagrams came back", good)
	}

	client.CloseIdleConnections()
	var fds, heap int
	for start := time.Now(); time.Since(start) < 3*time.Minute; time.Sleep(5 * time.Second) {
		if stats, err := get(fresh, "/stats"); err == nil {
			fmt.Sscanf(stats, "%d %d", &fds, &heap)
		}
		if fds <= fds0 && heap < heap0+4<<20 {
			break
		}
	}
	if fds > fds0 || heap >= heap0+4<<20 {
		t.Errorf("after the load: %d descriptors (began with %d), heap %d bytes (began with %d)", fds, fds0, heap, heap0)
	}
}
