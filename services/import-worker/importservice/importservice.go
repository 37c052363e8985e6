// Package importservice builds the import-worker service: the ImportService API, and the
// background loops that turn queued jobs into weekly-balance days (the JetStream consumer's
// worker slots), keep JetStream in step with Postgres (the reconciler) and start the nightly
// imports (the scheduler) and today's intraday refreshes. A process can run any subset: API-only replicas, worker-only
// replicas, and several worker processes at once. main.go wires it from the environment;
// `posimport up` wires it in-process.
package importservice

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/retry"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/api"
	"github.com/posimport/posimport/services/import-worker/internal/changes"
	"github.com/posimport/posimport/services/import-worker/internal/completion"
	"github.com/posimport/posimport/services/import-worker/internal/intraday"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/reconcile"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// Schema is the service's PostgreSQL schema.
const Schema = store.Schema

// Policy is the service's role table.
var Policy authn.Policy = api.Policy

// Migrations returns the service's embedded migrations.
func Migrations() fs.FS { return store.Migrations() }

// Defaults of Config: WithDefaults gives every zero setting its default, for a configuration
// from the environment (main.go fills them in before loading it) and one built in code alike.
// The job pipeline's own defaults (worker, jobqueue) and Lightspeed's documented pacing
// (retail) are named here, so this block lists every default of the service once.
const (
	DefaultConfigAddr  = app.DefaultConfigAddr
	DefaultAuthAddr    = app.DefaultAuthAddr
	DefaultBalanceAddr = app.DefaultBalanceAddr
	// DefaultNATSStoreDir is where the embedded NATS server stores (without NATS_URL).
	DefaultNATSStoreDir        = "/var/lib/posimport/nats"
	DefaultWorkerSlots         = worker.DefaultSlots
	DefaultLightspeedAPIURL    = retail.DefaultAPIBaseURL
	DefaultRestaurantAPIURL    = restaurant.DefaultBaseURL
	DefaultBurstWindow         = retail.BurstWindow
	DefaultRateHeadroom        = retail.DefaultHeadroom
	DefaultScheduleTime        = "02:00"
	DefaultScheduleZone        = "Europe/Copenhagen"
	DefaultScheduleInterval    = 30 * time.Second
	DefaultScheduleLookback    = changes.DefaultLookbackDays
	DefaultLeaseTTL            = worker.DefaultLeaseTTL
	DefaultAckWait             = jobqueue.DefaultAckWait
	DefaultMaxAckPending       = jobqueue.DefaultMaxAckPending
	DefaultMaxAttempts         = worker.DefaultMaxAttempts
	DefaultMaxRunningPerClient = 2
	// DefaultMaxQueuedPerClient bounds a client's jobs not ended (manual imports past it are refused).
	DefaultMaxQueuedPerClient = 10000
	DefaultJobMaxDays         = 31
	// DefaultJobGroupMaxJobs is the size limit of a scheduled import's job groups.
	DefaultJobGroupMaxJobs     = plan.MaxGroupJobs
	DefaultRetryBase           = worker.DefaultRetryBase
	DefaultReconcileInterval   = 30 * time.Second
	DefaultReconcileGrace      = 60 * time.Second
	DefaultJobsReplicas        = jobqueue.DefaultReplicas
	DefaultTokenReuseMargin    = provider.DefaultTokenMargin
	DefaultBalanceWriteTimeout = worker.DefaultWriteTimeout
)

