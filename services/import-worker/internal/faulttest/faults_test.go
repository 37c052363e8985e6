package faulttest_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/faultproxy"
	"github.com/posimport/posimport/services/import-worker/internal/faulttest"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestFaults is the fault suite. Every run ends with the same verdict (faulttest.Verdict):
// jobs terminal, balance equal to the oracle, approved days unchanged, no refresh-token reuse,
// no request over the budget, no canary secret in any log. The sizes are small by default;
// FAULTS_FULL=1 runs the full sizes (and each FAULTS_* variable sets one size).
func TestFaults(t *testing.T) {
	t.Parallel()
	bin := pipelinetest.BuildWorker(t) // one build for every run; removed after the last
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, bin string)
	}{
		{"KillWorker", killWorker},
		{"ZombieWriterRefused", zombieWriter},
		{"NATSRestartsAndTruncatedStream", natsRestarts},
		{"PostgresImmediateStops", postgresCrashes},
		{"LatencyAndResets", latencyAndResets},
		{"RateLimitStormSeconds", func(t *testing.T, bin string) { rateLimitStorm(t, bin, false) }},
		{"RateLimitStormHTTPDate", func(t *testing.T, bin string) { rateLimitStorm(t, bin, true) }},
		{"PoisonRegister", poisonRegister},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, bin)
		})
	}
}

// killWorker kills the worker process with SIGKILL again and again during the import and
// restarts it; every other kill happens while a COMMIT of the balance's WriteDay is on its
// way to PostgreSQL (held there by a gate on the balance's database proxy until the worker is
// dead, then let through: the commit lands and nobody who asked for it is left to hear).
func killWorker(t *testing.T, bin string) {
	kills := faulttest.EnvInt("FAULTS_KILLS", 8, 20)
	var db *faultproxy.Proxy
	b := faulttest.Setup(t, bin, faulttest.Options{
		Shops: faulttest.EnvInt("FAULTS_KILL_SHOPS", 4, 20), Registers: 3, Days: faulttest.EnvInt("FAULTS_KILL_DAYS", 120, 365), Seed: 21,
		BalanceDBURL: func(u string) string {
			db = faultproxy.Start(t, "balance-db", faultproxy.HostPort(t, u))
			return db.Via(t, u)
		},
	})
	id := b.StartImport(t)
	rng := rand.New(rand.NewPCG(21, uint64(time.Now().UnixNano())))
	victim := b.StartWorker(t)
	killed, inCommit := 0, 0
	for killed < kills {
		if _, ended, total := b.Progress(t, id); ended == total {
			break
		}
		if killed%2 == 1 {
			gate := db.Hold(t, "commit", faultproxy.Upstream, faultproxy.PGCommit)
			caught := waitUntil(time.Minute, func() bool { return gate.Caught() > 0 })
			victim.Kill()
			gate.Release()
			if caught {
				inCommit++
			}
		} else {
			// A random moment, once the restarted worker has done something.
			before, _, _ := b.Progress(t, id)
			waitUntil(20*time.Second, func() bool { d, _, _ := b.Progress(t, id); return d > before })
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond) // a random moment
			victim.Kill()
		}
		killed++
		victim = b.StartWorker(t)
	}
	b.Verdict(t, 5*time.Minute, faulttest.Expect{}, id)
	if killed < kills || inCommit < kills/2 {
		t.Errorf("%d kills (%d during a commit) happened during the import, want %d (%d): make it bigger", killed, inCommit, kills, kills/2)
	}
	t.Logf("%d kills, %d of them during a WriteDay's commit", killed, inCommit)
}

// waitUntil polls cond every 10 ms for at most timeout and reports whether it came true.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	return true
}

