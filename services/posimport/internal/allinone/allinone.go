// Package allinone runs the four posimport services in one process: config, auth, balance and
// import-worker, built by the same public packages their separate deployments use, on one gRPC
// port and one HTTP port, with JetStream embedded, PostgreSQL from a URL or a private cluster
// under the data directory, and optionally the Lightspeed simulator. `posimport up` and
// `posimport demo` run it.
package allinone

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/pkg/platform/pgcluster"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/balance/balanceservice"
	"github.com/posimport/posimport/services/config/configservice"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/posimport/internal/localkeys"
)

// Policy is the role table of the process: the four services' tables merged.
var Policy = authn.Merge(configservice.Policy, authservice.Policy, balanceservice.Policy, importservice.Policy)

// Services are the gRPC services the process serves.
var Services = []grpc.ServiceDesc{
	posimportv1.ConfigService_ServiceDesc, posimportv1.AuthService_ServiceDesc,
	posimportv1.BalanceService_ServiceDesc, posimportv1.ImportService_ServiceDesc,
}

// OpenAPI returns the document the process serves at /openapi.json, apart from the host,
// which each answer takes from its request: the four services' documents merged, in the
// order startServices registers them.
func OpenAPI() ([]byte, error) {
	var docs [][]byte
	for _, file := range []string{"config", "auth", "balance", "import"} {
		doc, err := posimportv1.OpenAPI(file)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return server.MergeOpenAPI(serverName, docs...)
}

// serverName names the process's server, and so its OpenAPI document.
const serverName = "posimport"

// Paths on the HTTP port besides the REST API.
const (
	// CallbackPath receives the browser from the POS after consent (the auth service's route).
	CallbackPath = "/oauth/callback"
	// DonePath is where the browser ends after the callback: a page saying how it went.
	DonePath = "/oauth/done"
)

// DatabaseName is the database posimport uses in its private cluster.
const DatabaseName = "posimport"

// Options configure the process.
type Options struct {
	// DataDir holds the keys (keys/), the private PostgreSQL cluster (pg/) and the JetStream
	// store (nats/). It is kept between runs.
	DataDir string
	// GRPCAddr and HTTPAddr are where the four services listen (":0" picks ports).
	GRPCAddr, HTTPAddr string
	// DatabaseURL is the PostgreSQL to use; empty runs a private cluster under DataDir/pg.
	DatabaseURL string
	// FastPostgres turns fsync off in the private cluster: for throwaway data only (the demo).
	FastPostgres bool
	// NATSURL is an external NATS server; empty embeds JetStream, storing under DataDir/nats.
	NATSURL string
	// NATSListen makes the embedded server accept clients on host:port; empty accepts none.
	NATSListen string
	// StreamPrefix keeps deployments sharing a NATS server apart (JOBS_STREAM_PREFIX).
	StreamPrefix string
	// Simulate runs the Lightspeed simulator in-process, listening on SimAddr, and points the
	// services at it, for Lightspeed Retail and Lightspeed Restaurant alike.
	Simulate *sim.Options
	SimAddr  string
	// SimulatorURL points the services at a simulator running elsewhere (posimport sim).
	SimulatorURL string
	// ShutdownTimeout bounds each stage of the graceful stop (in-flight jobs, then RPCs).
	ShutdownTimeout time.Duration
	// Environ is the environment the services read their configuration from, as their
	// separate deployments do (Lightspeed credentials, worker slots, schedule...); nil is the
	// process environment. What this process decides (addresses, callback, keys, the
	// simulator's URLs) is set in the typed configurations over it.
	Environ map[string]string
	// Logger receives every service's logs.
	Logger *slog.Logger
}

// Stack is the running process.
type Stack struct {
	// GRPCAddr and HTTPAddr are the bound addresses.
	GRPCAddr, HTTPAddr string
	// PostgresURL is the database's URL without its password (the private cluster's is in
	// DataDir/pg/password).
	PostgresURL string
	// PrivatePostgres says the cluster under DataDir/pg is ours (started and stopped with us).
	PrivatePostgres bool
	// NATS describes where the jobs are queued.
	NATS string
	// SimURL is the simulator's base URL ("" without one); Sim is the in-process one.
	SimURL string
	Sim    *sim.Server
	// Keys are the data directory's keys.
	Keys *localkeys.Keys

	opts     Options
	log      *slog.Logger
	cluster  *pgcluster.Cluster
	pools    []*pgxpool.Pool
	conns    []*grpc.ClientConn
	nats     *natsjs.Conn
	srv      *server.Server
	simSrv   *http.Server
	simLn    net.Listener
	balance  *balanceservice.Service
	imports  *importservice.Service
	shutdown time.Duration
}

// Start brings everything up, ready to Run; on error it stops what it started.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 15 * time.Second
	}
	if o.Environ == nil {
		o.Environ = Environ()
	}
	s := &Stack{opts: o, log: o.Logger, shutdown: o.ShutdownTimeout}
	defer func() {
		if err != nil {
			s.close(context.WithoutCancel(ctx))
		}
	}()
	if err := s.prepareDataDir(); err != nil {
		return nil, err
	}
	if s.Keys, err = localkeys.LoadOrCreate(o.DataDir); err != nil {
		return nil, err
	}
	dbURL, err := s.startPostgres(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.startSimulator(); err != nil {
		return nil, err
	}
	verifier, err := authn.NewVerifier(s.jwtConfig())
	if err != nil {
		return nil, err
	}
	s.srv, err = server.New(server.Config{GRPCAddr: o.GRPCAddr, HTTPAddr: o.HTTPAddr, ShutdownTimeout: o.ShutdownTimeout},
		server.Options{Name: serverName, Logger: o.Logger.With(logging.ComponentKey, "server"), Authorizer: authn.NewAuthorizer(verifier, Policy)})
	if err != nil {
		return nil, err
	}
	s.GRPCAddr, s.HTTPAddr = s.srv.GRPCAddr(), s.srv.HTTPAddr()
	if err := s.startServices(ctx, dbURL); err != nil {
		return nil, err
	}
	s.srv.Handle("GET "+DonePath, http.HandlerFunc(consentDone))
	return s, nil
}