// Config is the service's configuration. Durations and counts left zero take their default
// (WithDefaults).
type Config struct {
	app.Config
	// Addresses of the other services' gRPC ports.
	ConfigAddr  string `env:"CONFIG_ADDR"`
	AuthAddr    string `env:"AUTH_ADDR"`
	BalanceAddr string `env:"BALANCE_ADDR"`
	// NATSURL is the NATS server; empty embeds one storing in NATSStoreDir.
	NATSURL      string `env:"NATS_URL"`
	NATSStoreDir string `env:"NATS_STORE_DIR"`
	// StreamPrefix keeps deployments sharing a NATS server apart (letters, digits, '_').
	StreamPrefix string `env:"JOBS_STREAM_PREFIX"`
	// Which parts this process runs. A process from the environment runs all three unless told
	// otherwise; a Config built in code names the parts it runs (false is a setting, not unset).
	API       bool `env:"IMPORT_API" envDefault:"true"`
	Worker    bool `env:"IMPORT_WORKER" envDefault:"true"`
	Scheduler bool `env:"IMPORT_SCHEDULER" envDefault:"true"`
	// WorkerSlots is the number of jobs this process runs at once.
	WorkerSlots int `env:"WORKER_SLOTS"`
	// LightspeedAPIURL is the R-Series API base URL (the simulator's URL in tests and demos); the
	// auth service reads the same variable.
	LightspeedAPIURL string `env:"LIGHTSPEED_API_URL"`
	// LightspeedRestaurantAPIURL is the K-Series API base URL (the trial host, or the
	// simulator's URL); the auth service reads the same variable.
	LightspeedRestaurantAPIURL string `env:"LIGHTSPEED_RESTAURANT_API_URL"`
	// LightspeedBurstWindow is the burst limiter's window (shorter against a time-scaled simulator).
	LightspeedBurstWindow time.Duration `env:"LIGHTSPEED_BURST_WINDOW"`
	// RateHeadroom keeps the shared budget this many drips below the bucket size.
	RateHeadroom float64 `env:"LIGHTSPEED_RATE_HEADROOM"`
	// ScheduleTime and ScheduleZone are the nightly run's wall-clock time.
	ScheduleTime     string        `env:"SCHEDULE_TIME"`
	ScheduleZone     string        `env:"SCHEDULE_TIME_ZONE"`
	ScheduleInterval time.Duration `env:"SCHEDULE_CHECK_INTERVAL"`
	// ScheduleLookbackDays is how many completed days the nightly run re-reads on a POS that
	// cannot list changed sales (Lightspeed Restaurant); Lightspeed Retail re-reads two days
	// and the register-days of the sales changed since the last run.
	ScheduleLookbackDays int `env:"SCHEDULE_LOOKBACK_DAYS"`
	// Job handling. LeaseTTL, AckWait and HeartbeatInterval keep a running job's lease and
	// message alive; the worker package's doc says how they relate (HeartbeatInterval 0: a
	// third of the shorter of the other two). MaxRunningPerClient is also a client's window:
	// its jobs published to the stream and not ended, the rest waiting in Postgres.
	// MaxQueuedPerClient bounds a client's jobs not ended: a manual import that would pass it
	// is refused.
	LeaseTTL            time.Duration `env:"JOB_LEASE_TTL"`
	AckWait             time.Duration `env:"JOB_ACK_WAIT"`
	HeartbeatInterval   time.Duration `env:"JOB_HEARTBEAT_INTERVAL"`
	MaxAckPending       int           `env:"JOB_MAX_ACK_PENDING"`
	MaxAttempts         int           `env:"JOB_MAX_ATTEMPTS"`
	MaxRunningPerClient int           `env:"JOB_MAX_RUNNING_PER_CLIENT"`
	MaxQueuedPerClient  int           `env:"JOB_MAX_QUEUED_PER_CLIENT"`
	JobMaxDays          int           `env:"JOB_MAX_DAYS"`
	// JobGroupMaxJobs caps the groups a scheduled import's jobs of one range form (one lease,
	// one read per location, one balance transaction each); 1 runs every job alone.
	JobGroupMaxJobs   int           `env:"JOB_GROUP_MAX_JOBS"`
	RetryBase         time.Duration `env:"JOB_RETRY_BASE"`
	ReconcileInterval time.Duration `env:"RECONCILE_INTERVAL"`
	ReconcileGrace    time.Duration `env:"RECONCILE_GRACE"`
	// JobsReplicas is the job stream's replicas: 1 on a single NATS server, 3 on a cluster.
	JobsReplicas int `env:"JOBS_REPLICAS"`
	// TokenReuseMargin: a job reuses its POS access token while it stays valid for longer than
	// this. Keep it at most the auth service's REFRESH_MARGIN (see the README).
	TokenReuseMargin time.Duration `env:"TOKEN_REUSE_MARGIN"`
	// BalanceWriteTimeout bounds one write of a job's days to the balance.
	BalanceWriteTimeout time.Duration `env:"BALANCE_WRITE_TIMEOUT"`
}

