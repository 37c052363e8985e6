package importservice

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/natsjs"
)

// Conns are what a standalone import-worker connects to before New: its database (migrated),
// JetStream, and the three services it calls, authenticated as the import-worker. The
// import-worker binary's main and `posimport bench`'s worker process both open them with Open,
// so that the process bench measures is the one that ships.
type Conns struct {
	Pool                              *pgxpool.Pool
	NATS                              *natsjs.Conn
	ConfigConn, AuthConn, BalanceConn *grpc.ClientConn
}

// Open connects to what cfg names, through the process p (its PostgreSQL, its signer). On
// error it closes what it had opened.
func Open(ctx context.Context, p *app.Process, cfg Config) (c *Conns, err error) {
	c = &Conns{}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if c.Pool, err = p.Postgres(ctx, Schema, Migrations()); err != nil {
		return nil, err
	}
	if c.NATS, err = natsjs.Connect(ctx, natsjs.Options{URL: cfg.NATSURL, Name: "import-worker", StoreDir: cfg.NATSStoreDir, Logger: p.Logger}); err != nil {
		return nil, err
	}
	if c.ConfigConn, err = p.Dial(cfg.ConfigAddr); err != nil {
		return nil, err
	}
	if c.AuthConn, err = p.Dial(cfg.AuthAddr); err != nil {
		return nil, err
	}
	if c.BalanceConn, err = p.Dial(cfg.BalanceAddr); err != nil {
		return nil, err
	}
	return c, nil
}

// Deps are New's dependencies over these connections.
func (c *Conns) Deps(logger *slog.Logger, registry prometheus.Registerer) Deps {
	return Deps{
		Pool: c.Pool, JS: c.NATS.JS, ConfigConn: c.ConfigConn, AuthConn: c.AuthConn, BalanceConn: c.BalanceConn,
		Logger: logger, Registry: registry,
	}
}

// Close closes the connections in the reverse order of Open. Call it after the service has
// stopped: NATS drains only once the worker has settled its in-flight messages.
func (c *Conns) Close() {
	for _, cc := range []*grpc.ClientConn{c.BalanceConn, c.AuthConn, c.ConfigConn} {
		if cc != nil {
			_ = cc.Close()
		}
	}
	if c.NATS != nil {
		c.NATS.Close()
	}
	if c.Pool != nil {
		c.Pool.Close()
	}
}