// prepareDataDir creates the data directory. As root the private cluster runs as the postgres
// user, which must be able to reach DataDir/pg: the directory is then traversable (0711), and
// its secrets stay in files only root may read.
func (s *Stack) prepareDataDir() error {
	if err := os.MkdirAll(s.opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if os.Geteuid() == 0 && s.opts.DatabaseURL == "" {
		if err := os.Chmod(s.opts.DataDir, 0o711); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	return nil
}

// startPostgres returns the database URL: opts.DatabaseURL, or the private cluster's
// posimport database, created on first run.
func (s *Stack) startPostgres(ctx context.Context) (string, error) {
	if s.opts.DatabaseURL != "" {
		s.PostgresURL = withoutPassword(s.opts.DatabaseURL)
		return s.opts.DatabaseURL, nil
	}
	dir := filepath.Join(s.opts.DataDir, "pg")
	if err := pgcluster.StopStale(ctx, dir); err != nil {
		return "", err
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: s.opts.FastPostgres})
	if err != nil {
		return "", err
	}
	s.cluster, s.PrivatePostgres = c, true
	u, err := postgres.CreateDatabase(ctx, c.URL(), DatabaseName)
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	s.PostgresURL = withoutPassword(u)
	return u, nil
}

// startSimulator starts the in-process simulator, or notes the external one.
func (s *Stack) startSimulator() error {
	if s.opts.SimulatorURL != "" {
		s.SimURL = s.opts.SimulatorURL
		return nil
	}
	if s.opts.Simulate == nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.SimAddr)
	if err != nil {
		return fmt.Errorf("simulator: listen: %w", err)
	}
	s.simLn = ln
	o := *s.opts.Simulate
	o.PublicURL = "http://" + ln.Addr().String()
	o.AutoConsent = true
	if o.Logger == nil {
		o.Logger = s.log.With(logging.ComponentKey, "simulator")
	}
	if s.Sim, err = sim.New(o); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	s.SimURL = o.PublicURL
	s.simSrv = server.NewHTTPServer(s.Sim, server.Config{}, o.Logger)
	go func() { _ = s.simSrv.Serve(ln) }()
	return nil
}