// zombieWriter pauses a worker (SIGSTOP) past its lease while its write of a job is on the
// way to the balance. The worker (one slot, its balance calls through a proxy) leases a job,
// reads its sales and sends the job's WriteDays; the proxy holds that call before it reaches
// the balance (from its HEADERS on), and the worker is stopped as a paused process is: its
// request not delivered, no transaction open anywhere. The job's last day then changes
// upstream, and another worker takes the job over (attempt 2) and finishes it with the new
// data, which advances the job's fence. The held call is delivered, still during the pause:
// the balance must refuse it as stale (one Aborted WriteDays more at the balance),
// and the resumed zombie must give the job up and go on. The job stays as the second worker
// left it, and the verdict finds the new data.
// NOTE: the zombie's BALANCE_WRITE_TIMEOUT outlasts the pause, so its call is alive when the
// balance judges it and answers: the refusal is the fence's, not a cancelled call's.
func zombieWriter(t *testing.T, bin string) {
	ctx := context.Background()
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: 2, Registers: 2, Days: 12, SalesPerDay: 8, Seed: 22})
	bal := faultproxy.Start(t, "zombie-balance", b.Balance.GRPCAddr)
	// The zombie's first WriteDays is its first job's (one write per job of up to 31 days).
	write := bal.Hold(t, "zombie-write", faultproxy.Upstream, faultproxy.GRPCMethod(posimportv1.BalanceService_WriteDays_FullMethodName))
	zombie := b.StartWorker(t, "BALANCE_ADDR="+bal.Addr(), "WORKER_SLOTS=1", "BALANCE_WRITE_TIMEOUT=9m")
	id := b.StartImport(t)
	faulttest.WaitFor(t, 2*time.Minute, "the zombie's WriteDays held on its way to the balance", func() bool { return write.Caught() > 0 })
	if err := zombie.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()

	// The held write is of the job the zombie leased; nobody else runs jobs yet.
	var job struct {
		id       uuid.UUID
		dep, reg string
		until    civil.Date
	}
	var until time.Time
	if err := b.Pool.QueryRow(ctx, `SELECT job_id, department_id, register_id, until_date FROM jobs
		WHERE import_id = $1 AND state = 'RUNNING' AND attempt = 1 AND lease_owner LIKE '%:' || $2`,
		id, strconv.Itoa(zombie.PID())).Scan(&job.id, &job.dep, &job.reg, &until); err != nil {
		t.Fatalf("the zombie's job: %v", err)
	}
	job.until = civil.DateOf(until)
	// A late correction on the job's last day (never an approved one): the held write has the
	// day without it.
	shop, r := shopOf(t, b, job.dep, job.reg)
	b.AddSale(t, shop, r, job.until, mustZone(t, shop.TimeZone), "991.13")
	refusedBefore := staleWrites(t, b)

	b.StartWorker(t) // the worker that takes the job over
	var left jobEnd
	faulttest.WaitFor(t, 3*time.Minute, "another worker finishing the zombie's job", func() bool {
		left = readJobEnd(t, b, job.id)
		return left.State == "DONE" && left.Attempt >= 2
	})
	if n := staleWrites(t, b); n != refusedBefore || write.Caught() != 1 {
		t.Fatalf("before the release: %d stale writes refused (want %d), the gate caught %d calls (want 1)", n, refusedBefore, write.Caught())
	}
	write.Release()
	faulttest.WaitFor(t, time.Minute, "the balance refusing the zombie's write", func() bool { return staleWrites(t, b) > refusedBefore })
	if err := zombie.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	pause := time.Since(paused)
	faulttest.WaitFor(t, time.Minute, "the zombie giving the job up", func() bool {
		for _, l := range strings.Split(zombie.Output(), "\n") {
			if strings.Contains(l, `"msg":"import job lease lost; stopping"`) && strings.Contains(l, job.id.String()) {
				return true
			}
		}
		return false
	})
	b.Verdict(t, 3*time.Minute, faulttest.Expect{}, id)
	if n := staleWrites(t, b); n != refusedBefore+1 {
		t.Errorf("%d stale writes refused by the balance, want %d (the zombie's one)", n, refusedBefore+1)
	}
	if diff := cmp.Diff(left, readJobEnd(t, b, job.id)); diff != "" {
		t.Errorf("the job changed after the second worker finished it (-left +now):\n%s", diff)
	}
	if zombie.Exited() {
		t.Errorf("the zombie exited instead of going on:\n%s", zombie.Output())
	}
	t.Logf("the zombie's write of %s/%s up to %s (job %s) was refused after a %v pause", job.dep, job.reg, job.until, job.id, pause.Round(time.Millisecond))
}

// jobEnd is what a job's row says about how it ended.
type jobEnd struct {
	State                    string
	Attempt                  int
	DaysWritten, DaysSkipped int
	Sales                    int64
	FinishTime               time.Time
}

