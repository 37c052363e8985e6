//go:build cluster

package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/faulttest"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// size is what one case imports, and how long its faults last.
type size struct {
	shops, registers, days, salesPerDay int
	timeScale                           float64
	partition                           time.Duration
	scaleOut                            int
	verdictTimeout                      time.Duration
	// jobMaxDays, slots (per worker) and window (jobs running per client) shape the work;
	// pageDelay slows every sales page down, as a slow POS does, so that the import is still
	// running when the case's last fault comes.
	jobMaxDays, slots, window int
	pageDelay                 time.Duration
	// kills of a worker holding jobs, for the recovery figures.
	kills int
	// cases run, by name; all when empty.
	cases []string
}

// sizes: the (CLUSTER_FULL=1, make test-cluster), and a small one for make test.
func sizeOf() size {
	if os.Getenv("CLUSTER_FULL") == "1" {
		return size{shops: 20, registers: 3, days: 365, salesPerDay: 6, timeScale: 5, partition: 30 * time.Second,
			scaleOut: 6, verdictTimeout: 30 * time.Minute, jobMaxDays: 31, slots: 4, window: 8, pageDelay: 300 * time.Millisecond, kills: 10}
	}
	// The small size (make test) runs the NATS cluster's cases only, on a short import.
	return size{shops: 3, registers: 2, days: 62, salesPerDay: 6, timeScale: 5, partition: 10 * time.Second,
		scaleOut: 6, verdictTimeout: 10 * time.Minute, jobMaxDays: 7, slots: 2, window: 6, pageDelay: 3 * time.Second, kills: 2,
		cases: []string{"KillStreamAndMetaLeaders", "NATSServerCutOff"}}
}

// harness is what every case shares: the binaries and the NATS cluster.
type harness struct {
	worker   string
	services map[string]string
	nats     *natsCluster
	size     size
}

// run is one case's pipeline: its own database, simulator, stream prefix and service
// processes, on the shared NATS cluster.
type run struct {
	*faulttest.Bundle
	h        *harness
	services []*service
	mu       sync.Mutex
	workers  []*pipelinetest.Process
	stream   string
}

// TestCluster runs each case on the cluster (see the package doc). Cases run one after the
// other: they share the NATS cluster, and each brings the machine near its limit.
func TestCluster(t *testing.T) {
	dir := t.TempDir()
	h := &harness{worker: pipelinetest.BuildWorker(t), services: buildServices(t, dir), size: sizeOf()}
	h.nats = startNATSCluster(t, buildNATSServer(t, dir))
	t.Logf("size %+v", h.size)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, r *run)
	}{
		{"KillStreamAndMetaLeaders", killLeaders},
		{"RollingRestartOfEveryDeployment", rollingRestart},
		{"ScaleWorkersOutAndIn", scaleOutIn},
		{"NATSServerCutOff", cutOff},
		{"KillWorkersRecovery", killWorkers},
	} {
		if len(h.size.cases) > 0 && !slices.Contains(h.size.cases, tc.name) {
			continue // not at this size
		}
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			tc.run(t, h.start(t))
			t.Logf("%s took %v", tc.name, time.Since(start).Round(time.Second))
		})
	}
}