// jwtConfig is what the process trusts: each service's own key (bound to it) and the
// operators' key, from the data directory; the main app's issuer and keys, and the keys of
// services running elsewhere, when the environment names them as a deployment's would.
func (s *Stack) jwtConfig() authn.Config {
	env := s.opts.Environ
	return authn.Config{
		Audience:          localkeys.Audience,
		AppIssuer:         env["JWT_APP_ISSUER"],
		AppKeys:           env["JWT_APP_KEYS"],
		ServiceKeys:       env["JWT_SERVICE_KEYS"],
		Keys:              s.Keys.VerificationKeys(),
		RetiredPublicKeys: env["JWT_PUBLIC_KEYS"],
		RetiredIssuers:    env["JWT_ISSUERS"],
	}
}

// load reads a service's configuration from the operator's environment over its defaults, and
// logs any deprecated variable it uses.
func (s *Stack) load(name string, cfg app.Configurable) error {
	if err := envconfig.LoadFrom(cfg, s.opts.Environ); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, a := range envconfig.Deprecated(cfg, s.opts.Environ) {
		s.log.Warn("deprecated environment variable", "service", name, "variable", a.Deprecated, "use", a.Name)
	}
	return nil
}

// simulated points the services' POS settings at the simulator, which serves both products on
// one address: Lightspeed Retail (R-Series) with its OAuth under /auth/oauth/, Lightspeed
// Restaurant (K-Series) under /oauth/.
func (s *Stack) simulated(authCfg *authservice.Config, importCfg *importservice.Config) {
	oauth := func(prefix string) authservice.LightspeedConfig {
		return authservice.LightspeedConfig{
			ClientID: sim.DefaultClientID, ClientSecret: secret.New(sim.DefaultClientSecret),
			AuthorizeURL: s.SimURL + prefix + "authorize", TokenURL: s.SimURL + prefix + "token",
			RevokeURL: s.SimURL + prefix + "revoke", APIBaseURL: s.SimURL,
		}
	}
	// The scopes stay the operator's (or their defaults).
	retail, restaurant := oauth("/auth/oauth/"), oauth("/oauth/")
	retail.Scopes, restaurant.Scopes = authCfg.Lightspeed.Scopes, authCfg.Restaurant.Scopes
	authCfg.Lightspeed, authCfg.Restaurant = retail, authservice.RestaurantConfig(restaurant)
	importCfg.LightspeedAPIURL, importCfg.LightspeedRestaurantAPIURL = s.SimURL, s.SimURL
	if o := s.opts.Simulate; o != nil && o.RateLimit.TimeScale > 1 {
		// The simulator's burst window shrinks with its clock.
		importCfg.LightspeedBurstWindow = time.Duration(float64(time.Second) / o.RateLimit.TimeScale)
	}
}

// configs are the four services' configurations.
type configs struct {
	config  configservice.Config
	auth    authservice.Config
	balance balanceservice.Config
	imports importservice.Config
}

// configure builds the services' typed configurations: the operator's environment over each
// one's defaults, then what this process decides.
func (s *Stack) configure() (configs, error) {
	c := configs{
		auth: authservice.Config{}.WithDefaults(), balance: balanceservice.Config{}.WithDefaults(),
		imports: importservice.Config{}.WithDefaults(),
	}
	for _, svc := range []struct {
		name string
		cfg  app.Configurable
	}{{"config", &c.config}, {"auth", &c.auth}, {"balance", &c.balance}, {"import-worker", &c.imports}} {
		if err := s.load(svc.name, svc.cfg); err != nil {
			return configs{}, err
		}
	}
	base := "http://" + s.HTTPAddr
	c.auth.CallbackURL, c.auth.ReturnURL = base+CallbackPath, base+DonePath
	if c.auth.TokenKeys.IsZero() {
		c.auth.TokenKeys = s.Keys.TokenKeys
	}
	if c.auth.ReconnectURL == "" {
		c.auth.ReconnectURL = "posimport auth connect --client {client_id}"
	}
	if s.opts.StreamPrefix != "" {
		c.imports.StreamPrefix = s.opts.StreamPrefix
	}
	c.imports.Server.ShutdownTimeout = s.shutdown
	if s.SimURL != "" {
		s.simulated(&c.auth, &c.imports)
	}
	return c, nil
}

