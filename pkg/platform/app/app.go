// Package app is what every service's main does before and after its own wiring: load the
// configuration from the environment, build the logger, connect and migrate PostgreSQL, build
// the authenticated server and the clients of other services, and run until SIGTERM.
package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // DST rules must hold in bare images without /usr/share/zoneinfo.

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
)

// The services' gRPC addresses inside a cluster (their Kubernetes Service names), the default
// of each service's setting for reaching another.
const (
	DefaultConfigAddr  = "config:9090"
	DefaultAuthAddr    = "auth:9090"
	DefaultBalanceAddr = "balance:9090"
)

// Config is the configuration every service process has. Services embed it in their own.
type Config struct {
	LogLevel    string        `env:"LOG_LEVEL" envDefault:"info"`
	DatabaseURL secret.Secret `env:"DATABASE_URL"`
	DBMaxConns  int32         `env:"DB_MAX_CONNS" envDefault:"10"`
	Server      server.Config
	JWT         authn.Config
}

// Base returns the common configuration, so a service's config satisfies Configurable.
func (c *Config) Base() *Config { return c }

// Configurable is a service configuration embedding Config.
type Configurable interface{ Base() *Config }

// Process is one running service process.
type Process struct {
	Name   string
	Logger *slog.Logger
	cfg    *Config
	signer *authn.Signer
	verify *authn.Verifier
}

// Start loads cfg from the environment over the values it holds (the service's defaults),
// builds the logger and the JWT keys, logs the configuration (secrets masked) and any
// deprecated variable the environment uses, and returns a context cancelled on SIGTERM or
// SIGINT.
func Start(name string, cfg Configurable) (*Process, context.Context, context.CancelFunc, error) {
	if err := envconfig.Load(cfg); err != nil {
		return nil, nil, nil, err
	}
	base := cfg.Base()
	logger, err := logging.New(os.Stderr, base.LogLevel, name)
	if err != nil {
		return nil, nil, nil, err
	}
	// gRPC's and the gateway's own error lines go to the same JSON log.
	logging.RouteGRPCLog(logger)
	if base.JWT.ServiceName == "" {
		base.JWT.ServiceName = name
	}
	p := &Process{Name: name, Logger: logger, cfg: base}
	if base.JWT.SigningKey.IsZero() {
		return nil, nil, nil, fmt.Errorf("JWT_SIGNING_KEY: required (kid=base64 Ed25519 seed; see README)")
	}
	if p.signer, err = authn.NewSigner(base.JWT); err != nil {
		return nil, nil, nil, err
	}
	if p.verify, err = authn.NewVerifier(base.JWT); err != nil {
		return nil, nil, nil, err
	}
	if base.DatabaseURL.IsZero() {
		return nil, nil, nil, fmt.Errorf("DATABASE_URL: required")
	}
	logger.Info("starting", "config", envconfig.Values(cfg))
	for _, a := range envconfig.Deprecated(cfg, nil) {
		logger.Warn("deprecated environment variable", "variable", a.Deprecated, "use", a.Name)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	return p, ctx, cancel, nil
}

// Postgres connects to DATABASE_URL with the service's schema and applies its migrations.
func (p *Process) Postgres(ctx context.Context, schema string, migrations fs.FS) (*pgxpool.Pool, error) {
	pool, err := postgres.Connect(ctx, p.cfg.DatabaseURL.Reveal(), postgres.Options{
		Schema: schema, MaxConns: p.cfg.DBMaxConns, ApplicationName: "posimport-" + p.Name,
	})
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, pool, schema, migrations, p.Logger); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Server builds the gRPC/HTTP server with the service's role table.
func (p *Process) Server(policy authn.Policy) (*server.Server, error) {
	return server.New(p.cfg.Server, server.Options{
		Name: p.Name, Logger: p.Logger.With(logging.ComponentKey, "server"), Authorizer: authn.NewAuthorizer(p.verify, policy),
	})
}

// Signer signs this service's tokens.
func (p *Process) Signer() *authn.Signer { return p.signer }

// Dial connects to another service's gRPC address with this service's identity.
func (p *Process) Dial(target string) (*grpc.ClientConn, error) {
	return Dial(target, p.signer)
}

// Dial connects to a service's gRPC address, authenticating as the service whose signer
// (authn.NewSigner) signer is: its tokens carry the identity its key is bound to.
func Dial(target string, signer *authn.Signer) (*grpc.ClientConn, error) {
	creds, err := authn.NewServiceCredentials(signer)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(creds),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// Run runs the server and the background loops until ctx ends or one of them fails; then all
// stop.
func (p *Process) Run(ctx context.Context, srv *server.Server, background ...func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	for _, f := range background {
		g.Go(func() error { return f(gctx) })
	}
	return g.Wait()
}

// SetGCPercent sets the garbage collector's target to percent unless the operator set GOGC,
// which always wins. A service whose requests allocate much on a heap of a few megabytes
// collects many times a second at Go's default of 100; a higher target trades some of the
// pod's memory (capped by GOMEMLIMIT in the manifests) for that CPU. restore puts the previous
// target back (for benchmarks that set it as main does).
func SetGCPercent(percent int) (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set || percent <= 0 {
		return func() {}
	}
	prev := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(prev) }
}

// Exit logs a fatal error and exits non-zero, or exits 0.
func Exit(err error) { os.Exit(exit(os.Stderr, serviceName(), err)) }

// exit logs err, if any, as service's last line to w and returns the exit code.
func exit(w io.Writer, service string, err error) int {
	if err == nil {
		return 0
	}
	logging.JSON(w, slog.LevelInfo, service).Error("exiting", "error", err)
	return 1
}

// serviceName is the name of the service binary: its main package's directory
// (services/import-worker), or else the program's file name.
func serviceName() string {
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Path, "github.com/posimport/posimport/services/") {
		return path.Base(bi.Path)
	}
	return filepath.Base(os.Args[0])
}
