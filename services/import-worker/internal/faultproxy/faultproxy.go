// Package faultproxy puts TCP proxies with injectable faults between an import-worker and what
// it talks to (the other services' gRPC ports, NATS, PostgreSQL, the POS), for tests. It runs
// Shopify's toxiproxy as a library: its toxics (latency, reset_peer, timeout, bandwidth,
// slicer, limit_data) by name, plus a gate of our own that holds a connection's bytes, from
// the first chunk that contains a pattern on, until it is released: a gRPC call held on its
// way to the balance (GRPCMethod), or a PostgreSQL COMMIT held on its way to the server.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/net/http2/hpack"
)

// The directions of a toxic: bytes from the client to the upstream, or back.
const (
	Upstream   = "upstream"
	Downstream = "downstream"
)

// PGCommit is the PostgreSQL simple-query message pgx sends to commit a transaction.
const PGCommit = "Q\x00\x00\x00\x0bcommit\x00"

// GRPCMethod is the pattern of a gRPC call of fullMethod (e.g.
// "/posimport.v1.BalanceService/WriteDays") on the wire: its :path as HPACK writes a literal,
// Huffman-coded when that is shorter (grpc-go's encoder, like Go's http2 one, does). A gate on
// it holds the call from its HEADERS on, so the server has not even started the call's
// deadline. NOTE: only the first call of a method on a connection carries the literal; later
// ones send an index into the connection's header table.
func GRPCMethod(fullMethod string) string {
	if hpack.HuffmanEncodeLength(fullMethod) >= uint64(len(fullMethod)) {
		return fullMethod
	}
	return string(hpack.AppendHuffmanString(nil, fullMethod))
}

var (
	registerOnce sync.Once
	serverOnce   sync.Once
	apiServer    *toxiproxy.ApiServer
)

func server() *toxiproxy.ApiServer {
	registerOnce.Do(func() { toxics.Register("gate", new(gate)) })
	serverOnce.Do(func() {
		apiServer = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	})
	return apiServer
}

// Proxy is one listening proxy in front of one upstream address. It keeps its listener from
// Start to the end of the test: a fault cuts connections, never the port, so no other process
// can take the port in between (closing and listening again on it raced with every other
// listener on the machine).
type Proxy struct {
	p  *toxiproxy.Proxy
	ln net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	down  bool
	done  chan struct{}
}

// Start listens on a free loopback port and forwards to upstream (host:port) until the test
// ends.
func Start(t testing.TB, name, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start proxy %s: %v", name, err)
	}
	// toxiproxy's own accept loop is not used (it owns and reopens its listener); the toxic
	// chains are, one link per direction of each connection accepted here.
	p := &Proxy{p: toxiproxy.NewProxy(server(), name, ln.Addr().String(), upstream), ln: ln,
		conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.stop)
	return p
}

func (p *Proxy) accept() {
	defer close(p.done)
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // the listener is closed: the test ended
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = client.Close() // refused: the upstream is cut off
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		upstream, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.p.Upstream)
		cancel()
		if err != nil {
			_ = client.Close() // as the upstream's refusal
			continue
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = client.Close()
			_ = upstream.Close()
			continue
		}
		p.conns[client], p.conns[upstream] = struct{}{}, struct{}{}
		p.mu.Unlock()
		name := client.RemoteAddr().String()
		// The links get the *net.TCPConn themselves: toxiproxy's reset_peer asserts that type.
		// A connection closed by its link stays in conns until the next cut (closing it
		// again is harmless).
		p.p.Toxics.StartLink(server(), name+"upstream", client, upstream, stream.Upstream)
		p.p.Toxics.StartLink(server(), name+"downstream", upstream, client, stream.Downstream)
	}
}

// cutAll closes every connection through the proxy.
func (p *Proxy) cutAll() {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	clear(p.conns)
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *Proxy) stop() {
	_ = p.ln.Close()
	<-p.done
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.cutAll()
}

// Addr is where the proxy listens (host:port).
func (p *Proxy) Addr() string { return p.p.Listen }

// Name is the proxy's name.
func (p *Proxy) Name() string { return p.p.Name }

