package usernet

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// resolvConf is where the host's name servers are listed.
var resolvConf = "/etc/resolv.conf"

// dnsTimeout bounds one query to the host's name server.
const dnsTimeout = 5 * time.Second

// hostNameserver is the first name server of the host's resolv.conf. A
// loopback one (such as a local caching resolver) works too: the query
// leaves from the host.
func hostNameserver() (string, error) {
	f, err := os.Open(resolvConf)
	if err != nil {
		return "", fmt.Errorf("no name server for the guest: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" && net.ParseIP(fields[1]) != nil {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("no name server for the guest: %s lists none", resolvConf)
}

// serveDNS answers one guest flow's queries until it is idle.
func (n *Network) serveDNS(c net.Conn) {
	defer n.track(c)()
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		c.SetReadDeadline(time.Now().Add(udpIdle))
		k, err := c.Read(buf)
		if err != nil {
			return
		}
		if reply := n.answer(buf[:k]); reply != nil {
			c.Write(reply)
		}
	}
}

// answer answers a query for HostName itself and asks the host's name server
// everything else; nil drops a query that cannot be answered, which the
// guest's resolver retries or times out.
func (n *Network) answer(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil
	}
	if len(qs) == 1 && strings.EqualFold(strings.TrimSuffix(qs[0].Name.String(), "."), HostName) {
		return localAnswer(h, qs[0])
	}
	return n.askHost(q, h, qs)
}

// localAnswer is the gateway's address for HostName (and no records of other
// types, which is what an A-only name has).
func localAnswer(h dnsmessage.Header, q dnsmessage.Question) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
	})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: Gateway.As4()})
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// askHost passes a query to the host's name server; when that fails, the
// guest gets SERVFAIL at once rather than waiting out its own timeout.
func (n *Network) askHost(q []byte, h dnsmessage.Header, qs []dnsmessage.Question) []byte {
	ns, err := hostNameserver()
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("udp", net.JoinHostPort(ns, "53"), dnsTimeout); err == nil {
			defer c.Close()
			c.SetDeadline(time.Now().Add(dnsTimeout))
			if _, err = c.Write(q); err == nil {
				buf := make([]byte, 65536)
				var k int
				if k, err = c.Read(buf); err == nil {
					return buf[:k]
				}
			}
		}
	}
	n.logf("network: name server for the guest: %v", err)
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, RCode: dnsmessage.RCodeServerFailure,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
	})
	b.StartQuestions()
	for _, q := range qs {
		b.Question(q)
	}
	msg, _ := b.Finish()
	return msg
}
