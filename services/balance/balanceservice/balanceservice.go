// Package balanceservice builds the balance service: the weekly balance per department, local
// day and clock hour, the days' approval, corrections of approved days and their audit, each
// department's freshness, and auto-confirm. main.go wires it from the
// environment; `posimport up` wires it in-process.
package balanceservice

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

// Defaults of Config: WithDefaults gives every zero setting its default, for a configuration
// from the environment (main.go fills them in before loading it) and one built in code alike.
const (
	DefaultConfigAddr          = app.DefaultConfigAddr
	DefaultConfigCacheTTL      = 30 * time.Second
	DefaultAutoConfirmInterval = time.Minute
)

// Config is the service's configuration. Settings left zero take their default (WithDefaults).
type Config struct {
	app.Config
	// ConfigAddr is the config service's gRPC target, e.g. "config:9090".
	ConfigAddr string `env:"CONFIG_ADDR"`
	// ConfigCacheTTL is how long a client's configuration is reused; negative: never reused.
	ConfigCacheTTL time.Duration `env:"CONFIG_CACHE_TTL"`
	// AutoConfirmInterval is how often auto-confirm looks for clients whose confirm time came.
	AutoConfirmInterval time.Duration `env:"AUTO_CONFIRM_INTERVAL"`
}

// WithDefaults returns c with every zero setting at its default.
func (c Config) WithDefaults() Config {
	c.ConfigAddr = cmp.Or(c.ConfigAddr, DefaultConfigAddr)
	c.ConfigCacheTTL = cmp.Or(c.ConfigCacheTTL, DefaultConfigCacheTTL)
	c.AutoConfirmInterval = cmp.Or(c.AutoConfirmInterval, DefaultAutoConfirmInterval)
	return c
}

// Validate reports the first setting New cannot run with, naming its variable. It expects a
// configuration with its defaults.
func (c Config) Validate() error {
	if c.AutoConfirmInterval <= 0 {
		return fmt.Errorf("AUTO_CONFIRM_INTERVAL: %v is not positive", c.AutoConfirmInterval)
	}
	return nil
}

// GCPercent is the service's garbage-collection target (app.SetGCPercent; GOGC overrides it).
// A weekly balance read allocates ~100 KB on a heap of a few MB: at Go's default of 100 the
// collector took ~30 % of the service's CPU in BenchmarkGetWeeklyBalance, at 400 it takes a
// few per cent, for a heap a few MB larger.
const GCPercent = 400

// Migrations returns the service's embedded migrations.
func Migrations() fs.FS { return store.Migrations() }

// Deps are what the service runs on.
type Deps struct {
	// Pool's connections use Schema.
	Pool *pgxpool.Pool
	// Config is a client of the config service, authenticated as the balance service.
	Config posimportv1.ConfigServiceClient
	Logger *slog.Logger
	// NowFunc is the clock (nil: time.Now); tests drive auto-confirm and "not in the future"
	// checks with it.
	NowFunc func() time.Time
}

// Service is the balance service.
type Service struct {
	api       *api.Server
	confirmer *autoconfirm.Confirmer
	every     time.Duration
	metrics   *metrics.Metrics
	freshness *metrics.Freshness
}

// New checks cfg, with its defaults, and builds the service.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Pool == nil || d.Config == nil {
		return nil, errors.New("balanceservice: a pool and a config service client are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.NowFunc == nil {
		d.NowFunc = time.Now
	}
	logger := d.Logger.With("component", "balance")
	st := store.New(d.Pool)
	m := metrics.New()
	return &Service{
		api:       api.New(st, configcache.New(d.Config, cfg.ConfigCacheTTL), d.NowFunc, m),
		confirmer: autoconfirm.New(st, d.Config, d.NowFunc, logger, m),
		every:     cfg.AutoConfirmInterval,
		metrics:   m,
		freshness: metrics.NewFreshness(st, logger),
	}, nil
}

// Register adds the service's gRPC and REST handlers, its OpenAPI document and its metrics
// (posimport_balance_*, the departments' freshness read from PostgreSQL at each scrape) to srv.
func (s *Service) Register(srv *server.Server) error {
	s.metrics.Register(srv.Registry())
	srv.Registry().MustRegister(s.freshness)
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
