// Package pipelinetest runs the whole import pipeline for tests: the Lightspeed simulator as
// a real HTTP server, the config, auth and balance services and one or more import-workers on
// real ports, a real PostgreSQL (one database, one schema per service) and a real NATS. It
// connects clients the way people do (settings, departments and fields through config's REST
// API, consent through auth's OAuth flow against the simulator, enabling by the integration
// contact) and compares the balance with the simulator's oracle.
package pipelinetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/balance/balanceservice"
	"github.com/posimport/posimport/services/config/configservice"
	"github.com/posimport/posimport/services/import-worker/importservice"
)

// Options shape the simulated merchants and the pipeline.
type Options struct {
	// Accounts, ShopsPerAccount and RegistersPerShop shape the simulator's data (default 1).
	Accounts, ShopsPerAccount, RegistersPerShop int
	// SalesPerDay is the mean number of sales per register and day.
	SalesPerDay int
	// Days of sales, ending yesterday (default 365).
	Days int
	// Zones of the shops, used in turn (default the simulator's mix).
	Zones []string
	// TimeScale speeds the simulator's rate limiter up; 0 disables rate limiting.
	TimeScale float64
	// Seed of the data.
	Seed uint64
	// Workers is the number of in-process import-workers (default 1); 0 is allowed with
	// NoWorker for tests that run their own.
	Workers  int
	NoWorker bool
	// WorkerConfig adjusts every import-worker's configuration.
	WorkerConfig func(*importservice.Config)
	// Logs receives every service's logs when set.
	Logs *slog.Logger
	// OwnNATS runs a NATS server of the test's own, listening on loopback (so worker
	// processes can connect, and RestartNATS can restart it), instead of NATS_URL's.
	OwnNATS bool
	// OwnPostgres runs a PostgreSQL cluster of the test's own (RestartPostgres can crash it).
	OwnPostgres bool
	// AccessTokenTTL is the simulator's access-token lifetime (default its own, 30 min);
	// shorter makes the auth service refresh during a test.
	AccessTokenTTL time.Duration
	// BalanceDBURL, when set, rewrites the database URL of the balance service's pool (e.g.
	// through a fault-injecting proxy).
	BalanceDBURL func(dbURL string) string
	// POSClient, when set, sends the in-process import-workers' POS requests (e.g. through a
	// transport that injects a fault).
	POSClient *http.Client
}

// Env is a running pipeline.
type Env struct {
	Opts    Options
	Sim     *sim.Server
	SimURL  string
	Keys    *servicetest.Keys
	DBURL   string
	Prefix  string
	NATS    *natsjs.Conn
	Config  *servicetest.Running
	Auth    *servicetest.Running
	Balance *servicetest.Running
	// Imports are the import-workers' servers; Imports[0] serves the API.
	Imports []*servicetest.Running
	// Pool is the imports schema.
	Pool *pgxpool.Pool
	// NATSURL is where worker processes connect.
	NATSURL string
	// Recorder stands in front of the simulator: token calls, API requests, poison data.
	Recorder *simtest.Recorder
	// TokenKey is the auth service's token encryption key (a canary for log checks).
	TokenKey string
	own      ownServers
	// BalanceClient reads the balance as a viewer of the request's client.
	BalanceClient posimportv1.BalanceServiceClient
	logger        *slog.Logger
}

const (
	callbackPath = "/oauth/callback"
	returnHost   = "app.example"
)

