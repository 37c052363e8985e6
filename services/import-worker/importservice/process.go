package importservice

import "github.com/posimport/posimport/pkg/platform/app"

// RunProcess runs the import-worker service as a process of its own, configured from the
// environment: the import-worker binary, and the worker process `posimport bench` starts, so
// that the worker the bench measures is the one that ships.
func RunProcess() error {
	cfg := Config{}.WithDefaults()
	p, ctx, stop, err := app.Start("import-worker", &cfg)
	if err != nil {
		return err
	}
	defer stop()
	conns, err := Open(ctx, p, cfg)
	if err != nil {
		return err
	}
	defer conns.Close()
	srv, err := p.Server(Policy)
	if err != nil {
		return err
	}
	svc, err := New(cfg, conns.Deps(p.Logger, srv.Registry()))
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
