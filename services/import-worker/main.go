// Command import-worker runs the import-worker service on its own: the ImportService API, the
// JetStream job consumer, the reconciler and the nightly scheduler (IMPORT_API, IMPORT_WORKER
// and IMPORT_SCHEDULER choose which).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/services/import-worker/importservice"
)

func main() { app.Exit(run()) }

func run() error {
	var cfg importservice.Config
	p, ctx, stop, err := app.Start("import-worker", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	pool, err := p.Postgres(ctx, importservice.Schema, importservice.Migrations())
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
	srv, err := p.Server(importservice.Policy)
	if err != nil {
		return err
	}
	svc, err := importservice.New(cfg, importservice.Deps{
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