// start builds a case's pipeline the way the cluster runs it and prepares the fault suite's
// bundle (client configured, connected, d1's first days imported, approved and changed).
func (h *harness) start(t *testing.T) *run {
	t.Helper()
	sz := h.size
	e := &pipelinetest.Env{Keys: servicetest.NewKeys(t), Prefix: natstest.Prefix(t), DBURL: pgtest.NewDatabase(t)}
	e.Opts = pipelinetest.Options{ShopsPerAccount: sz.shops, RegistersPerShop: sz.registers, SalesPerDay: sz.salesPerDay,
		Days: sz.days + 2, Zones: faulttest.Zones, Seed: 19, TimeScale: sz.timeScale,
		WorkerConfig: func(c *importservice.Config) {
			c.Worker = false // the test's own API server; the workers are processes
			c.JobsReplicas = 3
			c.LeaseTTL, c.AckWait = worker.DefaultLeaseTTL, jobqueue.DefaultAckWait
			c.MaxAttempts = 100
			c.JobMaxDays, c.WorkerSlots, c.MaxRunningPerClient = sz.jobMaxDays, sz.slots, sz.window
		}}
	yesterday := time.Now().AddDate(0, 0, -1)
	s, err := sim.New(sim.Options{
		Seed: 19, AutoConsent: true,
		Data: sim.DataOptions{ShopsPerAccount: sz.shops, RegistersPerShop: sz.registers, Zones: faulttest.Zones,
			SalesPerDay: sz.salesPerDay, From: yesterday.AddDate(0, 0, -(sz.days + 1)), Until: yesterday},
		RateLimit:      sim.RateLimitOptions{TimeScale: sz.timeScale},
		AccessTokenTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Sim = s
	e.Recorder = simtest.NewRecorder(s)
	hs := httptest.NewServer(e.Recorder)
	t.Cleanup(hs.Close)
	e.SimURL = hs.URL
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e.TokenKey = "k1=" + base64.StdEncoding.EncodeToString(key)

	r := &run{h: h}
	logs := &logging.Buffer{}
	common := func(name string, more ...string) []string {
		return append(append([]string{"LOG_LEVEL=debug", "DATABASE_URL=" + e.DBURL, "DB_MAX_CONNS=8",
			"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0", "SHUTDOWN_TIMEOUT=5s", "PATH=" + os.Getenv("PATH")},
			e.Keys.Env(name)...), more...)
	}
	cfg := startService(t, "config", h.services["config"], common(authn.ServiceConfig), logs)
	authGRPC, authWeb := startFrontend(t), startFrontend(t)
	auth := &service{name: "auth", bin: h.services["auth"], logs: logs, grpc: authGRPC, web: authWeb, env: common(authn.ServiceAuth,
		"CONFIG_ADDR="+cfg.grpc.Addr(), "TOKEN_KEYS="+e.TokenKey, "REFRESH_MARGIN=30s", "PROVIDER_TIMEOUT=10s",
		"DEPARTMENT_CHECK_TTL=1m",
		"LIGHTSPEED_CLIENT_ID="+sim.DefaultClientID, "LIGHTSPEED_CLIENT_SECRET="+sim.DefaultClientSecret,
		"LIGHTSPEED_AUTHORIZE_URL="+e.SimURL+"/auth/oauth/authorize", "LIGHTSPEED_TOKEN_URL="+e.SimURL+"/auth/oauth/token",
		"LIGHTSPEED_REVOKE_URL="+e.SimURL+"/auth/oauth/revoke", "LIGHTSPEED_API_URL="+e.SimURL, "LIGHTSPEED_SCOPES=employee:register",
		"OAUTH_CALLBACK_URL=http://"+authWeb.Addr()+"/oauth/callback", "OAUTH_RETURN_URL=https://app.example/pos")}
	auth.cur = auth.launch(t)
	bal := startService(t, "balance", h.services["balance"], common(authn.ServiceBalance,
		"CONFIG_ADDR="+cfg.grpc.Addr(), "CONFIG_CACHE_TTL=1s"), logs)
	r.services = []*service{cfg, auth, bal}
	running := func(s *service) *servicetest.Running {
		return &servicetest.Running{Keys: e.Keys, GRPCAddr: s.grpc.Addr(), HTTPBase: "http://" + s.web.Addr()}
	}
	e.Config, e.Auth, e.Balance = running(cfg), running(auth), running(bal)
	e.BalanceClient = posimportv1.NewBalanceServiceClient(e.Keys.DialPerson(t, bal.grpc.Addr(), authn.RoleViewer))
	e.Pool = pgtest.MigratedPool(t, e.DBURL, importservice.Schema, importservice.Migrations(), 16)
	e.NATSURL = h.nats.URL()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := natsjs.Connect(ctx, natsjs.Options{URL: e.NATSURL, Name: "clustertest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.NATS = nc
	e.Imports = append(e.Imports, e.StartImportWorker(t, "api", func(c *importservice.Config) { c.API = true }))
	r.Bundle = faulttest.Prepare(t, e, h.worker, logs, faulttest.Options{Days: sz.days})
	r.stream = jobqueue.New(nc.JS, jobqueue.Config{Prefix: e.Prefix}).Stream()
	if err := s.InjectFault(sim.Fault{Kind: sim.FaultSlow, Endpoint: "Sale.json", Delay: sim.Duration(sz.pageDelay)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nats-server logs (tail):\n%s", tail(h.nats.logs.String(), 6000))
		}
	})
	return r
}

// startWorkers starts n import-worker processes.
func (r *run) startWorkers(t *testing.T, n int) {
	t.Helper()
	for range n {
		p := r.StartWorker(t)
		r.mu.Lock()
		r.workers = append(r.workers, p)
		r.mu.Unlock()
	}
}

// imports starts the backfill (every department over the whole range) and returns its id.
func (r *run) backfill(t *testing.T) string {
	t.Helper()
	id := r.StartImport(t)
	r.waitProgress(t, id, "the backfill's first days")
	return id
}

// nightly starts a nightly-sized import (every department, the last two days).
func (r *run) nightly(t *testing.T) string {
	t.Helper()
	return r.Env.StartImport(t, faulttest.Client, r.Deps, r.Until.AddDays(-1), r.Until, false)
}

// waitProgress waits until the import has written or skipped more register-days than now.
func (r *run) waitProgress(t *testing.T, id, what string) {
	t.Helper()
	before, _, _ := r.Progress(t, id)
	faulttest.WaitFor(t, 3*time.Minute, what, func() bool {
		d, ended, total := r.Progress(t, id)
		return d > before || (total > 0 && ended == total)
	})
}

// running fails the test when the import already ended: a fault after it proves nothing.
func (r *run) running(t *testing.T, id, when string) {
	t.Helper()
	if _, ended, total := r.Progress(t, id); ended == total {
		t.Errorf("the backfill had ended %s: make the case bigger", when)
	}
}

// verdict is the fault suite's, plus: no register-day written twice for one data version
// (the simulator's data do not change during the run, so every version is 1), and every
// worker process left exits cleanly on SIGTERM.
func (r *run) verdict(t *testing.T, ids ...string) {
	t.Helper()
	r.Verdict(t, r.h.size.verdictTimeout, faulttest.Expect{}, ids...)
	var twice int
	if err := r.Pool.QueryRow(context.Background(),
		fmt.Sprintf(`SELECT count(*) FROM %s.register_days WHERE version <> 1`, balanceservice.Schema)).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice > 0 {
		t.Errorf("%d register-days were written more than once for one data version", twice)
	}
	var days int
	if err := r.Pool.QueryRow(context.Background(),
		fmt.Sprintf(`SELECT count(*) FROM %s.register_days`, balanceservice.Schema)).Scan(&days); err != nil {
		t.Fatal(err)
	}
	if want := r.h.size.shops * r.h.size.registers * r.h.size.days; days != want {
		t.Errorf("%d register-days in the balance, want %d", days, want)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		if w.Exited() {
			continue
		}
		if code := w.Terminate(30 * time.Second); code != 0 {
			t.Errorf("worker %d exited %d after SIGTERM", w.PID(), code)
		}
	}
}

// killLeaders kills (SIGKILL) the jobs stream's leader server twice and the meta leader
// once, restarting each a few seconds later, during the backfill and the nightly import.
func killLeaders(t *testing.T, r *run) {
	r.startWorkers(t, 3)
	id := r.backfill(t)
	nightly := ""
	for i := range 2 {
		l := r.h.nats.streamLeader(t, r.stream, time.Minute)
		r.running(t, id, "before stream leader kill "+strconv.Itoa(i+1))
		t.Logf("kill -9 stream leader %s", l)
		r.h.nats.killAndRestart(t, l, 3*time.Second)
		r.waitProgress(t, id, "progress after the stream leader's kill")
		if i == 0 {
			nightly = r.nightly(t)
		}
	}
	meta := r.h.nats.waitMetaLeader(t, time.Minute)
	r.running(t, id, "before the meta leader kill")
	t.Logf("kill -9 meta leader %s", meta)
	r.h.nats.killAndRestart(t, meta, 3*time.Second)
	r.waitProgress(t, id, "progress after the meta leader's kill")
	r.verdict(t, id, nightly)
}

// rollingRestart restarts every deployment one process at a time, as kubectl rollout restart
// does: config, auth and balance (new process serving, then SIGTERM to the old), the three
// import-workers (SIGTERM, its grace, a new process), and the NATS servers (SIGTERM, restart).
func rollingRestart(t *testing.T, r *run) {
	const grace = 30 * time.Second // deploy/: terminationGracePeriodSeconds
	r.startWorkers(t, 3)
	id := r.backfill(t)
	nightly := r.nightly(t)
	for _, s := range r.services {
		r.running(t, id, "before the rollout of "+s.name)
		s.rollout(t, grace)
		r.waitProgress(t, id, "progress after the rollout of "+s.name)
	}
	for i := range 3 {
		r.running(t, id, "before the rollout of import-worker "+strconv.Itoa(i))
		r.mu.Lock()
		old := r.workers[i]
		r.mu.Unlock()
		if code := old.Terminate(grace); code != 0 {
			t.Errorf("import-worker %d exited %d after SIGTERM", old.PID(), code)
		}
		p := r.StartWorker(t)
		r.mu.Lock()
		r.workers[i] = p
		r.mu.Unlock()
		r.waitProgress(t, id, "progress after the rollout of import-worker "+strconv.Itoa(i))
	}
	for _, n := range r.h.nats.nodes {
		r.running(t, id, "before the restart of nats-server "+n.name)
		r.h.nats.terminateAndRestart(t, n.name, grace)
		r.h.nats.streamLeader(t, r.stream, time.Minute)
		r.waitProgress(t, id, "progress after the restart of nats-server "+n.name)
	}
	r.verdict(t, id, nightly)
}

// scaleOutIn scales the import-workers 1 → 6 → 1 during the backfill, as KEDA would; scale-in
// sends SIGTERM to five workers at once.
func scaleOutIn(t *testing.T, r *run) {
	r.startWorkers(t, 1)
	id := r.backfill(t)
	r.startWorkers(t, r.h.size.scaleOut-1)
	r.waitProgress(t, id, "progress with six workers")
	nightly := r.nightly(t)
	r.waitProgress(t, id, "more progress with six workers")
	r.running(t, id, "before the scale-in")
	r.mu.Lock()
	leaving := r.workers[1:]
	r.workers = r.workers[:1]
	r.mu.Unlock()
	var wg sync.WaitGroup
	codes := make([]int, len(leaving))
	for i, w := range leaving {
		wg.Go(func() { codes[i] = w.Terminate(30 * time.Second) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("import-worker %d exited %d after SIGTERM on scale-in", leaving[i].PID(), c)
		}
	}
	r.verdict(t, id, nightly)
}

// cutOff cuts the jobs stream's leader server off from the other two (every route proxy to
// and from it down) for the partition's length while the server and its clients run on;
// the majority elects a new leader, and the server rejoins when the routes come back.
func cutOff(t *testing.T, r *run) {
	r.startWorkers(t, 3)
	id := r.backfill(t)
	nightly := r.nightly(t)
	victim := r.h.nats.streamLeader(t, r.stream, time.Minute)
	r.running(t, id, "before the cut")
	t.Logf("cut %s off for %v", victim, r.h.size.partition)
	heal := r.h.nats.cutOff(t, victim)
	cut := time.Now()
	faulttest.WaitFor(t, time.Minute, victim+" without routes", func() bool { return r.h.nats.routes(victim) == 0 })
	t.Logf("%s had no route %v after the cut", victim, time.Since(cut).Round(100*time.Millisecond))
	time.Sleep(r.h.size.partition) // the partition itself, counted from the last route's loss
	heal()
	faulttest.WaitFor(t, 2*time.Minute, victim+" routed to both others again", func() bool { return r.h.nats.routes(victim) == 2 })
	r.waitProgress(t, id, "progress after the cut healed")
	r.verdict(t, id, nightly)
}
