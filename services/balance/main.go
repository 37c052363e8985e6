// Command balance runs the balance service on its own (one Kubernetes deployment).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

func main() { app.Exit(run()) }

func run() error {
	cfg := balanceservice.Config{}.WithDefaults()
	p, ctx, stop, err := app.Start("balance", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	app.SetGCPercent(balanceservice.GCPercent)
	pool, err := p.Postgres(ctx, balanceservice.Schema, balanceservice.Migrations())
	if err != nil {
		return err
	}
	defer pool.Close()
	config, err := p.Dial(cfg.ConfigAddr)
	if err != nil {
		return err
	}
	defer func() { _ = config.Close() }()
	srv, err := p.Server(balanceservice.Policy)
	if err != nil {
		return err
	}
	svc, err := balanceservice.New(cfg, balanceservice.Deps{
		Pool: pool, Config: posimportv1.NewConfigServiceClient(config), Logger: p.Logger,
	})
	if err != nil {
		return err
	}
	if err := svc.Register(srv); err != nil {
		return err
	}
	srv.AddReadiness("postgres", pool.Ping)
	return p.Run(ctx, srv, svc.Run)
}
