package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

// zone is the time zone of the simulated shops and clients: London prices keep to the decimals
// the demo uses, and its days are the UTC days give or take an hour.
const zone = "Europe/London"

// fields are every client's weekly-balance fields: each POS data type, the sales curves per
// hour.
var fields = []struct {
	id     int64
	typ    posimportv1.PosDataType
	hourly bool
}{
	{5266, posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, true},
	{5267, posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES, true},
	{5268, posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS, false},
	{5269, posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, false},
	{5270, posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS, true},
	{5271, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD, false},
	{5272, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED, false},
	{5273, posimportv1.PosDataType_POS_DATA_TYPE_VISITORS, true},
}

// rig is one scenario's system: a fresh database, the simulator and the services (import-worker
// API only) in this process, and import-worker processes.
type rig struct {
	b       *bench
	name    string
	dir     string
	dbURL   string
	dropDB  func()
	stack   *allinone.Stack
	sim     *sim.Server
	simURL  string
	simSrv  *http.Server
	stop    context.CancelFunc
	done    chan error
	nats    string
	conn    *grpc.ClientConn // tokens per call
	svcConn *grpc.ClientConn // as a posimport service
	workers []*process
	until   civil.Date
	loc     *time.Location
}

// newRig starts a scenario's system with the simulator o, whose data ends yesterday in zone.
func (b *bench) newRig(ctx context.Context, name string, o *sim.Options) (_ *rig, err error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, err
	}
	r := &rig{b: b, name: name, loc: loc, until: civil.Today(time.Now(), loc).AddDays(-1)}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.dir, err = b.scenarioDir(name); err != nil {
		return nil, err
	}
	if r.dbURL, r.dropDB, err = b.createDatabase(ctx, strings.ToLower(name)); err != nil {
		return nil, err
	}
	if r.nats, err = freeAddr(); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := r.startSimulator(o); err != nil {
		return nil, err
	}
	r.stack, err = allinone.Start(ctx, allinone.Options{
		DataDir: r.dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DatabaseURL: r.dbURL,
		NATSListen: r.nats, SimulatorURL: r.simURL, ShutdownTimeout: 5 * time.Second,
		// The import-worker runs as separate processes; this one serves the API only.
		Environ: map[string]string{"IMPORT_WORKER": "false", "IMPORT_SCHEDULER": "false", "DB_MAX_CONNS": "16"},
		Logger:  b.o.Logger,
	})
	if err != nil {
		return nil, err
	}
	b.say("%s: simulator generated and services started in %s", name, time.Since(start).Round(time.Millisecond))
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop, r.done = stop, make(chan error, 1)
	go func() { r.done <- r.stack.Run(runCtx) }()
	if r.conn, err = grpc.NewClient(r.stack.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return nil, err
	}
	// The access tokens are the import-worker's to take: the bench asks as the import-worker.
	if r.svcConn, err = app.Dial(r.stack.GRPCAddr, r.stack.Keys.Service(authn.ServiceImportWorker)); err != nil {
		return nil, err
	}
	return r, nil
}

// close stops everything the rig started and drops its database.
func (r *rig) close() {
	for _, w := range r.workers {
		w.stop(8 * time.Second) // its jobs are over; a slot waiting on an empty queue notices within its 5 s fetch wait
	}
	for _, c := range []*grpc.ClientConn{r.conn, r.svcConn} {
		if c != nil {
			_ = c.Close()
		}
	}
	if r.stop != nil {
		r.stop()
		<-r.done //nolint:errcheck // teardown waits for the stack to stop; how it stopped is not the bench's result
	}
	if r.simSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.simSrv.Shutdown(ctx)
		cancel()
	}
	if r.dropDB != nil {
		r.dropDB()
	}
}