func readJobEnd(t *testing.T, b *faulttest.Bundle, id uuid.UUID) jobEnd {
	t.Helper()
	var e jobEnd
	var finish *time.Time
	if err := b.Pool.QueryRow(context.Background(), `SELECT state, attempt, days_written, days_skipped_approved, sales_counted,
		finish_time FROM jobs WHERE job_id = $1`, id).Scan(&e.State, &e.Attempt, &e.DaysWritten, &e.DaysSkipped, &e.Sales, &finish); err != nil {
		t.Fatal(err)
	}
	if finish != nil {
		e.FinishTime = *finish
	}
	return e
}

// staleWrites reads the balance's count of WriteDay(s) calls refused as stale (Aborted, which
// the balance's writes answer only to a stale fencing token, with its ErrorInfo reason).
func staleWrites(t *testing.T, b *faulttest.Bundle) int {
	t.Helper()
	resp, err := http.Get(b.Balance.HTTPBase + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	total := 0
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "posimport_grpc_requests_total{") && strings.Contains(l, `code="Aborted"`) &&
			(strings.Contains(l, `method="WriteDay"`) || strings.Contains(l, `method="WriteDays"`)) {
			n, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			if err != nil {
				t.Fatal(err)
			}
			total += int(n)
		}
	}
	return total
}

