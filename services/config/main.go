// Command config runs the config service on its own (one Kubernetes deployment).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/services/config/configservice"
)

func main() { app.Exit(run()) }

func run() error {
	var cfg configservice.Config
	p, ctx, stop, err := app.Start("config", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	pool, err := p.Postgres(ctx, configservice.Schema, configservice.Migrations())
	if err != nil {
		return err
	}
	defer pool.Close()
	srv, err := p.Server(configservice.Policy)
	if err != nil {
		return err
	}
	svc, err := configservice.New(cfg, configservice.Deps{Pool: pool, Logger: p.Logger})
	if err != nil {
		return err
	}
	if err := svc.Register(srv); err != nil {
		return err
	}
	srv.AddReadiness("postgres", pool.Ping)
	return p.Run(ctx, srv)
}