// WithDefaults returns c with every zero setting at its default.
func (c Config) WithDefaults() Config {
	c.ConfigAddr = cmp.Or(c.ConfigAddr, DefaultConfigAddr)
	c.AuthAddr = cmp.Or(c.AuthAddr, DefaultAuthAddr)
	c.BalanceAddr = cmp.Or(c.BalanceAddr, DefaultBalanceAddr)
	c.NATSStoreDir = cmp.Or(c.NATSStoreDir, DefaultNATSStoreDir)
	c.WorkerSlots = cmp.Or(c.WorkerSlots, DefaultWorkerSlots)
	c.LightspeedAPIURL = cmp.Or(c.LightspeedAPIURL, DefaultLightspeedAPIURL)
	c.LightspeedRestaurantAPIURL = cmp.Or(c.LightspeedRestaurantAPIURL, DefaultRestaurantAPIURL)
	c.LightspeedBurstWindow = cmp.Or(c.LightspeedBurstWindow, DefaultBurstWindow)
	c.RateHeadroom = cmp.Or(c.RateHeadroom, DefaultRateHeadroom)
	c.ScheduleTime = cmp.Or(c.ScheduleTime, DefaultScheduleTime)
	c.ScheduleZone = cmp.Or(c.ScheduleZone, DefaultScheduleZone)
	c.ScheduleInterval = cmp.Or(c.ScheduleInterval, DefaultScheduleInterval)
	c.ScheduleLookbackDays = cmp.Or(c.ScheduleLookbackDays, DefaultScheduleLookback)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, DefaultLeaseTTL)
	c.AckWait = cmp.Or(c.AckWait, DefaultAckWait)
	c.MaxAckPending = cmp.Or(c.MaxAckPending, DefaultMaxAckPending)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.MaxRunningPerClient = cmp.Or(c.MaxRunningPerClient, DefaultMaxRunningPerClient)
	c.MaxQueuedPerClient = cmp.Or(c.MaxQueuedPerClient, DefaultMaxQueuedPerClient)
	c.JobMaxDays = cmp.Or(c.JobMaxDays, DefaultJobMaxDays)
	c.JobGroupMaxJobs = cmp.Or(c.JobGroupMaxJobs, DefaultJobGroupMaxJobs)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.ReconcileInterval = cmp.Or(c.ReconcileInterval, DefaultReconcileInterval)
	c.ReconcileGrace = cmp.Or(c.ReconcileGrace, DefaultReconcileGrace)
	c.JobsReplicas = cmp.Or(c.JobsReplicas, DefaultJobsReplicas)
	c.TokenReuseMargin = cmp.Or(c.TokenReuseMargin, DefaultTokenReuseMargin)
	c.BalanceWriteTimeout = cmp.Or(c.BalanceWriteTimeout, DefaultBalanceWriteTimeout)
	return c
}

// Validate reports the first setting New cannot run with, naming its variable. It expects a
// configuration with its defaults.
func (c Config) Validate() error {
	zone, err := time.LoadLocation(c.ScheduleZone)
	if err != nil {
		return fmt.Errorf("SCHEDULE_TIME_ZONE: %w", err)
	}
	if _, _, _, err := schedule.Due(time.Now(), zone, c.ScheduleTime); err != nil {
		return fmt.Errorf("SCHEDULE_TIME: %w", err)
	}
	if c.ScheduleLookbackDays < changes.PlainDays || c.ScheduleLookbackDays > 31 {
		return fmt.Errorf("SCHEDULE_LOOKBACK_DAYS: %d is outside %d..31", c.ScheduleLookbackDays, changes.PlainDays)
	}
	if c.JobsReplicas < 1 || c.JobsReplicas > 5 {
		return fmt.Errorf("JOBS_REPLICAS: %d is outside 1..5 (JetStream's limit)", c.JobsReplicas)
	}
	if c.TokenReuseMargin < 0 || c.TokenReuseMargin > 10*time.Minute {
		return fmt.Errorf("TOKEN_REUSE_MARGIN: %v is outside (0, 10m]", c.TokenReuseMargin)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"LIGHTSPEED_BURST_WINDOW", c.LightspeedBurstWindow}, {"SCHEDULE_CHECK_INTERVAL", c.ScheduleInterval},
		{"JOB_LEASE_TTL", c.LeaseTTL}, {"JOB_ACK_WAIT", c.AckWait}, {"JOB_HEARTBEAT_INTERVAL", c.HeartbeatInterval}, {"JOB_RETRY_BASE", c.RetryBase},
		{"RECONCILE_INTERVAL", c.ReconcileInterval}, {"RECONCILE_GRACE", c.ReconcileGrace},
		{"BALANCE_WRITE_TIMEOUT", c.BalanceWriteTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s: %v is negative", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"WORKER_SLOTS", c.WorkerSlots}, {"JOB_MAX_ACK_PENDING", c.MaxAckPending}, {"JOB_MAX_ATTEMPTS", c.MaxAttempts},
		{"JOB_MAX_RUNNING_PER_CLIENT", c.MaxRunningPerClient}, {"JOB_MAX_QUEUED_PER_CLIENT", c.MaxQueuedPerClient}, {"JOB_MAX_DAYS", c.JobMaxDays},
		{"JOB_GROUP_MAX_JOBS", c.JobGroupMaxJobs},
	} {
		if n.v < 0 {
			return fmt.Errorf("%s: %d is negative", n.name, n.v)
		}
	}
	if c.RateHeadroom < 0 {
		return fmt.Errorf("LIGHTSPEED_RATE_HEADROOM: %v is negative", c.RateHeadroom)
	}
	if 2*c.HeartbeatInterval > min(c.LeaseTTL, c.AckWait) {
		return fmt.Errorf("JOB_HEARTBEAT_INTERVAL: %v is more than half of the shorter of JOB_LEASE_TTL (%v) and JOB_ACK_WAIT (%v): "+
			"a lease or a message would run out between two beats", c.HeartbeatInterval, c.LeaseTTL, c.AckWait)
	}
	return nil
}

