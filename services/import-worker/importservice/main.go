package importservice

import (
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/natsjs"
)

// Main runs the import-worker as a process of its own, configured from the environment, until
// SIGTERM or SIGINT: what the import-worker binary's main does, and what `posimport bench` runs
// as a separate OS process to measure a worker's memory. It is the other services' main.go
// run(), step for step; it lives here because the posimport binary runs it too.
func Main() error {
	cfg := Config{}.WithDefaults()
	p, ctx, stop, err := app.Start("import-worker", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	pool, err := p.Postgres(ctx, Schema, Migrations())
	if err != nil {
		return err
	}
	defer pool.Close()
	nc, err := natsjs.Connect(ctx, natsjs.Options{URL: cfg.NATSURL, Name: "import-worker", StoreDir: cfg.NATSStoreDir, Logger: p.Logger})
	if err != nil {
		return err
	}
	// Drains after the worker has settled its in-flight messages.
	defer nc.Close()
	configConn, err := p.Dial(cfg.ConfigAddr)
	if err != nil {
		return err
	}
	defer func() { _ = configConn.Close() }()
	authConn, err := p.Dial(cfg.AuthAddr)
	if err != nil {
		return err
	}
	defer func() { _ = authConn.Close() }()
	balanceConn, err := p.Dial(cfg.BalanceAddr)
	if err != nil {
		return err
	}
	defer func() { _ = balanceConn.Close() }()
	srv, err := p.Server(Policy)
	if err != nil {
		return err
	}
	svc, err := New(cfg, Deps{
		Pool: pool, JS: nc.JS, ConfigConn: configConn, AuthConn: authConn, BalanceConn: balanceConn,
		Logger: p.Logger, Registry: srv.Registry(),
	})
	if err != nil {
		return err
	}
	if err := svc.Register(srv); err != nil {
		return err
	}
	srv.AddReadiness("postgres", pool.Ping)
	srv.AddReadiness("nats", nc.Ready)
	return p.Run(ctx, srv, svc.Run)
}