// startSimulator serves the simulator o on a loopback port. Its Lightspeed API (not OAuth,
// not the admin API) answers after the options' POS latency, as a remote API would.
func (r *rig) startSimulator(o *sim.Options) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.simURL = "http://" + ln.Addr().String()
	o.PublicURL, o.AutoConsent, o.Logger = r.simURL, true, r.b.o.Logger.With("component", "simulator")
	if r.sim, err = sim.New(*o); err != nil {
		_ = ln.Close()
		return fmt.Errorf("simulator: %w", err)
	}
	var h http.Handler = r.sim
	if d := r.b.o.POSLatency; d > 0 {
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasPrefix(req.URL.Path, "/API/") {
				time.Sleep(d) // the network and server time of a remote API
			}
			r.sim.ServeHTTP(w, req)
		})
	}
	r.simSrv = server.NewHTTPServer(h, server.Config{}, nil)
	go func() { _ = r.simSrv.Serve(ln) }()
	return nil
}

// simData is the simulator's data: accounts of shops × registers with sales on the days days
// up to the rig's yesterday.
func simData(accounts, shops, registers, salesPerDay, days int) sim.DataOptions {
	loc, _ := time.LoadLocation(zone)
	until := civil.Today(time.Now(), loc).AddDays(-1)
	// Noon UTC is the same date in London.
	noon := func(c civil.Date) time.Time { return time.Date(c.Year, c.Month, c.Day, 12, 0, 0, 0, time.UTC) }
	return sim.DataOptions{Accounts: accounts, ShopsPerAccount: shops, RegistersPerShop: registers,
		SalesPerDay: salesPerDay, Zones: []string{zone}, From: noon(until.AddDays(-(days - 1))), Until: noon(until)}
}

// client is a client of the benchmark: one simulated account, a department per shop with all
// its registers.
type client struct {
	id      string
	account sim.Account
}

func (c client) departments() []string {
	out := make([]string, len(c.account.Shops))
	for i := range c.account.Shops {
		out[i] = "d" + strconv.Itoa(i+1)
	}
	return out
}

// clients are the simulator's accounts as clients c1, c2, ….
func (r *rig) clients() []client {
	accts := r.sim.Accounts()
	out := make([]client, len(accts))
	for i, a := range accts {
		out[i] = client{id: "c" + strconv.Itoa(i+1), account: a}
	}
	return out
}