// Deps are what the process provides.
type Deps struct {
	Pool *pgxpool.Pool
	JS   jetstream.JetStream
	// Connections to the other services, authenticated as this service.
	ConfigConn, AuthConn, BalanceConn grpc.ClientConnInterface
	Logger                            *slog.Logger
	// Registry receives the metrics (the server's); nil keeps them unregistered.
	Registry prometheus.Registerer
	// HTTPClient sends POS requests; nil uses a default transport.
	HTTPClient *http.Client
	// NowFunc is the scheduler's and planner's clock; nil is time.Now.
	NowFunc func() time.Time
	// Owner names this process in leases and schedule claims; default host:pid.
	Owner string
}

// Service is the import-worker.
type Service struct {
	cfg     Config
	d       Deps
	logger  *slog.Logger
	store   *store.Store
	queue   *jobqueue.Queue
	metrics *metrics.Metrics
	starter *starter.Starter
	api     *api.Server
	worker  *worker.Worker
	// completer is the worker's and the reconciler's.
	completer *completion.Completer
}

// New checks cfg, with its defaults, and builds the service.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Owner == "" {
		host, _ := os.Hostname()
		d.Owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	logger := d.Logger.With("component", "import-worker")
	s := &Service{cfg: cfg, d: d, logger: logger, store: store.New(d.Pool).WithWindow(cfg.MaxRunningPerClient), metrics: metrics.New(d.Registry)}
	if d.Registry != nil {
		d.Registry.MustRegister(metrics.NewStoreGauges(s.store, logger))
	}
	s.queue = jobqueue.New(d.JS, jobqueue.Config{Prefix: cfg.StreamPrefix, AckWait: cfg.AckWait, MaxAckPending: cfg.MaxAckPending,
		Replicas: cfg.JobsReplicas})
	configClient := posimportv1.NewConfigServiceClient(d.ConfigConn)
	authClient := posimportv1.NewAuthServiceClient(d.AuthConn)
	s.starter = &starter.Starter{Store: s.store, Queue: s.queue, Config: configClient, Auth: authClient,
		Logger: logger, MaxDays: cfg.JobMaxDays, MaxGroupJobs: cfg.JobGroupMaxJobs, MaxQueuedPerClient: cfg.MaxQueuedPerClient, NowFunc: d.NowFunc}
	providers := provider.Default(provider.Options{LightspeedAPIURL: cfg.LightspeedAPIURL, RestaurantAPIURL: cfg.LightspeedRestaurantAPIURL, HTTPClient: posClient(d.HTTPClient, cfg.WorkerSlots)})
	budget := ratebudget.New(s.store, ratebudget.Config{Headroom: cfg.RateHeadroom, BurstWindow: cfg.LightspeedBurstWindow}, logger)
	s.starter.Revisiter = &changes.Revisiter{Auth: authClient, Providers: providers, Budget: budget, Metrics: s.metrics,
		LookbackDays: cfg.ScheduleLookbackDays, TokenMargin: cfg.TokenReuseMargin, Logger: logger.With("component", "changes"),
		Scanner: changes.Scanner{Store: s.store}}
	s.api = api.New(s.store, s.starter)
	s.completer = &completion.Completer{Store: s.store, Balance: posimportv1.NewBalanceServiceClient(d.BalanceConn), Metrics: s.metrics}
	s.worker = worker.New(worker.Config{
		Owner: d.Owner, Slots: cfg.WorkerSlots, LeaseTTL: cfg.LeaseTTL, HeartbeatInterval: cfg.HeartbeatInterval,
		MaxRunningPerClient: cfg.MaxRunningPerClient, MaxAttempts: cfg.MaxAttempts,
		ShutdownTimeout: cfg.Server.ShutdownTimeout, RetryBase: cfg.RetryBase,
		TokenMargin: cfg.TokenReuseMargin, WriteTimeout: cfg.BalanceWriteTimeout,
	}, worker.Deps{
		Store: s.store, Queue: s.queue, Config: configClient, Auth: authClient,
		Balance:   posimportv1.NewBalanceServiceClient(d.BalanceConn),
		Providers: providers, Budget: budget,
		Completer: s.completer, Metrics: s.metrics, Logger: logger,
	})
	return s, nil
}