// startServices builds the four services from their public packages and typed configurations,
// each on its own pool and dialling the others at the shared gRPC port with its own identity.
func (s *Stack) startServices(ctx context.Context, dbURL string) error {
	cfg, err := s.configure()
	if err != nil {
		return err
	}
	// Each service dials with its own key, so its calls carry its identity.
	dial := func(name string) (*grpc.ClientConn, error) {
		conn, err := app.Dial(s.GRPCAddr, s.Keys.Service(name))
		if err == nil {
			s.conns = append(s.conns, conn)
		}
		return conn, err
	}
	logger := func(name string) *slog.Logger { return s.log.With(logging.ServiceKey, name) }

	// Config.
	pool, err := s.connect(ctx, dbURL, cfg.config.Base(), "config", configservice.Schema, configservice.Migrations)
	if err != nil {
		return err
	}
	configSvc, err := configservice.New(cfg.config, configservice.Deps{Pool: pool, Logger: logger("config")})
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := configSvc.Register(s.srv); err != nil {
		return err
	}

	// Auth.
	if pool, err = s.connect(ctx, dbURL, cfg.auth.Base(), "auth", authservice.Schema, authservice.Migrations); err != nil {
		return err
	}
	conn, err := dial(authn.ServiceAuth)
	if err != nil {
		return err
	}
	authSvc, err := authservice.New(cfg.auth, authservice.Deps{Pool: pool, Config: posimportv1.NewConfigServiceClient(conn), Logger: logger("auth")})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := authSvc.Register(s.srv); err != nil {
		return err
	}

	// Balance.
	if pool, err = s.connect(ctx, dbURL, cfg.balance.Base(), "balance", balanceservice.Schema, balanceservice.Migrations); err != nil {
		return err
	}
	if conn, err = dial(authn.ServiceBalance); err != nil {
		return err
	}
	if s.balance, err = balanceservice.New(cfg.balance, balanceservice.Deps{
		Pool: pool, Config: posimportv1.NewConfigServiceClient(conn), Logger: logger("balance"),
	}); err != nil {
		return fmt.Errorf("balance: %w", err)
	}
	if err := s.balance.Register(s.srv); err != nil {
		return err
	}

	// Import-worker, with JetStream.
	if pool, err = s.connect(ctx, dbURL, cfg.imports.Base(), "import-worker", importservice.Schema, importservice.Migrations); err != nil {
		return err
	}
	storeDir := filepath.Join(s.opts.DataDir, "nats")
	if s.nats, err = natsjs.Connect(ctx, natsjs.Options{URL: s.opts.NATSURL, Name: "posimport", StoreDir: storeDir,
		ListenAddr: s.opts.NATSListen, Logger: s.log}); err != nil {
		return err
	}
	switch {
	case s.opts.NATSURL != "":
		s.NATS = s.opts.NATSURL
	case s.opts.NATSListen != "":
		s.NATS = "embedded JetStream in " + storeDir + ", listening on nats://" + s.opts.NATSListen
	default:
		s.NATS = "embedded JetStream in " + storeDir + " (no listener)"
	}
	if conn, err = dial(authn.ServiceImportWorker); err != nil {
		return err
	}
	// One connection reaches config, auth and balance: they share the port.
	s.imports, err = importservice.New(cfg.imports, importservice.Deps{
		Pool: pool, JS: s.nats.JS, ConfigConn: conn, AuthConn: conn, BalanceConn: conn,
		Logger: logger("import-worker"), Registry: s.srv.Registry(),
	})
	if err != nil {
		return fmt.Errorf("import-worker: %w", err)
	}
	if err := s.imports.Register(s.srv); err != nil {
		return err
	}
	// The four pools reach one database; one ping tells whether it answers.
	s.srv.AddReadiness("postgres", pool.Ping)
	s.srv.AddReadiness("nats", s.nats.Ready)
	return nil
}