func shopOf(t *testing.T, b *faulttest.Bundle, dep, reg string) (sim.Shop, int) {
	t.Helper()
	for _, d := range b.Deps {
		if d.ID != dep {
			continue
		}
		for i, r := range d.Registers {
			if r == reg {
				return d.Shop, i
			}
		}
	}
	t.Fatalf("no register %s in department %s", reg, dep)
	return sim.Shop{}, 0
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// natsRestarts stops and restarts NATS (same store) during the import, then stops it once
// more, truncates the job stream's last block file, and starts it again: the reconciler must
// re-publish the jobs whose messages were lost.
func natsRestarts(t *testing.T, bin string) {
	restarts := faulttest.EnvInt("FAULTS_NATS_RESTARTS", 3, 10)
	// A client window as wide as the import, so that most of its jobs wait in the stream when
	// the stream is truncated: with the default window the stream holds four messages, and the
	// truncated part of a block may hold none of them.
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: faulttest.EnvInt("FAULTS_NATS_SHOPS", 3, 10), Registers: 3,
		Days: faulttest.EnvInt("FAULTS_NATS_DAYS", 120, 180), Seed: 23,
		WorkerConfig: func(c *importservice.Config) { c.MaxRunningPerClient = 1000 }})
	id := b.StartImport(t)
	b.StartWorker(t)
	b.StartWorker(t)
	waitProgress := func(share float64) {
		t.Helper()
		total := len(b.Deps) * 3 * (b.Until.DaysSince(b.From) + 1)
		faulttest.WaitFor(t, 3*time.Minute, "import progress", func() bool { d, _, _ := b.Progress(t, id); return d >= int(share*float64(total)) })
	}
	// Truncate first, while most jobs wait in the stream, then restart.
	stream := jobqueue.New(b.NATS.JS, jobqueue.Config{Prefix: b.Prefix}).Stream()
	waitProgress(0.05)
	b.StopNATS(t)
	truncated := truncateLastBlock(t, filepath.Join(b.NATSStoreDir(), "jetstream", "$G", "streams", stream, "msgs"))
	b.StartNATSAgain(t)
	for i := range restarts {
		waitProgress(0.1 + 0.8*float64(i+1)/float64(restarts+1))
		if _, ended, total := b.Progress(t, id); ended == total {
			t.Fatalf("the import ended after %d of %d restarts: make it bigger", i, restarts)
		}
		b.RestartNATS(t, time.Duration(500+rand.IntN(1500))*time.Millisecond)
	}
	b.Verdict(t, 5*time.Minute, faulttest.Expect{}, id)
	var republished int
	if err := b.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(republish_count), 0)::int FROM jobs WHERE import_id = $1`, id).Scan(&republished); err != nil {
		t.Fatal(err)
	}
	t.Logf("truncated %s; %d restarts; %d jobs re-published by the reconciler", truncated, restarts, republished)
	if republished == 0 {
		t.Error("no job was re-published: the truncation lost nothing, so the reconciler was not tested")
	}
}

// truncateLastBlock cuts the last message block file of a stream to a third of its size, as a
// crash between writes could leave it, and returns what it did.
func truncateLastBlock(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.blk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no block files in %s: %v", dir, err)
	}
	num := func(f string) int { n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".blk")); return n }
	sort.Slice(files, func(i, j int) bool { return num(files[i]) < num(files[j]) })
	last := files[len(files)-1]
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()/3); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(last) + " from " + strconv.FormatInt(st.Size(), 10) + " to " + strconv.FormatInt(st.Size()/3, 10) + " bytes"
}

// postgresCrashes stops PostgreSQL in immediate mode (a crash: no checkpoint, recovery from
// the WAL at start) several times during the import.
func postgresCrashes(t *testing.T, bin string) {
	crashes := faulttest.EnvInt("FAULTS_PG_CRASHES", 2, 5)
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: faulttest.EnvInt("FAULTS_PG_SHOPS", 3, 10), Registers: 3,
		Days: faulttest.EnvInt("FAULTS_PG_DAYS", 60, 180), Seed: 24, OwnPostgres: true})
	id := b.StartImport(t)
	b.StartWorker(t)
	b.StartWorker(t)
	total := len(b.Deps) * 3 * (b.Until.DaysSince(b.From) + 1)
	for i := range crashes {
		share := 0.1 + 0.8*float64(i)/float64(crashes)
		faulttest.WaitFor(t, 3*time.Minute, "import progress", func() bool { d, _, _ := b.Progress(t, id); return d >= int(share*float64(total)) })
		if _, ended, all := b.Progress(t, id); ended == all {
			t.Fatalf("the import ended after %d of %d crashes: make it bigger", i, crashes)
		}
		b.RestartPostgres(t, time.Second)
	}
	b.Verdict(t, 5*time.Minute, faulttest.Expect{}, id)
}

// latencyAndResets puts a proxy between the worker processes and each of the config, auth and
// balance services, NATS, PostgreSQL and the simulator, with latency and jitter on every one,
// 5 % of new connections to the simulator reset, and a connection cut on a random proxy every
// second or so, each during an import: when the import ends before the cuts do, the range is
// imported again (the same values, set again) under the rest of them.
func latencyAndResets(t *testing.T, bin string) {
	cuts := faulttest.EnvInt("FAULTS_CUTS", 10, 40)
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: faulttest.EnvInt("FAULTS_NET_SHOPS", 2, 5), Registers: 3,
		Days: faulttest.EnvInt("FAULTS_NET_DAYS", 40, 120), Seed: 25})
	proxies := map[string]*faultproxy.Proxy{
		"config": faultproxy.Start(t, "config", b.Config.GRPCAddr), "auth": faultproxy.Start(t, "auth", b.Auth.GRPCAddr),
		"balance": faultproxy.Start(t, "balance", b.Balance.GRPCAddr), "nats": faultproxy.Start(t, "nats", faultproxy.HostPort(t, b.NATSURL)),
		"postgres": faultproxy.Start(t, "postgres", faultproxy.HostPort(t, b.DBURL)), "pos": faultproxy.Start(t, "pos", faultproxy.HostPort(t, b.SimURL)),
	}
	names := make([]string, 0, len(proxies))
	for name, p := range proxies {
		names = append(names, name)
		p.Toxic(t, "latency", "latency", faultproxy.Downstream, 1, map[string]int{"latency": 15, "jitter": 10})
	}
	sort.Strings(names)
	proxies["pos"].Toxic(t, "reset", "reset_peer", faultproxy.Upstream, 0.05, map[string]int{"timeout": 0})
	env := []string{"CONFIG_ADDR=" + proxies["config"].Addr(), "AUTH_ADDR=" + proxies["auth"].Addr(),
		"BALANCE_ADDR=" + proxies["balance"].Addr(), "NATS_URL=" + proxies["nats"].Via(t, b.NATSURL),
		"DATABASE_URL=" + proxies["postgres"].Via(t, b.DBURL), "LIGHTSPEED_API_URL=" + proxies["pos"].Via(t, b.SimURL)}
	ids := []string{b.StartImport(t)}
	b.StartWorker(t, env...)
	b.StartWorker(t, env...)
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	cut := map[string]int{}
	for i := range cuts {
		time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond) // the chaos schedule
		if _, ended, total := b.Progress(t, ids[len(ids)-1]); ended == total {
			// How long an import lasts depends on the machine; the cuts must not.
			ids = append(ids, b.StartImport(t))
		}
		name := names[i%len(names)] // every proxy in turn
		proxies[name].Cut(t)
		cut[name]++
	}
	b.Verdict(t, 5*time.Minute, faulttest.Expect{}, ids...)
	t.Logf("connection cuts: %v during %d imports", cut, len(ids))
}

// rateLimitStorm answers a run of Sale.json requests with 429 and a Retry-After (seconds, or
// an HTTP date) in the middle of the import, with two worker processes: no request may reach
// the account before the time a 429 named, and the import then finishes.
func rateLimitStorm(t *testing.T, bin string, date bool) {
	const storm = 6
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: 2, Registers: 3, Days: 40, SalesPerDay: 30, Seed: 26})
	id := b.StartImport(t)
	b.StartWorker(t)
	b.StartWorker(t)
	faulttest.WaitFor(t, time.Minute, "the first sales read", func() bool {
		n := 0
		for _, q := range b.Recorder.Requests() {
			if strings.HasSuffix(q.Path, "/Sale.json") && q.Status == http.StatusOK {
				n++
			}
		}
		return n >= 3
	})
	if err := b.Sim.InjectFault(sim.Fault{Kind: sim.FaultRateLimit, Endpoint: "Sale.json", Count: storm, RetryAfter: 2,
		RetryAfterDate: date}); err != nil {
		t.Fatal(err)
	}
	b.Verdict(t, 3*time.Minute, faulttest.Expect{RetryAfter429s: storm}, id)
}

// poisonRegister corrupts one register's sales (a calcTotal that is not a number): its jobs
// must end FAILED with a reason naming the sale and the field, without retrying, and every
// other register must be exact.
func poisonRegister(t *testing.T, bin string) {
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: 2, Registers: 3, Days: 45, Seed: 27})
	poisoned := b.Deps[1].Shop.Registers[1].ID
	reg := strconv.FormatInt(poisoned, 10)
	b.Recorder.PoisonRegister(poisoned, simtest.Poison{Field: "calcTotal", Value: "12,50"})
	id := b.StartImport(t)
	b.StartWorker(t)
	b.Verdict(t, 3*time.Minute, faulttest.Expect{Poisoned: map[string]bool{reg: true},
		Reason: []string{"malformed", "field calcTotal", `"12,50"`}}, id)

	// Each reason names a sale of that register within the job's dates, and the job was not
	// retried.
	rows, err := b.Pool.Query(context.Background(), `SELECT from_date, until_date, last_error, attempt FROM jobs
		WHERE import_id = $1 AND register_id = $2`, id, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	saleID := regexp.MustCompile(`Sale (\d+)`)
	sales, err := b.Sim.Sales(b.AccountID(0), sim.SaleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]sim.Sale{}
	for _, s := range sales {
		byID[s.ID] = s
	}
	loc := mustZone(t, b.Deps[1].Shop.TimeZone)
	jobs := 0
	for rows.Next() {
		var from, until time.Time
		var reason string
		var attempt int
		if err := rows.Scan(&from, &until, &reason, &attempt); err != nil {
			t.Fatal(err)
		}
		jobs++
		m := saleID.FindStringSubmatch(reason)
		if m == nil {
			t.Errorf("reason %q names no sale", reason)
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		s, ok := byID[n]
		local := civil.DateOf(s.CompleteTime.In(loc))
		if !ok || s.RegisterID != poisoned || local.Before(civil.DateOf(from)) || local.After(civil.DateOf(until)) {
			t.Errorf("reason %q names sale %d, not one of register %s between %s and %s", reason, n, reg, from.Format(time.DateOnly), until.Format(time.DateOnly))
		}
		if attempt != 1 {
			t.Errorf("the poisoned job was leased %d times, want once (malformed data is permanent)", attempt)
		}
	}
	if jobs != 2 {
		t.Errorf("%d jobs of the poisoned register, want 2 (45 days)", jobs)
	}
}