// Start builds the pipeline; everything stops when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Days == 0 {
		o.Days = 365
	}
	if o.Workers == 0 && !o.NoWorker {
		o.Workers = 1
	}
	e := &Env{Opts: o, Keys: servicetest.NewKeys(t), Prefix: natstest.Prefix(t), logger: o.Logs}
	if o.OwnPostgres {
		e.DBURL = e.startPostgres(t)
	} else {
		e.DBURL = pgtest.NewDatabase(t)
	}
	if e.logger == nil {
		e.logger = logging.Discard()
	}
	yesterday := time.Now().AddDate(0, 0, -1)
	s, err := sim.New(sim.Options{
		Seed: o.Seed, AutoConsent: true,
		Data: sim.DataOptions{
			Accounts: o.Accounts, ShopsPerAccount: o.ShopsPerAccount, RegistersPerShop: o.RegistersPerShop,
			Zones: o.Zones, SalesPerDay: o.SalesPerDay, From: yesterday.AddDate(0, 0, -(o.Days - 1)), Until: yesterday,
		},
		RateLimit:      sim.RateLimitOptions{Disabled: o.TimeScale == 0, TimeScale: o.TimeScale},
		AccessTokenTTL: o.AccessTokenTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Sim = s
	e.Recorder = simtest.NewRecorder(s)
	hs := httptest.NewServer(e.Recorder)
	t.Cleanup(hs.Close)
	e.SimURL = hs.URL

	configPool := e.connect(t, configservice.Schema, configservice.Migrations())
	e.Config = servicetest.Start(t, e.Keys, configservice.Policy, e.logger, func(s *server.Server) error {
		svc, err := configservice.New(configservice.Config{}, configservice.Deps{Pool: configPool, Logger: e.logger})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	authPool := e.connect(t, authservice.Schema, authservice.Migrations())
	e.TokenKey = newTokenKey()
	e.Auth = servicetest.Start(t, e.Keys, authservice.Policy, e.logger, func(s *server.Server) error {
		svc, err := authservice.New(authservice.Config{
			Lightspeed: authservice.LightspeedConfig{
				ClientID: sim.DefaultClientID, ClientSecret: secret.New(sim.DefaultClientSecret),
				AuthorizeURL: e.SimURL + "/auth/oauth/authorize", TokenURL: e.SimURL + "/auth/oauth/token",
				RevokeURL: e.SimURL + "/auth/oauth/revoke", APIBaseURL: e.SimURL, Scopes: []string{"employee:register"},
			},
			CallbackURL: "http://" + s.HTTPAddr() + callbackPath, ReturnURL: "https://" + returnHost + "/pos",
			TokenKeys: secret.New(e.TokenKey), RefreshMargin: 30 * time.Second, ProviderTimeout: 10 * time.Second,
			DepartmentCheckTTL: time.Minute,
		}, authservice.Deps{Pool: authPool, Config: posimportv1.NewConfigServiceClient(e.dial(t, e.Config.GRPCAddr, authn.ServiceAuth)), Logger: e.logger})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	balanceURL := e.DBURL
	if o.BalanceDBURL != nil {
		balanceURL = o.BalanceDBURL(e.DBURL)
	}
	balancePool := e.connectURL(t, balanceURL, balanceservice.Schema, balanceservice.Migrations())
	e.Balance = servicetest.Start(t, e.Keys, balanceservice.Policy, e.logger, func(s *server.Server) error {
		svc, err := balanceservice.New(balanceservice.Config{ConfigCacheTTL: time.Second}, balanceservice.Deps{
			Pool: balancePool, Config: posimportv1.NewConfigServiceClient(e.dial(t, e.Config.GRPCAddr, authn.ServiceBalance)), Logger: e.logger,
		})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	e.BalanceClient = posimportv1.NewBalanceServiceClient(e.Keys.DialPerson(t, e.Balance.GRPCAddr, authn.RoleViewer))
	e.Pool = e.connect(t, importservice.Schema, importservice.Migrations())
	if o.OwnNATS {
		e.NATS = e.startNATS(t)
	} else {
		e.NATS = natstest.Conn(t)
	}
	for i := range o.Workers {
		api := i == 0
		e.Imports = append(e.Imports, e.StartImportWorker(t, fmt.Sprintf("worker-%d", i), func(c *importservice.Config) { c.API = api }))
	}
	return e
}

// newTokenKey is a fresh key for the auth service's token encryption.
func newTokenKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "k1=" + base64.StdEncoding.EncodeToString(b)
}

func (e *Env) connect(t testing.TB, schema string, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	return e.connectURL(t, e.DBURL, schema, migrations)
}

func (e *Env) connectURL(t testing.TB, dbURL, schema string, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	return pgtest.MigratedPool(t, dbURL, schema, migrations, 16)
}

// dial connects to a service as the posimport service named service.
func (e *Env) dial(t testing.TB, addr, service string) *grpc.ClientConn {
	t.Helper()
	return e.Keys.Dial(t, addr, service)
}

// WorkerConfig is the import-worker configuration of this pipeline (with fast test timings).
func (e *Env) WorkerConfig() importservice.Config {
	c := importservice.Config{
		StreamPrefix: e.Prefix, API: false, Worker: true, Scheduler: false, WorkerSlots: 4,
		LightspeedAPIURL: e.SimURL, LightspeedBurstWindow: time.Second, RateHeadroom: 2,
		ScheduleTime: "02:00", ScheduleZone: "Europe/Copenhagen", ScheduleInterval: time.Second,
		LeaseTTL: 10 * time.Second, AckWait: 20 * time.Second, MaxAckPending: 64, MaxAttempts: 10,
		MaxRunningPerClient: 4, JobMaxDays: 31, RetryBase: 200 * time.Millisecond,
		ReconcileInterval: time.Second, ReconcileGrace: 5 * time.Second,
	}
	if e.Opts.TimeScale > 0 {
		c.LightspeedBurstWindow = time.Duration(float64(time.Second) / e.Opts.TimeScale)
	}
	c.Server.ShutdownTimeout = 5 * time.Second
	if e.Opts.WorkerConfig != nil {
		e.Opts.WorkerConfig(&c)
	}
	return c
}

// StartImportWorker starts one more in-process import-worker sharing the database and NATS;
// adjust, if set, changes its configuration.
func (e *Env) StartImportWorker(t testing.TB, owner string, adjust func(*importservice.Config)) *servicetest.Running {
	t.Helper()
	cfg := e.WorkerConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	var svc *importservice.Service
	if e.logger == nil { // an Env put together by hand (services of its own)
		e.logger = logging.Discard()
	}
	r := servicetest.Start(t, e.Keys, importservice.Policy, e.logger, func(s *server.Server) error {
		var err error
		svc, err = importservice.New(cfg, importservice.Deps{
			Pool: e.Pool, JS: e.NATS.JS,
			ConfigConn: e.dial(t, e.Config.GRPCAddr, authn.ServiceImportWorker), AuthConn: e.dial(t, e.Auth.GRPCAddr, authn.ServiceImportWorker), BalanceConn: e.dial(t, e.Balance.GRPCAddr, authn.ServiceImportWorker),
			Logger: e.logger.With("owner", owner), Registry: s.Registry(), Owner: owner, HTTPClient: e.Opts.POSClient,
		})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("import-worker %s: %v", owner, err)
		}
	})
	return r
}

// Department maps a department to a simulated shop.
type Department struct {
	ID        string
	Shop      sim.Shop
	Registers []string
}

// Departments maps the shops of the simulator's account i to departments d1, d2, …, each with
// the shop's registers (all of them; none when noRegisters).
func (e *Env) Departments(account int, noRegisters bool) []Department {
	a := e.Sim.Accounts()[account]
	var out []Department
	for i, s := range a.Shops {
		d := Department{ID: "d" + strconv.Itoa(i+1), Shop: s}
		if !noRegisters {
			for _, r := range s.Registers {
				d.Registers = append(d.Registers, strconv.FormatInt(r.ID, 10))
			}
		}
		out = append(out, d)
	}
	return out
}

// AccountID returns the simulator's i-th account id.
func (e *Env) AccountID(i int) int64 { return e.Sim.Accounts()[i].ID }

// Fields are the weekly-balance fields every test client gets: each POS data type, split into
// hours or kept per day.
var Fields = []struct {
	ID    int64
	Type  posimportv1.PosDataType
	Split bool
}{
	{5001, posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, true},
	{5002, posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES, true},
	{5003, posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS, false},
	{5004, posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, true},
	{5005, posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS, true},
	{5006, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD, false},
	{5007, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED, true},
	{5008, posimportv1.PosDataType_POS_DATA_TYPE_VISITORS, true},
}

// Configure stores a client's settings, departments and fields through config's REST API.
func (e *Env) Configure(t testing.TB, client string, deps []Department) {
	t.Helper()
	sup := e.Keys.Token(t, authn.RoleSupervisor, client)
	e.put(t, e.Config, "/v1/clients/"+client+"/settings", sup, map[string]any{
		"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL",
		"time_zone": "Europe/Copenhagen",
	})
	for _, d := range deps {
		e.put(t, e.Config, "/v1/clients/"+client+"/departments/"+d.ID, sup, map[string]any{
			"name": d.ID, "pos_client_number": strconv.FormatInt(d.Shop.ID, 10), "pos_terminal_numbers": d.Registers,
			"time_zone": d.Shop.TimeZone,
		})
	}
	for _, f := range Fields {
		e.put(t, e.Config, "/v1/clients/"+client+"/fields/"+strconv.FormatInt(f.ID, 10), sup, map[string]any{
			"name": f.Type.String(), "pos_data_type": f.Type.String(), "split_into_intervals": f.Split,
		})
	}
}

func (e *Env) put(t testing.TB, r *servicetest.Running, path, token string, body any) {
	t.Helper()
	if resp := r.Do(t, "PUT", path, token, body); resp.Status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", path, resp.Status, resp.Body)
	}
}

// Connect gives the client's consent for the simulator's account (auto-consent) through the
// auth service's OAuth flow, and enables the integration as the integration contact.
func (e *Env) Connect(t testing.TB, client string, account int64, enable bool) {
	t.Helper()
	e.ConnectAccounts(t, client, strconv.FormatInt(account, 10), enable)
}

// ConnectAccounts is Connect for a consent covering accounts, the simulator's account_id
// parameter: several Lightspeed Restaurant businesses are "300001,300002".
func (e *Env) ConnectAccounts(t testing.TB, client, accounts string, enable bool) {
	t.Helper()
	r := e.Auth.Do(t, "POST", "/v1/clients/"+client+"/connection:begin", e.Keys.Token(t, authn.RoleSupervisor, client), map[string]any{})
	if r.Status != http.StatusOK {
		t.Fatalf("begin connect: %d %s", r.Status, r.Body)
	}
	var begin struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	r.JSON(t, &begin)
	u, err := url.Parse(begin.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("account_id", accounts)
	u.RawQuery = q.Encode()
	c := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == returnHost {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("result") == "error" {
		t.Fatalf("consent for %s ended at %v (%d)", client, loc, resp.StatusCode)
	}
	if enable {
		r := e.Auth.Do(t, "POST", "/v1/clients/"+client+"/connection:setEnabled", e.Keys.Token(t, authn.RoleIntegrationContact, client),
			map[string]any{"enabled": true})
		if r.Status != http.StatusOK {
			t.Fatalf("enable %s: %d %s", client, r.Status, r.Body)
		}
	}
}

// ImportClient returns an ImportService client calling as a supervisor of client.
func (e *Env) ImportClient(t testing.TB, client string) posimportv1.ImportServiceClient {
	t.Helper()
	return posimportv1.NewImportServiceClient(servicetest.DialAs(t, e.Imports[0].GRPCAddr, e.Keys.Token(t, authn.RoleSupervisor, client)))
}

// WaitImport waits until the import ends and returns it.
func (e *Env) WaitImport(t testing.TB, client, id string, timeout time.Duration) *posimportv1.Import {
	t.Helper()
	ic := e.ImportClient(t, client)
	deadline := time.Now().Add(timeout)
	for {
		resp, err := ic.GetImport(context.Background(), &posimportv1.GetImportRequest{ClientId: client, ImportId: id})
		if err == nil {
			switch resp.GetImport().GetState() {
			case posimportv1.ImportState_IMPORT_STATE_SUCCEEDED, posimportv1.ImportState_IMPORT_STATE_FAILED,
				posimportv1.ImportState_IMPORT_STATE_CANCELLED:
				return resp.GetImport()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s did not end within %v: %v %v", id, timeout, resp.GetImport().GetProgress(), err)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}
