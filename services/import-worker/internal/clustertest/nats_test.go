//go:build cluster

package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/faultproxy"
)

// buildNATSServer builds the nats-server binary of the version go.mod pins.
func buildNATSServer(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// handedPorts are the ports fixedPort has handed out in this process: each once, since a port
// handed out is free again until its server starts (two servers' ports once drew the same one).
var handedPorts sync.Map

// fixedPort is a free loopback port below the kernel's ephemeral range, so that no outgoing
// connection or ":0" listener on the machine takes it while a server restarts on it.
func fixedPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if _, handed := handedPorts.LoadOrStore(port, true); handed {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_ = l.Close()
			return port
		}
	}
	t.Fatal("no free port below 32000")
	return 0
}

// natsNode is one nats-server of the cluster.
type natsNode struct {
	name                   string
	port, clusterPort, mon int
	conf, dir              string
	proc                   *proc
	in                     *faultproxy.Proxy            // in front of its cluster port: what it advertises
	out                    map[string]*faultproxy.Proxy // its routes to the others, by their name
}

// natsCluster is three nats-server processes, routed through proxies so that one can be cut
// off from the other two while it runs.
type natsCluster struct {
	owner testing.TB // the test the servers live as long as
	bin   string
	nodes []*natsNode
	logs  *logging.Buffer
}

