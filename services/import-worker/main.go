// Command import-worker runs the import-worker service on its own: the ImportService API, the
// JetStream job consumer, the reconciler and the nightly scheduler (IMPORT_API, IMPORT_WORKER
// and IMPORT_SCHEDULER choose which).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/services/import-worker/importservice"
)

func main() { app.Exit(run()) }

func run() error {
	cfg := importservice.Config{}.WithDefaults()
	p, ctx, stop, err := app.Start("import-worker", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	conns, err := importservice.Open(ctx, p, cfg)
	if err != nil {
		return err
	}
	defer conns.Close()
	srv, err := p.Server(importservice.Policy)
	if err != nil {
		return err
	}
	svc, err := importservice.New(cfg, conns.Deps(p.Logger, srv.Registry()))
	if err != nil {
		return err
	}
	if err := svc.Register(srv); err != nil {
		return err
	}
	srv.AddReadiness("postgres", conns.Pool.Ping)
	srv.AddReadiness("nats", conns.NATS.Ready)
	return p.Run(ctx, srv, svc.Run)
}