// Toxic adds a toxiproxy toxic: typ is its type ("latency", "reset_peer", "timeout", …),
// dir Upstream or Downstream, toxicity the share of connections it applies to (0..1), attrs
// its attributes (e.g. map[string]int{"latency": 50, "jitter": 20}). Remove takes it away.
func (p *Proxy) Toxic(t testing.TB, name, typ, dir string, toxicity float32, attrs any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": dir, "toxicity": toxicity, "attributes": attrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		t.Fatalf("proxy %s: add toxic %s: %v", p.Name(), name, err)
	}
}

// Remove takes a toxic away; removing one that is not there is not an error.
func (p *Proxy) Remove(name string) {
	_ = p.p.Toxics.RemoveToxic(context.Background(), name)
}

// Cut closes every connection through the proxy at once (both sides see the connection
// drop) and accepts new ones again: a network blip. The listener stays.
func (p *Proxy) Cut(t testing.TB) {
	t.Helper()
	p.cutAll()
}

// Down cuts every connection and refuses new ones (accepted, then closed at once) until Up:
// the upstream unreachable, its port still the proxy's.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.cutAll()
}

// Up accepts connections again after Down.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Gate holds bytes in one direction until released.
type Gate struct {
	p    *Proxy
	name string
	g    *gate
}

// Hold adds a gate in direction dir: on every connection, from the first chunk containing
// match (every chunk when match is empty) on, bytes are held until Release. Held bytes are
// delivered in order on release, none is lost.
func (p *Proxy) Hold(t testing.TB, name, dir, match string) *Gate {
	t.Helper()
	// The pattern goes as bytes (base64 in JSON): as a string, JSON would replace the bytes of
	// a binary pattern that are not UTF-8.
	body, err := json.Marshal(map[string]any{"name": name, "type": "gate", "stream": dir, "toxicity": 1,
		"attributes": map[string][]byte{"match": []byte(match)}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.p.Toxics.AddToxicJson(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("proxy %s: add gate %s: %v", p.Name(), name, err)
	}
	return &Gate{p: p, name: name, g: w.Toxic.(*gate)}
}

// Caught is the number of connections whose bytes the gate holds.
func (g *Gate) Caught() int64 { return g.g.caught.Load() }

// HeldBytes is how many bytes the gate has held so far.
func (g *Gate) HeldBytes() int64 { return g.g.held.Load() }

// Release delivers the held bytes and removes the gate.
func (g *Gate) Release() { g.p.Remove(g.name) }

// gate is the toxic behind Hold. Its per-connection state survives the interruptions
// toxiproxy makes when the chain changes; held chunks go out only in Cleanup, when the gate
// is removed.
type gate struct {
	Match  []byte `json:"match"`
	caught atomic.Int64
	held   atomic.Int64
}

type gateState struct {
	shut bool
	held []*stream.StreamChunk
}

var (
	_ toxics.StatefulToxic = (*gate)(nil)
	_ toxics.CleanupToxic  = (*gate)(nil)
)

func (g *gate) NewState() any { return &gateState{} }

func (g *gate) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*gateState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				g.flush(stub, st)
				stub.Close()
				return
			}
			if !st.shut && bytes.Contains(c.Data, g.Match) {
				st.shut = true
				g.caught.Add(1)
			}
			if st.shut {
				g.held.Add(int64(len(c.Data)))
				st.held = append(st.held, c)
				continue
			}
			stub.Output <- c
		}
	}
}

func (g *gate) Cleanup(stub *toxics.ToxicStub) {
	if st, ok := stub.State.(*gateState); ok {
		g.flush(stub, st)
	}
}

func (g *gate) flush(stub *toxics.ToxicStub, st *gateState) {
	for _, c := range st.held {
		stub.Output <- c
	}
	st.held = nil
}

// HostPort returns the host:port of a URL such as postgres://u@127.0.0.1:5432/db or
// nats://127.0.0.1:4222.
func HostPort(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("no host in %q: %v", rawURL, err)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		t.Fatalf("no port in %q: %v", rawURL, err)
	}
	return u.Host
}

// Via returns rawURL with its host:port replaced by the proxy's.
func (p *Proxy) Via(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}
