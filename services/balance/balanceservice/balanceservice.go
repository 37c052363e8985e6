// Package balanceservice builds the balance service: the weekly balance per department, local
// day and clock hour, the days' approval, and auto-confirm. main.go wires it from the
// environment; `posimport up` wires it in-process.
package balanceservice

import (
	"context"
	"io/fs"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/api"
	"github.com/posimport/posimport/services/balance/internal/autoconfirm"
	"github.com/posimport/posimport/services/balance/internal/configcache"
	"github.com/posimport/posimport/services/balance/internal/jsonenc"
	"github.com/posimport/posimport/services/balance/internal/metrics"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// Schema is the service's PostgreSQL schema.
const Schema = store.Schema

// Policy is the service's role table.
var Policy authn.Policy = api.Policy

// Config is the service's configuration.
type Config struct {
	app.Config
	// ConfigAddr is the config service's gRPC target, e.g. "config:9090".
	ConfigAddr string `env:"CONFIG_ADDR" envDefault:"config:9090"`
	// ConfigCacheTTL is how long a client's configuration is reused.
	ConfigCacheTTL time.Duration `env:"CONFIG_CACHE_TTL" envDefault:"30s"`
	// AutoConfirmInterval is how often auto-confirm looks for clients whose confirm time came.
	AutoConfirmInterval time.Duration `env:"AUTO_CONFIRM_INTERVAL" envDefault:"1m"`
}

// GCPercent is the service's garbage-collection target (app.SetGCPercent; GOGC overrides it).
// A weekly balance read allocates ~100 KB on a heap of a few MB: at Go's default of 100 the
// collector took ~30 % of the service's CPU in BenchmarkGetWeeklyBalance, at 400 it takes a
// few per cent, for a heap a few MB larger.
const GCPercent = 400

// Migrations returns the service's embedded migrations.
func Migrations() fs.FS { return store.Migrations() }

// Options are the service's optional settings.
type Options struct {
	// Now is the clock (default time.Now); tests drive auto-confirm and "not in the future"
	// checks with it.
	Now func() time.Time
	// ConfigCacheTTL is how long a client's configuration is reused (default 30s; negative:
	// never reused).
	ConfigCacheTTL time.Duration
	// AutoConfirmInterval is the time between auto-confirm passes in Run (default 1m).
	AutoConfirmInterval time.Duration
}

// Service is the balance service.
type Service struct {
	api       *api.Server
	confirmer *autoconfirm.Confirmer
	every     time.Duration
	metrics   *metrics.Metrics
}

// New builds the service on a pool whose connections use Schema, reading client
// configuration through config, a connection to the config service that authenticates as the
// balance service.
func New(pool *pgxpool.Pool, config grpc.ClientConnInterface, logger *slog.Logger, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ConfigCacheTTL == 0 {
		opts.ConfigCacheTTL = 30 * time.Second
	}
	if opts.AutoConfirmInterval <= 0 {
		opts.AutoConfirmInterval = time.Minute
	}
	logger = logger.With("component", "balance")
	st := store.New(pool)
	cc := posimportv1.NewConfigServiceClient(config)
	m := metrics.New()
	return &Service{
		api:       api.New(st, configcache.New(cc, opts.ConfigCacheTTL), opts.Now, m),
		confirmer: autoconfirm.New(st, cc, opts.Now, logger, m),
		every:     opts.AutoConfirmInterval,
		metrics:   m,
	}
}

// Register adds the service's gRPC and REST handlers, its OpenAPI document and its metrics
// (posimport_balance_*) to srv.
func (s *Service) Register(srv *server.Server) error {
	s.metrics.Register(srv.Registry())
	// Registered with the server itself, so that REST reaches the RPCs in-process (through
	// the same interceptors) instead of over the loopback gRPC connection.
	posimportv1.RegisterBalanceServiceServer(srv, s.api)
	doc, err := posimportv1.OpenAPI("balance")
	if err != nil {
		return err
	}
	srv.RegisterGateway(posimportv1.BalanceService_ServiceDesc.ServiceName,
		func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
			return posimportv1.RegisterBalanceServiceHandlerClient(ctx, mux, posimportv1.NewBalanceServiceClient(conn))
		}, doc)
	// The week and the day are the large answers; protojson cost more than the rest of a request.
	srv.RegisterJSONEncoder(&posimportv1.GetWeeklyBalanceResponse{}, jsonenc.WeeklyBalance)
	srv.RegisterJSONEncoder(&posimportv1.GetDayResponse{}, jsonenc.Day)
	return nil
}

// Run is the service's background loop: auto-confirm, until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.confirmer.Run(ctx, s.every) }

// ConfirmDue makes one auto-confirm pass now (by the service's clock): every client whose
// confirm time has come today gets its finished days up to yesterday approved, once per day.
func (s *Service) ConfirmDue(ctx context.Context) error { return s.confirmer.RunOnce(ctx) }