// posClient is the client of POS requests: hc, or one keeping a connection per worker slot
// alive (the default transport keeps 2 per host, so the other slots would open a connection
// per request and leave it in TIME_WAIT).
func posClient(hc *http.Client, slots int) *http.Client {
	if hc != nil {
		return hc
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(slots, 2)
	return &http.Client{Transport: t}
}

// Register adds the ImportService's gRPC and REST handlers and its OpenAPI document to srv,
// when this process serves the API.
func (s *Service) Register(srv *server.Server) error {
	if !s.cfg.API {
		return nil
	}
	posimportv1.RegisterImportServiceServer(srv.GRPC(), s.api)
	doc, err := posimportv1.OpenAPI("import")
	if err != nil {
		return err
	}
	srv.Register(posimportv1.ImportService_ServiceDesc.ServiceName,
		func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return posimportv1.RegisterImportServiceHandler(ctx, mux, conn)
		}, doc)
	return nil
}

// Run creates the stream and consumer, then runs the enabled loops until ctx ends. On
// shutdown the worker stops taking messages and finishes (or releases) its in-flight jobs.
func (s *Service) Run(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if s.cfg.Worker {
		g.Go(func() error {
			// The freshness a restarted worker reports before its next import; Fresh only
			// moves forward, so imports marked meanwhile are not undone.
			what := "read the departments' last imported dates"
			_ = retry.Do(gctx, startupRetry(gctx, s.logger, what), func(ctx context.Context, _ int) error {
				dates, err := s.store.LastImported(ctx)
				for _, d := range dates {
					s.metrics.Fresh(d.ClientID, d.DepartmentID, d.Date)
				}
				return err
			})
			return nil
		})
		g.Go(func() error { return s.worker.Run(gctx) })
		rec := &reconcile.Reconciler{Store: s.store, Queue: s.queue, Completer: s.completer,
			Metrics: s.metrics, Logger: s.logger.With("component", "reconciler"),
			Interval: s.cfg.ReconcileInterval, Grace: s.cfg.ReconcileGrace}
		g.Go(func() error { return rec.Run(gctx) })
	}
	if s.cfg.Scheduler {
		zone, _ := time.LoadLocation(s.cfg.ScheduleZone)
		dir := schedule.ServiceDirectory{Config: posimportv1.NewConfigServiceClient(s.d.ConfigConn),
			Auth: posimportv1.NewAuthServiceClient(s.d.AuthConn)}
		sch := &schedule.Scheduler{
			Store: s.store, Directory: dir,
			Launcher: schedule.StarterLauncher{Starter: s.starter}, Reporter: s.metrics,
			Logger: s.logger.With("component", "scheduler"), Zone: zone, At: s.cfg.ScheduleTime,
			Owner: s.d.Owner, ClaimTTL: 10 * time.Minute, NowFunc: s.d.NowFunc,
		}
		g.Go(func() error { return sch.Run(gctx, s.cfg.ScheduleInterval) })
		ref := &intraday.Refresher{Claims: s.store,
			Directory: intraday.ServiceDirectory{ServiceDirectory: dir},
			Launcher:  intraday.StarterLauncher{Starter: s.starter}, Logger: s.logger.With("component", "intraday"),
			Owner: s.d.Owner, NowFunc: s.d.NowFunc}
		g.Go(func() error { return ref.Run(gctx, s.cfg.ScheduleInterval) })
	}
	return g.Wait()
}

// setup creates the stream and consumer, retrying while NATS is not reachable yet.
func (s *Service) setup(ctx context.Context) error {
	return retry.Do(ctx, startupRetry(ctx, s.logger, "jetstream setup"), func(ctx context.Context, _ int) error {
		_, err := s.queue.Setup(ctx)
		return err
	})
}

// startupRetry retries what the service needs to start until it succeeds or ctx ends, after
// 200 ms, 400 ms, … at most 5 s, logging each failure.
func startupRetry(ctx context.Context, logger *slog.Logger, what string) retry.Policy {
	return retry.Policy{
		Op:         what,
		Backoff:    retry.Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: retry.NoJitter},
		NotifyFunc: retry.Warn(ctx, logger, "retrying", "what", what),
	}
}
