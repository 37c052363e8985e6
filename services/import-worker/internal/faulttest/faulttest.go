// Package faulttest runs an import through the whole pipeline (pipelinetest) while a test
// injects faults, and judges every run by one verdict: every job terminal; the balance equal
// to the simulator's oracle for every department, register, day, hour and field (but the days
// approved before the run, and poisoned registers, whose days must stay not imported); the
// approved days unchanged byte for byte; no refresh token used twice and no invalid_grant at
// the simulator; no request over the account's rate budget; and no canary secret (the OAuth
// client secret, the JWT signing key, the token encryption key, every code and token that
// crossed the token endpoint) in the logs of any service or worker process.
package faulttest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// Client is the client every fault run imports for.
const Client = "c1"

// Options shape a fault run.
type Options struct {
	// Shops (departments) × Registers of the simulator's one account, and Days of sales
	// ending the day before yesterday.
	Shops, Registers, Days int
	// SalesPerDay per register; default 6.
	SalesPerDay int
	Seed        uint64
	// TimeScale speeds the simulator's rate limiter up (default 5); the budget is enforced.
	TimeScale float64
	// OwnPostgres runs a PostgreSQL the test can crash. (NATS is always the test's own, on
	// loopback, so worker processes can reach it and the test can restart it.)
	OwnPostgres bool
	// BalanceDBURL rewrites the balance's database URL (through a proxy).
	BalanceDBURL func(string) string
	// InProcessWorker runs the in-process import-worker as a worker too; by default it serves
	// the API only and the test starts worker processes.
	InProcessWorker bool
	// WorkerConfig adjusts every worker's configuration (in-process and processes).
	WorkerConfig func(*importservice.Config)
	// ApprovedDays of department d1, from the first day of the range, are imported, approved
	// and then changed upstream before the run (default 3; negative: none).
	ApprovedDays int
}

// Bundle is a running pipeline prepared for a fault run.
type Bundle struct {
	*pipelinetest.Env
	Deps        []pipelinetest.Department
	From, Until civil.Date
	// ApprovedFrom and ApprovedUntil are d1's approved days (ApprovedUntil before
	// ApprovedFrom when none).
	ApprovedFrom, ApprovedUntil civil.Date

	bin      string
	logs     *logging.Buffer
	approved map[string]*posimportv1.GetDayResponse

	mu    sync.Mutex
	procs []*pipelinetest.Process
}

// Setup starts the pipeline with fast lease timings and a one-minute access token (so that
// the auth service refreshes during the run), configures and connects the client with every
// shop as a department, and imports, approves and changes d1's first days. bin is the
// import-worker binary (pipelinetest.BuildWorker), "" when the test starts no process.
func Setup(t testing.TB, bin string, o Options) *Bundle {
	t.Helper()
	if o.SalesPerDay == 0 {
		o.SalesPerDay = 6
	}
	if o.TimeScale == 0 {
		o.TimeScale = 5
	}
	if o.ApprovedDays == 0 {
		o.ApprovedDays = 3
	}
	logs := &logging.Buffer{}
	env := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: o.Shops, RegistersPerShop: o.Registers, SalesPerDay: o.SalesPerDay, Days: o.Days + 2,
		Zones: Zones, Seed: o.Seed, TimeScale: o.TimeScale, OwnNATS: true, OwnPostgres: o.OwnPostgres,
		BalanceDBURL: o.BalanceDBURL, AccessTokenTTL: time.Minute,
		Logs: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		WorkerConfig: func(c *importservice.Config) {
			c.Worker = o.InProcessWorker
			c.LeaseTTL, c.AckWait, c.MaxAttempts = 3*time.Second, 5*time.Second, 100
			c.ReconcileGrace = 3 * time.Second
			if o.WorkerConfig != nil {
				o.WorkerConfig(c)
			}
		},
	})
	return Prepare(t, env, bin, logs, o)
}

// Prepare is Setup's second half, for a pipeline started some other way (e.g. with the
// services as processes of their own): it configures and connects the client with every shop
// as a department, and imports, approves and changes d1's first days. logs are the services'
// logs at debug level, which the verdict searches for canaries; o's Shops, Registers, Seed,
// TimeScale, OwnPostgres, BalanceDBURL and WorkerConfig are the caller's business by then.
func Prepare(t testing.TB, env *pipelinetest.Env, bin string, logs *logging.Buffer, o Options) *Bundle {
	t.Helper()
	if o.ApprovedDays == 0 {
		o.ApprovedDays = 3
	}
	b := &Bundle{Env: env, bin: bin, logs: logs}
	b.Deps = b.Departments(0, false)
	b.Configure(t, Client, b.Deps)
	b.Connect(t, Client, b.AccountID(0), true)
	b.Until = civil.Today(time.Now(), time.Local).AddDays(-2)
	b.From = b.Until.AddDays(-(o.Days - 1))
	b.ApprovedFrom, b.ApprovedUntil = b.From, b.From.AddDays(max(o.ApprovedDays, 0)-1)
	if o.ApprovedDays > 0 {
		b.approve(t, !o.InProcessWorker)
	}
	return b
}