// connect opens a service's pool on its schema in the database at dbURL, migrated.
func (s *Stack) connect(ctx context.Context, dbURL string, base *app.Config, name, schema string, migrations func() fs.FS) (*pgxpool.Pool, error) {
	pool, err := postgres.Connect(ctx, dbURL, postgres.Options{
		Schema: schema, MaxConns: base.DBMaxConns, ApplicationName: "posimport-" + name,
	})
	if err != nil {
		return nil, err
	}
	s.pools = append(s.pools, pool)
	if err := postgres.Migrate(ctx, pool, schema, migrations(), s.log.With(logging.ServiceKey, name)); err != nil {
		return nil, err
	}
	return pool, nil
}

// Run serves until ctx ends or a part fails, then stops in an order that loses no work:
// the import-worker stops taking jobs and finishes or hands back its in-flight ones while the
// APIs it writes through still serve; then the servers stop, NATS drains (the embedded store
// keeps the queued jobs), the pools close and the private PostgreSQL stops.
func (s *Stack) Run(ctx context.Context) error {
	bgCtx, stopBg := context.WithCancel(ctx)
	defer stopBg()
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()

	srvDone := make(chan error, 1)
	go func() { srvDone <- s.srv.Run(srvCtx) }()
	bg, bgGroupCtx := errgroup.WithContext(bgCtx)
	bg.Go(func() error { return s.imports.Run(bgGroupCtx) })
	bg.Go(func() error { return s.balance.Run(bgGroupCtx) })
	bgDone := make(chan error, 1)
	go func() { bgDone <- bg.Wait() }()

	var srvErr, bgErr error
	srvEnded := false
	select {
	case <-ctx.Done():
	case srvErr = <-srvDone:
		srvEnded = true
	case <-bgGroupCtx.Done():
	}
	s.log.InfoContext(ctx, "stopping: finishing or handing back in-flight jobs")
	stopBg()
	bgErr = <-bgDone
	stopSrv()
	if !srvEnded {
		srvErr = <-srvDone
	}
	closeErr := s.close(context.WithoutCancel(ctx))
	if errors.Is(bgErr, context.Canceled) {
		bgErr = nil
	}
	return errors.Join(srvErr, bgErr, closeErr)
}

// close releases everything Start made, in reverse order.
func (s *Stack) close(ctx context.Context) error {
	var errs []error
	for _, c := range s.conns {
		_ = c.Close()
	}
	if s.nats != nil {
		s.nats.Close()
	}
	if s.srv != nil {
		// A server that never ran still holds its ports; after Run this is a no-op.
		_ = s.srv.Close()
	}
	for _, p := range s.pools {
		p.Close()
	}
	if s.simSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = s.simSrv.Shutdown(sctx)
		cancel()
	} else if s.simLn != nil {
		_ = s.simLn.Close()
	}
	if s.cluster != nil {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := s.cluster.Stop(sctx, "fast"); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// withoutPassword drops the password of a PostgreSQL URL, for printing.
func withoutPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable URL)"
		}
		return raw
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// consentDone is the page the browser ends on after consent.
func consentDone(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if q.Get("result") == "error" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, "posimport: client %s was not connected: %s\n", q.Get("client_id"), q.Get("reason"))
		return
	}
	_, _ = fmt.Fprintf(w, "posimport: client %s is %s. You can close this window.\n", q.Get("client_id"), q.Get("result"))
}

// Environ returns the process environment as a map, for Options.Environ.
func Environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
