// Command auth runs the auth service on its own (one Kubernetes deployment).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

func main() { app.Exit(run()) }

func run() error {
	cfg := authservice.Config{}.WithDefaults()
	p, ctx, stop, err := app.Start("auth", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	pool, err := p.Postgres(ctx, authservice.Schema, authservice.Migrations())
	if err != nil {
		return err
	}
	defer pool.Close()
	config, err := p.Dial(cfg.ConfigAddr)
	if err != nil {
		return err
	}
	defer func() { _ = config.Close() }()
	srv, err := p.Server(authservice.Policy)
	if err != nil {
		return err
	}
	svc, err := authservice.New(cfg, authservice.Deps{
		Pool: pool, Config: posimportv1.NewConfigServiceClient(config), Logger: p.Logger,
	})
	if err != nil {
		return err
	}
	if err := svc.Register(srv); err != nil {
		return err
	}
	srv.AddReadiness("postgres", pool.Ping)
	return p.Run(ctx, srv)
}