// Zones are the shops' time zones: both have DST changes, at different dates.
var Zones = []string{"Europe/London", "America/New_York"}

// approve imports d1's first days (with a worker process of its own, or the in-process
// worker), approves them, and adds a sale on each, so that an import overwriting them would
// be seen.
func (b *Bundle) approve(t testing.TB, process bool) {
	t.Helper()
	d1 := b.Deps[:1]
	var w *pipelinetest.Process
	if process {
		w = b.StartWorker(t)
	}
	imp := b.WaitImport(t, Client, b.Env.StartImport(t, Client, d1, b.ApprovedFrom, b.ApprovedUntil, false), 2*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import of the days to approve ended %s", imp.GetState())
	}
	if w != nil {
		if code := w.Terminate(20 * time.Second); code != 0 {
			t.Fatalf("worker exited %d after SIGTERM:\n%s", code, w.Output())
		}
	}
	b.Approve(t, Client, "d1", b.ApprovedFrom, b.ApprovedUntil)
	shop := b.Deps[0].Shop
	loc, err := time.LoadLocation(shop.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	for d := b.ApprovedFrom; !d.After(b.ApprovedUntil); d = d.AddDays(1) {
		b.AddSale(t, shop, 0, d, loc, "7.25")
	}
	b.approved = b.Days(t, Client, "d1", b.ApprovedFrom, b.ApprovedUntil)
}

// AddSale adds a completed sale of one unit at price on register index r of shop, at local
// noon of day: a late correction upstream.
func (b *Bundle) AddSale(t testing.TB, shop sim.Shop, r int, day civil.Date, loc *time.Location, price string) {
	t.Helper()
	noon := time.Date(day.Year, day.Month, day.Day, 12, 0, 0, 0, loc)
	if _, err := b.Sim.AddSale(b.AccountID(0), sim.SaleInput{
		ShopID: shop.ID, RegisterID: shop.Registers[r].ID, CompleteTime: noon, Completed: true,
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.RequireFromString(price)}},
	}); err != nil {
		t.Fatal(err)
	}
}

// StartImport imports every department over the bundle's range, without overwriting
// approved days, and returns the import's id.
func (b *Bundle) StartImport(t testing.TB) string {
	t.Helper()
	return b.Env.StartImport(t, Client, b.Deps, b.From, b.Until, false)
}