// token is a person's token for client with role.
func (r *rig) token(client string, role authn.Role) grpc.CallOption {
	tok, err := r.stack.Keys.Mint("bench", role, []string{client}, time.Hour)
	if err != nil {
		panic(err) // the role is never the service role
	}
	return grpc.PerRPCCredentials(bearer(tok))
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// setUp configures, connects and enables the clients as their supervisors and integration
// contacts do, a few at once.
func (r *rig) setUp(ctx context.Context, clients []client) error {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, c := range clients {
		g.Go(func() error { return r.setUpClient(gctx, c) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	r.b.say("%s: %d clients configured and connected in %s", r.name, len(clients), time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *rig) setUpClient(ctx context.Context, c client) error {
	cfg := posimportv1.NewConfigServiceClient(r.conn)
	sup := r.token(c.id, authn.RoleSupervisor)
	if _, err := cfg.UpdateClientSettings(ctx, &posimportv1.UpdateClientSettingsRequest{ClientId: c.id,
		Settings: &posimportv1.ClientSettings{MultiCashRegisters: true, PosImportEnabled: true,
			PosProvider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL, ConfirmTime: "05:00", TimeZone: zone}}, sup); err != nil {
		return fmt.Errorf("%s settings: %w", c.id, err)
	}
	for i, shop := range c.account.Shops {
		var regs []string
		for _, reg := range shop.Registers {
			regs = append(regs, strconv.FormatInt(reg.ID, 10))
		}
		if _, err := cfg.PutDepartment(ctx, &posimportv1.PutDepartmentRequest{ClientId: c.id, DepartmentId: c.departments()[i],
			Department: &posimportv1.Department{Name: shop.Name, PosClientNumber: strconv.FormatInt(shop.ID, 10),
				PosTerminalNumbers: regs, TimeZone: shop.TimeZone}}, sup); err != nil {
			return fmt.Errorf("%s department: %w", c.id, err)
		}
	}
	for _, f := range fields {
		if _, err := cfg.PutField(ctx, &posimportv1.PutFieldRequest{ClientId: c.id, FieldId: f.id,
			Field: &posimportv1.BalanceField{Name: f.typ.String(), PosDataType: f.typ, SplitIntoIntervals: f.hourly}}, sup); err != nil {
			return fmt.Errorf("%s field: %w", c.id, err)
		}
	}
	auth := posimportv1.NewAuthServiceClient(r.conn)
	begin, err := auth.BeginConnect(ctx, &posimportv1.BeginConnectRequest{ClientId: c.id}, sup)
	if err != nil {
		return fmt.Errorf("%s connect: %w", c.id, err)
	}
	if err := consent(ctx, begin.GetAuthorizeUrl(), c.account.ID); err != nil {
		return fmt.Errorf("%s consent: %w", c.id, err)
	}
	if _, err := auth.SetEnabled(ctx, &posimportv1.SetEnabledRequest{ClientId: c.id, Enabled: true},
		r.token(c.id, authn.RoleIntegrationContact)); err != nil {
		return fmt.Errorf("%s enable: %w", c.id, err)
	}
	return nil
}

// consent follows the authorize URL through the simulator's automatic consent for account
// back to posimport's callback.
func consent(ctx context.Context, authorizeURL string, account int64) error {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("account_id", strconv.FormatInt(account, 10))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if res := resp.Request.URL.Query().Get("result"); res == "" || res == "error" {
		return fmt.Errorf("consent ended at %s with HTTP %d", resp.Request.URL.Redacted(), resp.StatusCode)
	}
	return nil
}

// workerEnv is an import-worker process's environment joining the rig, with slots worker slots.
func (r *rig) workerEnv(slots int, scale float64, extra map[string]string) (map[string]string, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"LOG_LEVEL": "info", "DATABASE_URL": r.dbURL, "DB_MAX_CONNS": strconv.Itoa(slots + 4),
		"JWT_SIGNING_KEY": r.stack.Keys.ServiceSigningKey(authn.ServiceImportWorker).Reveal(), "JWT_AUDIENCE": "posimport",
		"SERVICE_NAME": authn.ServiceImportWorker, "GRPC_ADDR": "127.0.0.1:0", "HTTP_ADDR": httpAddr, "SHUTDOWN_TIMEOUT": "5s",
		"CONFIG_ADDR": r.stack.GRPCAddr, "AUTH_ADDR": r.stack.GRPCAddr, "BALANCE_ADDR": r.stack.GRPCAddr,
		"NATS_URL": "nats://" + r.nats, "IMPORT_API": "false", "IMPORT_WORKER": "true", "IMPORT_SCHEDULER": "false",
		"WORKER_SLOTS": strconv.Itoa(slots), "LIGHTSPEED_API_URL": r.simURL,
		"LIGHTSPEED_BURST_WINDOW": time.Duration(float64(time.Second) / scale).String(),
		"JOB_LEASE_TTL":           "1m", "JOB_ACK_WAIT": "1m",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// startWorker starts an import-worker process and waits until it is ready.
func (r *rig) startWorker(ctx context.Context, env map[string]string) (*process, error) {
	p, err := startProcess(r.b.o.Worker, nil, env, r.dir, "import-worker")
	if err != nil {
		return nil, err
	}
	r.workers = append(r.workers, p)
	if err := p.waitReady(ctx, env["HTTP_ADDR"], time.Minute); err != nil {
		return nil, err
	}
	return p, nil
}

// runImport imports the client's departments from..until and waits until the import ends.
func (r *rig) runImport(ctx context.Context, c client, from, until civil.Date) (*posimportv1.Import, error) {
	imports := posimportv1.NewImportServiceClient(r.conn)
	sup := r.token(c.id, authn.RoleSupervisor)
	resp, err := imports.StartImport(ctx, &posimportv1.StartImportRequest{ClientId: c.id, DepartmentIds: c.departments(),
		FromDate: from.String(), UntilDate: until.String()}, sup)
	if err != nil {
		return nil, fmt.Errorf("start import: %w", err)
	}
	id := resp.GetImport().GetImportId()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Hour)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		got, err := imports.GetImport(ctx, &posimportv1.GetImportRequest{ClientId: c.id, ImportId: id}, sup)
		if err != nil {
			return nil, fmt.Errorf("get import: %w", err)
		}
		if imp := got.GetImport(); ended(imp) {
			return imp, checkSucceeded(imp)
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the import did not end within 2 hours")
		}
	}
}

func ended(imp *posimportv1.Import) bool {
	switch imp.GetState() {
	case posimportv1.ImportState_IMPORT_STATE_SUCCEEDED, posimportv1.ImportState_IMPORT_STATE_FAILED,
		posimportv1.ImportState_IMPORT_STATE_CANCELLED:
		return true
	}
	return false
}

func checkSucceeded(imp *posimportv1.Import) error {
	if imp.GetState() == posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		return nil
	}
	var errs []string
	for _, e := range imp.GetErrors() {
		errs = append(errs, e.GetMessage())
		if len(errs) == 3 {
			break
		}
	}
	return fmt.Errorf("import %s of %s ended %s: %s", imp.GetImportId(), imp.GetClientId(), imp.GetState(), strings.Join(errs, "; "))
}

// wall is an import's time from its start to its last job's end, on the database's clock.
func wall(imp *posimportv1.Import) time.Duration {
	return imp.GetFinishTime().AsTime().Sub(imp.GetCreateTime().AsTime())
}

// apiRequests counts the simulator's API requests since its last reset, refused ones included
// and OAuth's excluded.
func (r *rig) apiRequests() (requests, limited int64) {
	for _, c := range r.sim.RequestCounts() {
		if strings.Contains(c.Endpoint, "/oauth/") {
			continue
		}
		requests += c.Requests
		limited += c.RateLimited
	}
	return requests, limited
}

// accessToken asks auth for the client's access token, as a worker does.
func (r *rig) accessToken(ctx context.Context, c client) (string, error) {
	resp, err := posimportv1.NewAuthServiceClient(r.svcConn).AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: c.id})
	if err != nil {
		return "", fmt.Errorf("%s access token: %w", c.id, err)
	}
	return resp.GetAccessToken(), nil
}

// tokens are the clients' access tokens by account.
func (r *rig) tokens(ctx context.Context, clients []client) (map[int64]string, error) {
	var mu sync.Mutex
	out := map[int64]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, c := range clients {
		g.Go(func() error {
			tok, err := r.accessToken(gctx, c)
			mu.Lock()
			out[c.account.ID] = tok
			mu.Unlock()
			return err
		})
	}
	return out, g.Wait()
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// scheduledWall checks that every client's scheduled import succeeded and returns the nightly
// run's wall time, from the first import's start to the last one's end (the database's clock),
// and the register-days written.
func (r *rig) scheduledWall(ctx context.Context, clients []client) (time.Duration, int64, error) {
	imports := posimportv1.NewImportServiceClient(r.conn)
	var first, last, lastStart time.Time
	var days int64
	for _, c := range clients {
		resp, err := imports.ListImports(ctx, &posimportv1.ListImportsRequest{ClientId: c.id}, r.token(c.id, authn.RoleSupervisor))
		if err != nil {
			return 0, 0, fmt.Errorf("%s imports: %w", c.id, err)
		}
		if n := len(resp.GetImports()); n != 1 {
			return 0, 0, fmt.Errorf("%s has %d imports, want the scheduled one", c.id, n)
		}
		imp := resp.GetImports()[0]
		if err := checkSucceeded(imp); err != nil {
			return 0, 0, err
		}
		start := imp.GetCreateTime().AsTime()
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if start.After(lastStart) {
			lastStart = start
		}
		if e := imp.GetFinishTime().AsTime(); e.After(last) {
			last = e
		}
		days += imp.GetProgress().GetDaysWritten()
	}
	r.b.say("%s: %d imports started within %s of the first", r.name, len(clients), lastStart.Sub(first).Round(time.Millisecond))
	return last.Sub(first), days, nil
}