// startNATSCluster starts three clustered JetStream servers on file storage. Every route
// goes through a proxy of its own (one per ordered pair of servers), and each server
// advertises a proxy in front of its cluster port instead of the port, so a route found by
// gossip crosses a proxy too: taking a server's five proxies down cuts it off completely,
// while it keeps running, its store and its view of the cluster intact.
func startNATSCluster(t testing.TB, bin string) *natsCluster {
	t.Helper()
	c := &natsCluster{owner: t, bin: bin, logs: &logging.Buffer{}}
	dir := t.TempDir()
	for i := range 3 {
		n := &natsNode{name: "n" + strconv.Itoa(i+1), port: fixedPort(t), clusterPort: fixedPort(t), mon: fixedPort(t),
			dir: filepath.Join(dir, "n"+strconv.Itoa(i+1)), out: map[string]*faultproxy.Proxy{}}
		n.in = faultproxy.Start(t, n.name+"-in", "127.0.0.1:"+strconv.Itoa(n.clusterPort))
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		var routes []string
		for _, o := range c.nodes {
			if o != n {
				p := faultproxy.Start(t, n.name+"-to-"+o.name, "127.0.0.1:"+strconv.Itoa(o.clusterPort))
				n.out[o.name] = p
				routes = append(routes, strconv.Quote("nats-route://"+p.Addr()))
			}
		}
		n.conf = filepath.Join(dir, n.name+".conf")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q, sync_interval: always }
cluster {
  name: posimport
  listen: 127.0.0.1:%d
  advertise: %q
  routes: [%s]
}
`, n.name, n.port, n.mon, n.dir, n.clusterPort, n.in.Addr(), strings.Join(routes, ", "))
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.nodes {
		c.start(t, n)
	}
	c.waitMetaLeader(t, 2*time.Minute)
	for _, n := range c.nodes {
		c.waitHealthy(t, n)
	}
	return c
}

// waitHealthy waits for the server's /healthz to answer 200 (JetStream current with the
// cluster), the readiness probe of NATS's Helm chart.
func (c *natsCluster) waitHealthy(t testing.TB, n *natsNode) {
	t.Helper()
	cl := http.Client{Timeout: 2 * time.Second}
	waitFor(t, 2*time.Minute, "nats-server "+n.name+" healthy", func() bool {
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.mon))
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (c *natsCluster) start(t testing.TB, n *natsNode) {
	t.Helper()
	n.proc = startProc(t, c.owner, c.bin, []string{"-c", n.conf}, nil, c.logs)
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.port), time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		if n.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("nats-server %s did not start: %v\n%s", n.name, err, tail(c.logs.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// URL is every server's client URL, for clients that fail over.
func (c *natsCluster) URL() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, "nats://127.0.0.1:"+strconv.Itoa(n.port))
	}
	return strings.Join(urls, ",")
}

func (c *natsCluster) node(t testing.TB, name string) *natsNode {
	t.Helper()
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	t.Fatalf("no nats-server %q", name)
	return nil
}

// jsz is the part of a server's /jsz answer the cases use.
type jsz struct {
	Meta struct {
		Leader string `json:"leader"`
	} `json:"meta_cluster"`
	Accounts []struct {
		Streams []struct {
			Name    string `json:"name"`
			Cluster struct {
				Leader string `json:"leader"`
			} `json:"cluster"`
		} `json:"stream_detail"`
	} `json:"account_details"`
}

// leaders asks the running servers for the meta leader and stream's leader ("" when unknown).
func (c *natsCluster) leaders(stream string) (meta, streamLeader string) {
	for _, n := range c.nodes {
		if n.proc == nil || n.proc.exited() {
			continue
		}
		cl := http.Client{Timeout: 2 * time.Second}
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz?accounts=true&streams=true", n.mon))
		if err != nil {
			continue
		}
		var j jsz
		err = json.NewDecoder(resp.Body).Decode(&j)
		_ = resp.Body.Close()
		if err != nil {
			continue
		}
		if meta == "" {
			meta = j.Meta.Leader
		}
		for _, a := range j.Accounts {
			for _, s := range a.Streams {
				if s.Name == stream && s.Cluster.Leader != "" {
					streamLeader = s.Cluster.Leader
				}
			}
		}
		if meta != "" && (stream == "" || streamLeader != "") {
			return meta, streamLeader
		}
	}
	return meta, streamLeader
}

func (c *natsCluster) waitMetaLeader(t testing.TB, timeout time.Duration) string {
	t.Helper()
	var meta string
	waitFor(t, timeout, "a JetStream meta leader", func() bool { meta, _ = c.leaders(""); return meta != "" })
	return meta
}

// streamLeader waits for the stream to have a leader and names it.
func (c *natsCluster) streamLeader(t testing.TB, stream string, timeout time.Duration) string {
	t.Helper()
	var l string
	waitFor(t, timeout, "a leader of stream "+stream, func() bool { _, l = c.leaders(stream); return l != "" })
	return l
}

// killAndRestart kills (SIGKILL) server name, waits down, and starts it again on the same
// ports and store.
func (c *natsCluster) killAndRestart(t testing.TB, name string, down time.Duration) {
	t.Helper()
	n := c.node(t, name)
	n.proc.kill()
	time.Sleep(down) // the outage itself
	c.start(t, n)
	c.waitHealthy(t, n)
}

// terminateAndRestart stops server name with SIGTERM (lame duck, then exit), then starts it
// again: a StatefulSet's rolling restart.
func (c *natsCluster) terminateAndRestart(t testing.TB, name string, grace time.Duration) {
	t.Helper()
	n := c.node(t, name)
	if code := n.proc.terminate(grace); code != 0 {
		t.Errorf("nats-server %s exited %d after SIGTERM", name, code)
	}
	c.start(t, n)
	c.waitHealthy(t, n)
}

// cutOff takes every proxy that carries a route to or from server name down: the server runs
// on, alone, and its clients stay connected to it.
func (c *natsCluster) cutOff(t testing.TB, name string) (heal func()) {
	t.Helper()
	n := c.node(t, name)
	var ps []*faultproxy.Proxy
	ps = append(ps, n.in)
	for _, p := range n.out {
		ps = append(ps, p)
	}
	for _, o := range c.nodes {
		if o != n {
			ps = append(ps, o.out[name])
		}
	}
	for _, p := range ps {
		p.Down()
	}
	return func() {
		for _, p := range ps {
			p.Up()
		}
	}
}

// routes is how many other servers server name has a route to (its /routez), -1 when it
// cannot tell.
func (c *natsCluster) routes(name string) int {
	n := c.nodesByName()[name]
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", n.mon))
	if err != nil {
		return -1
	}
	defer func() { _ = resp.Body.Close() }()
	var r struct {
		Routes []struct {
			Name string `json:"remote_name"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return -1
	}
	peers := map[string]bool{}
	for _, rt := range r.Routes {
		// A connection refused by a proxy that is down shows for a moment, nameless: the
		// servers never exchanged INFO over it.
		if rt.Name != "" {
			peers[rt.Name] = true
		}
	}
	return len(peers)
}

func (c *natsCluster) nodesByName() map[string]*natsNode {
	m := map[string]*natsNode{}
	for _, n := range c.nodes {
		m[n.name] = n
	}
	return m
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// firstLine is the first line of s containing sub, or "".
func firstLine(s, sub string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			return sc.Text()
		}
	}
	return ""
}