// WorkerEnv is an import-worker process's environment, logging at debug level (so the canary
// check sees everything), with set (KEY=VALUE items) replacing or adding variables.
func (b *Bundle) WorkerEnv(set ...string) []string {
	env := b.Env.WorkerEnv()
	for _, kv := range append([]string{"LOG_LEVEL=debug"}, set...) {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range env {
			if strings.HasPrefix(old, key+"=") {
				env[i], replaced = kv, true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

// StartWorker starts an import-worker process (set as for WorkerEnv); its output joins the
// logs the verdict checks.
func (b *Bundle) StartWorker(t testing.TB, set ...string) *pipelinetest.Process {
	t.Helper()
	p := pipelinetest.StartProcessEnv(t, b.bin, b.WorkerEnv(set...))
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	return p
}

// Progress is the register-days the import has written or skipped so far, and its jobs that
// ended and in all.
func (b *Bundle) Progress(t testing.TB, importID string) (days, ended, total int) {
	t.Helper()
	if err := b.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(days_written + days_skipped_approved), 0)::int,
		count(*) FILTER (WHERE state NOT IN ('PENDING', 'RUNNING'))::int, count(*)::int FROM jobs WHERE import_id = $1`,
		importID).Scan(&days, &ended, &total); err != nil {
		t.Fatal(err)
	}
	return days, ended, total
}

// WaitFor polls cond every 20 ms until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// Expect is what a fault run may end with besides success.
type Expect struct {
	// Poisoned registers' jobs must end FAILED, with reasons containing every Reason part;
	// their days must stay not imported.
	Poisoned map[string]bool
	Reason   []string
	// RetryAfter429s is the least number of injected 429s the run must have seen (429 storms).
	RetryAfter429s int
	// InFlight is how long after a 429 a request may still arrive because it was sent before
	// the refused worker had recorded the pause in Postgres (default 100 ms; longer where the
	// test slows the network down).
	InFlight time.Duration
}

// Verdict waits for the imports to end and checks the whole outcome (see the package doc).
func (b *Bundle) Verdict(t testing.TB, timeout time.Duration, want Expect, importIDs ...string) {
	t.Helper()
	for _, id := range importIDs {
		b.WaitImport(t, Client, id, timeout)
	}
	b.checkJobs(t, want, importIDs)
	b.checkOracle(t, want)
	b.checkApproved(t)
	b.checkTokens(t)
	b.checkBudget(t, want)
	b.checkCanaries(t)
}

func (b *Bundle) checkJobs(t testing.TB, want Expect, importIDs []string) {
	t.Helper()
	rows, err := b.Pool.Query(context.Background(), `SELECT job_id, register_id, state, last_error FROM jobs
		WHERE import_id = ANY($1::uuid[]) ORDER BY department_id, register_id, from_date`, importIDs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id uuid.UUID
		var reg, state, reason string
		if err := rows.Scan(&id, &reg, &state, &reason); err != nil {
			t.Fatal(err)
		}
		n++
		switch {
		case want.Poisoned[reg]:
			if state != "FAILED" {
				t.Errorf("G1: job %s of poisoned register %s is %s, want FAILED", id, reg, state)
			}
			for _, part := range want.Reason {
				if !strings.Contains(reason, part) {
					t.Errorf("G1: job %s failed with %q, which does not say %q", id, reason, part)
				}
			}
		case state != "DONE" && state != "SKIPPED":
			t.Errorf("G1: job %s of register %s is %s (%s), want DONE or SKIPPED", id, reg, state, reason)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("G1: the imports have no jobs")
	}
}

// checkOracle compares every department with the oracle, leaving out the approved days (whose
// upstream data changed after approval) and poisoned registers, whose days must be absent.
func (b *Bundle) checkOracle(t testing.TB, want Expect) {
	t.Helper()
	for _, d := range b.Deps {
		from := b.From
		if d.ID == "d1" && !b.ApprovedUntil.Before(b.ApprovedFrom) {
			from = b.ApprovedUntil.AddDays(1)
		}
		clean := d
		clean.Registers = nil
		var poisoned []string
		for _, r := range d.Registers {
			if want.Poisoned[r] {
				poisoned = append(poisoned, r)
			} else {
				clean.Registers = append(clean.Registers, r)
			}
		}
		if len(clean.Registers) > 0 {
			if diffs := b.Mismatches(t, Client, 0, []pipelinetest.Department{clean}, from, b.Until, 10); len(diffs) > 0 {
				t.Errorf("G2: %s differs from the oracle:\n%s", d.ID, strings.Join(diffs, "\n"))
			}
		}
		if len(poisoned) == 0 {
			continue
		}
		for date, day := range b.Days(t, Client, d.ID, from, b.Until) {
			for _, rd := range day.GetRegisters() {
				if want.Poisoned[rd.GetRegisterId()] {
					t.Errorf("G2: poisoned register %s has %s imported", rd.GetRegisterId(), date)
				}
			}
		}
	}
}

func (b *Bundle) checkApproved(t testing.TB) {
	t.Helper()
	if b.approved == nil {
		return
	}
	after := b.Days(t, Client, "d1", b.ApprovedFrom, b.ApprovedUntil)
	// The upstream change to each approved day is kept as a pending correction beside the
	// day, which shows it; the day's values, status and versions stay as they were.
	correction := protocmp.IgnoreFields(&posimportv1.BalanceDay{}, "corrections_pending")
	registerCorrection := protocmp.IgnoreFields(&posimportv1.RegisterDay{}, "correction_id")
	freshness := protocmp.IgnoreFields(&posimportv1.GetDayResponse{}, "freshness")
	if diff := cmp.Diff(b.approved, after, protocmp.Transform(), correction, registerCorrection, freshness); diff != "" {
		t.Errorf("G3: approved days changed (-before +after):\n%s", diff)
	}
	for date, day := range after {
		if day.GetDay().GetCorrectionsPending() == 0 {
			t.Errorf("G3: approved day %s changed upstream but has no pending correction", date)
		}
	}
	d1 := b.Deps[:1]
	if diffs := b.Mismatches(t, Client, 0, d1, b.ApprovedFrom, b.ApprovedUntil, 1); len(diffs) == 0 {
		t.Error("G3: the approved days already equal the changed upstream data: the check proves nothing")
	}
}

func (b *Bundle) checkTokens(t testing.TB) {
	t.Helper()
	if reused := b.Recorder.ReusedRefreshTokens(); len(reused) > 0 {
		t.Errorf("G4: %d refresh tokens used twice", len(reused))
	}
	if n := b.Recorder.InvalidGrants(); n > 0 {
		t.Errorf("G4: %d invalid_grant answers at the simulator", n)
	}
	r := b.Auth.Do(t, "GET", "/v1/clients/"+Client+"/connection", b.Keys.Token(t, authn.RoleViewer, Client), nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "CONNECTION_STATUS_ENABLED") {
		t.Errorf("G4: the connection is no longer enabled: %d %s", r.Status, r.Body)
	}
}

func (b *Bundle) checkBudget(t testing.TB, want Expect) {
	t.Helper()
	if v := b.Recorder.BudgetViolations(); len(v) > 0 {
		t.Errorf("G5: %d requests over the account's budget, e.g.:\n%s", len(v), strings.Join(v[:min(len(v), 5)], "\n"))
	}
	injected, judged := 0, 0
	for _, q := range b.Recorder.Requests() {
		if q.Bucket {
			judged++
		}
		if q.Status == http.StatusTooManyRequests && !q.Bucket {
			injected++
		}
	}
	if judged == 0 {
		t.Error("G5: no request was judged by the simulator's bucket: the check proves nothing")
	}
	if injected < want.RetryAfter429s {
		t.Errorf("G5: %d injected 429s answered, want at least %d", injected, want.RetryAfter429s)
	}
	// NOTE: a request another worker sent just before the refused one recorded the pause in
	// Postgres cannot be called back; 100 ms covers that on a busy 2-core machine, while a
	// worker ignoring the pause would call within the 2 s Retry-After.
	inFlight := want.InFlight
	if inFlight == 0 {
		inFlight = 100 * time.Millisecond
	}
	if early := b.Recorder.EarlyRequests(inFlight); len(early) > 0 {
		t.Errorf("G5: %d requests before a Retry-After ran out, e.g.:\n%s", len(early), strings.Join(early[:min(len(early), 5)], "\n"))
	}
}

// Canaries are the secrets no log may contain, by name.
func (b *Bundle) Canaries() map[string]string {
	out := map[string]string{"client secret": sim.DefaultClientSecret}
	for owner, seed := range b.Keys.Secrets() {
		if _, key, ok := strings.Cut(seed.Reveal(), "="); ok {
			out["JWT signing key of "+owner] = key
		}
	}
	if _, key, ok := strings.Cut(b.TokenKey, "="); ok {
		out["token encryption key"] = key
	}
	for i, s := range b.Recorder.Secrets() {
		out["wire secret "+strconv.Itoa(i)] = s
	}
	return out
}

// Logs are every service's logs and every worker process's output so far, by name.
func (b *Bundle) Logs() map[string]string {
	out := map[string]string{"services": b.logs.String()}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range b.procs {
		out[fmt.Sprintf("worker process %d (pid %d)", i, p.PID())] = p.Output()
	}
	return out
}

func (b *Bundle) checkCanaries(t testing.TB) {
	t.Helper()
	canaries, logs := b.Canaries(), b.Logs()
	if len(canaries) < 5 {
		t.Errorf("G6: only %d canaries: no token crossed the token endpoint?", len(canaries))
	}
	if !strings.Contains(logs["services"], `"level":"DEBUG"`) {
		t.Error("G6: the services logged nothing at debug level: the check proves nothing")
	}
	names := make([]string, 0, len(logs))
	for name := range logs {
		names = append(names, name)
	}
	sort.Strings(names)
	for what, c := range canaries {
		forms := map[string]string{"raw": c, "hex": hex.EncodeToString([]byte(c)),
			"base64": base64.StdEncoding.EncodeToString([]byte(c)), "base64url": base64.RawURLEncoding.EncodeToString([]byte(c))}
		for _, name := range names {
			for form, needle := range forms {
				if strings.Contains(logs[name], needle) {
					t.Errorf("G6: %s (%s) found in the logs of %s", what, form, name)
				}
			}
		}
	}
}

// EnvInt reads a size from the environment (FAULTS_FULL=1 picks full for every size).
func EnvInt(name string, small, full int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	if Full() {
		return full
	}
	return small
}

// Full reports whether the full-size fault runs were asked for (FAULTS_FULL=1).
func Full() bool { return os.Getenv("FAULTS_FULL") == "1" }
