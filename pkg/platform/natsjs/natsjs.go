// Package natsjs connects a service to NATS JetStream: to the server at NATS_URL, or to an
// embedded JetStream server (nats-server as a library) for the all-in-one binary and tests.
// The embedded server keeps its streams on file storage and fsyncs every write (sync always),
// because JetStream's default two-minute sync window loses acknowledged messages on an OS crash.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configures the connection.
type Options struct {
	// URL of the NATS server; empty starts an embedded one.
	URL string
	// Name identifies this connection in server monitoring.
	Name string
	// StoreDir is where the embedded server keeps its streams (required when URL is empty).
	StoreDir string
	// ListenAddr makes the embedded server accept clients on host:port; empty accepts none
	// (in-process connections only, no network surface).
	ListenAddr string
	// Logger receives connection events.
	Logger *slog.Logger
}

// Conn is a JetStream connection and, when embedded, the server behind it.
type Conn struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Embedded *server.Server
	logger   *slog.Logger
}

// Connect connects to opts.URL or starts an embedded server.
func Connect(ctx context.Context, opts Options) (*Conn, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "nats")
	c := &Conn{logger: logger}
	natsOpts := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("nats disconnected", "error", err)
		}),
		nats.ReconnectHandler(func(_ *nats.Conn) { logger.Info("nats reconnected") }),
	}
	url := opts.URL
	if url == "" {
		ns, err := StartEmbedded(opts.StoreDir, opts.ListenAddr)
		if err != nil {
			return nil, err
		}
		c.Embedded = ns
		natsOpts = append(natsOpts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		c.shutdownEmbedded()
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		c.shutdownEmbedded()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	c.NC, c.JS = nc, js
	if _, err := js.AccountInfo(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("nats: JetStream not available (start nats-server with -js): %w", err)
	}
	return c, nil
}

// StartEmbedded starts a JetStream server storing in dir, listening on listenAddr ("host:port")
// or on nothing when it is empty.
func StartEmbedded(dir, listenAddr string) (*server.Server, error) {
	if dir == "" {
		return nil, errors.New("nats: an embedded server needs a store directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o := &server.Options{
		ServerName: "posimport-embedded",
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
		DontListen: listenAddr == "",
	}
	if listenAddr != "" {
		host, port, err := splitHostPort(listenAddr)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
	}
	ns, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats: embedded server did not become ready")
	}
	return ns, nil
}

// Ready reports whether the connection is up, for /readyz.
func (c *Conn) Ready(context.Context) error {
	if c.NC == nil || !c.NC.IsConnected() {
		return errors.New("nats not connected")
	}
	return nil
}

// Close drains the connection (in-flight acks go out) and stops an embedded server.
func (c *Conn) Close() {
	if c.NC != nil {
		done := make(chan struct{})
		c.NC.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err := c.NC.Drain(); err != nil {
			c.NC.Close()
		} else {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.NC.Close()
			}
		}
	}
	c.shutdownEmbedded()
}

func (c *Conn) shutdownEmbedded() {
	if c.Embedded != nil {
		c.Embedded.Shutdown()
		c.Embedded.WaitForShutdown()
	}
}
