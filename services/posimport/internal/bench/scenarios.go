package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/retry"
)

// Targets of issue 9.
const (
	targetP1Ratio   = 1.05
	targetP1Limited = 0.005
	targetP2        = 1.02
	targetP3        = 1.3
	targetP5        = 1.1
	targetP5Commits = 3
	targetP5PGms    = 2
	targetWorkerMB  = 200
	targetUpMB      = 100
)

// slots are the worker slots of every scenario: the 8 workers.
const slots = 8

// salesPerDay is the mean number of sales per register and day of every scenario: a small
// shop's (the simulator holds every sale in memory: P3's year of 60 registers is 650,000).
const salesPerDay = 30

// scale is the time scale of the rate limits: --scale, or def.
func (b *bench) scale(def float64) float64 {
	if b.o.Scale > 0 {
		return b.o.Scale
	}
	return def
}

// size picks the full or the quick value.
func (b *bench) size(full, quick int) int {
	if b.o.Quick {
		return quick
	}
	return full
}

// backfillRig starts a backfill's system: the rig of o with its clients set up, and a worker
// process of 8 slots that one client's jobs may all use, pacing itself for a simulator at scale.
// The caller closes the rig.
func (b *bench) backfillRig(ctx context.Context, name string, o *sim.Options, scale float64) (*rig, *process, error) {
	r, err := b.newRig(ctx, name, o)
	if err != nil {
		return nil, nil, err
	}
	worker, err := func() (*process, error) {
		if err := r.setUp(ctx, r.clients()); err != nil {
			return nil, err
		}
		env, err := r.workerEnv(slots, scale, map[string]string{"JOB_MAX_RUNNING_PER_CLIENT": strconv.Itoa(slots)})
		if err != nil {
			return nil, err
		}
		return r.startWorker(ctx, env)
	}()
	if err != nil {
		r.close()
		return nil, nil, err
	}
	return r, worker, nil
}

// rateLimited is P1 and P2: a backfill of one account's 5 shops × 3 registers with 8 worker
// slots against the real bucket settings, unscaled by default.
// NOTE: at time scale 10 the bucket drips 80 requests/s, more than a 2-core machine fetches and
// decodes full pages with 8 slots (about 50/s, P3's fetch-only), so the run would measure the
// machine, not the pacing.
func (b *bench) rateLimited(ctx context.Context) ([]Row, error) {
	scale := b.scale(1)
	if b.o.Quick && b.o.Scale == 0 {
		scale = 50
	}
	shops, registers, days := b.size(5, 2), b.size(3, 2), b.size(365, 20)
	b.say("P1: backfill of %d days × %d shops × %d registers, one account, %d slots, limits at time scale %g", days, shops, registers, slots, scale)
	limits := sim.RateLimitOptions{TimeScale: scale}
	if b.o.Quick {
		// A bucket the few requests of a quick run overflow, so the bound is not zero.
		limits.BucketSize, limits.PerRegisterSize = 4, 1
	}
	r, _, err := b.backfillRig(ctx, "p1", &sim.Options{Seed: 8, Data: simData(1, shops, registers, b.size(salesPerDay, 10), days), RateLimit: limits}, scale)
	if err != nil {
		return nil, err
	}
	defer r.close()
	clients := r.clients()
	from := r.until.AddDays(-(days - 1))
	r.sim.ResetCounts()
	imp, err := r.runImport(ctx, clients[0], from, r.until)
	if err != nil {
		return nil, err
	}
	requests, limited := r.apiRequests()
	sp := spans(clients, r.loc, from, r.until)
	floor, sales, _, err := pages(r.sim, sp)
	if err != nil {
		return nil, err
	}
	size, drip := bucketOf(limits, shops*registers)
	w := wall(imp)
	bound := rateFloor(requests, size, drip)
	b.say("P1: %d requests (%d met a 429) in %s; bound %s", requests, limited, w.Round(time.Millisecond), bound.Round(time.Millisecond))
	raw := Raw{Requests: requests, RateLimited: limited, Sales: sales, Jobs: len(sp), Days: imp.GetProgress().GetDaysWritten(),
		WallSeconds: w.Seconds(), Bucket: size, Drip: drip, Slots: slots, Scale: scale}
	p1 := ratioRow(P1, "backfill wall time ÷ ((requests − bucket) / drip)", "s", w.Seconds(), bound.Seconds(), targetP1Ratio, raw)
	share := Row{Scenario: P1, What: "requests that met a 429 ÷ requests", Unit: "requests", Measured: float64(limited),
		Floor: float64(requests), Target: targetP1Limited, Raw: raw}
	if requests > 0 {
		share.Ratio = float64(limited) / float64(requests)
		share.Pass = share.Ratio <= targetP1Limited
	}
	p2 := ratioRow(P2, "requests made ÷ Σ ceil(sales/100) over the jobs' register-ranges (P1's run)", "requests",
		float64(requests), float64(floor), targetP2, raw)
	return []Row{p1, share, p2}, nil
}

// engineOverhead is P3 and the worker half of P6: a year of 20 shops × 3 registers with the
// rate limit off, end to end with 8 worker slots in an import-worker process, against fetching
// the same register-ranges with 8 at once right before and after.
func (b *bench) engineOverhead(ctx context.Context) ([]Row, error) {
	shops, registers, days := b.size(20, 2), b.size(3, 2), b.size(365, 20)
	b.say("P3: backfill of %d days × %d shops × %d registers, rate limit off, %d slots", days, shops, registers, slots)
	// NOTE: "off" is a huge time scale rather than Disabled alone: the headers still report
	// the bucket, and the workers pace themselves by them.
	const off = 1e6
	r, worker, err := b.backfillRig(ctx, "p3", &sim.Options{Seed: 3, Data: simData(1, shops, registers, salesPerDay, days),
		RateLimit: sim.RateLimitOptions{Disabled: true, TimeScale: off}}, off)
	if err != nil {
		return nil, err
	}
	defer r.close()
	clients := r.clients()
	from := r.until.AddDays(-(days - 1))
	sp := spans(clients, r.loc, from, r.until)
	tokens, err := r.tokens(ctx, clients)
	if err != nil {
		return nil, err
	}
	before, err := fetchOnly(ctx, r.simURL, tokens, sp, slots, false)
	if err != nil {
		return nil, err
	}
	b.say("P3: fetch-only %d requests, %d sales in %s", before.requests, before.sales, before.wall.Round(time.Millisecond))
	r.sim.ResetCounts()
	cpu0 := readCPU(worker)
	imp, err := r.runImport(ctx, clients[0], from, r.until)
	if err != nil {
		return nil, err
	}
	cpu1 := readCPU(worker)
	requests, _ := r.apiRequests()
	rss, err := worker.rss()
	if err != nil {
		return nil, err
	}
	after, err := fetchOnly(ctx, r.simURL, tokens, sp, slots, false)
	if err != nil {
		return nil, err
	}
	w := wall(imp)
	fetch := (before.wall + after.wall) / 2
	b.say("P3: end to end %s; fetch-only %s before, %s after; worker peak RSS %.0f MB",
		w.Round(time.Millisecond), before.wall.Round(time.Millisecond), after.wall.Round(time.Millisecond), rss.PeakMB)
	if imp.GetProgress().GetSalesCounted() != before.sales {
		return nil, fmt.Errorf("the import counted %d sales, the fetch-only run %d", imp.GetProgress().GetSalesCounted(), before.sales)
	}
	raw := Raw{Requests: requests, Sales: before.sales, Jobs: len(sp), Days: imp.GetProgress().GetDaysWritten(),
		WallSeconds: w.Seconds(), FetchSeconds: []float64{before.wall.Seconds(), after.wall.Seconds()}, Slots: slots,
		CPU: cpuUse(cpu1.since(cpu0), len(sp), before, after)}
	p3 := ratioRow(P3, "backfill wall time ÷ fetch-only time (mean of before and after), same register-ranges, same concurrency", "s",
		w.Seconds(), fetch.Seconds(), targetP3, raw)
	return []Row{p3, memRow("import-worker process peak RSS during P3", rss, targetWorkerMB, Raw{Note: "VmHWM of the worker process"})}, nil
}

// nightly is P5: the scheduler's nightly run for many clients of 5 shops × 2 registers, two
// days each, with the limits time-scaled.
func (b *bench) nightly(ctx context.Context) ([]Row, error) {
	scale := b.scale(10)
	accounts := b.size(1000, 5)
	if b.o.Clients > 0 {
		accounts = b.o.Clients
	}
	const shops, registers = 5, 2
	b.say("P5: nightly run of %d clients × %d shops × %d registers, limits at time scale %g, %d slots", accounts, shops, registers, scale, slots)
	limits := sim.RateLimitOptions{TimeScale: scale}
	r, err := b.newRig(ctx, "p5", &sim.Options{Seed: 5, Data: simData(accounts, shops, registers, salesPerDay, 2), RateLimit: limits})
	if err != nil {
		return nil, err
	}
	defer r.close()
	clients := r.clients()
	if err := r.setUp(ctx, clients); err != nil {
		return nil, err
	}
	// The nightly run imports each department's last two completed local days.
	from := r.until.AddDays(-1)
	sp := spans(clients, r.loc, from, r.until)
	floorPages, sales, byAccount, err := pages(r.sim, sp)
	if err != nil {
		return nil, err
	}
	size, drip := bucketOf(limits, shops*registers)
	var rate time.Duration
	for _, n := range byAccount {
		rate = max(rate, rateFloor(n, size, drip))
	}
	tokens, err := r.tokens(ctx, clients)
	if err != nil {
		return nil, err
	}
	before, err := fetchOnly(ctx, r.simURL, tokens, sp, slots, true)
	if err != nil {
		return nil, err
	}
	b.say("P5: fetch-only %d requests, %d sales in %s", before.requests, before.sales, before.wall.Round(time.Millisecond))
	r.sim.ResetCounts()
	// The checks run every second (30 s in production): the run starts at once, and the
	// scheduler's and the intraday refresher's checks stay a small share of the run's commits.
	env, err := r.workerEnv(slots, scale, map[string]string{
		"IMPORT_SCHEDULER": "true", "SCHEDULE_TIME": "00:00", "SCHEDULE_TIME_ZONE": "UTC", "SCHEDULE_CHECK_INTERVAL": "1s",
	})
	if err != nil {
		return nil, err
	}
	// P5b: PostgreSQL's commits (once the set-up's statistics have reached pg_stat_database)
	// and CPU time, around the run.
	if err := retry.Sleep(ctx, statsFlush); err != nil {
		return nil, err
	}
	commits0, err := b.readPGCommits(ctx, r.dbURL)
	if err != nil {
		return nil, err
	}
	statements := b.o.PGStatements && b.pgStatements(ctx, r.dbURL)
	pgCPU0, pgOK := b.readPGCPU()
	cpu0 := readCPU(nil)
	worker, err := r.startWorker(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := worker.waitJobs(ctx, env["HTTP_ADDR"], int64(len(sp)), 2*time.Hour); err != nil {
		return nil, err
	}
	// The worker's clock starts at zero: the run's share is all of it so far.
	cpu1 := readCPU(worker)
	pgCPU1, pgOK1 := b.readPGCPU()
	requests, limited := r.apiRequests()
	if statements {
		stmts, err := b.readPGStatements(ctx, r.dbURL)
		if err != nil {
			return nil, fmt.Errorf("read pg_stat_statements: %w", err)
		}
		b.sayStatements(stmts, float64(len(sp)))
	}
	if err := retry.Sleep(ctx, statsFlush); err != nil {
		return nil, err
	}
	commits1, err := b.readPGCommits(ctx, r.dbURL)
	if err != nil {
		return nil, err
	}
	// Read after the commits: the bench's own reads of every import are not the run's.
	w, days, err := r.scheduledWall(ctx, clients)
	if err != nil {
		return nil, err
	}
	after, err := fetchOnly(ctx, r.simURL, tokens, sp, slots, true)
	if err != nil {
		return nil, err
	}
	fetch := (before.wall + after.wall) / 2
	bound := max(fetch, rate)
	b.say("P5: nightly run %s; fetch-only %s before, %s after; rate-limit floor %s",
		w.Round(time.Millisecond), before.wall.Round(time.Millisecond), after.wall.Round(time.Millisecond), rate.Round(time.Millisecond))
	raw := Raw{Requests: requests, RateLimited: limited, Sales: sales, Jobs: len(sp), Days: days, WallSeconds: w.Seconds(),
		FetchSeconds: []float64{before.wall.Seconds(), after.wall.Seconds()}, RateFloorSeconds: rate.Seconds(),
		Bucket: size, Drip: drip, Slots: slots, Scale: scale, CPU: cpuUse(cpu1.since(cpu0), len(sp), before, after),
		Note: fmt.Sprintf("%d clients; Σ ceil(sales/100) = %d", len(clients), floorPages)}
	rows := []Row{ratioRow(P5, "P5a: nightly run wall time ÷ max(fetch-only time with limits, slowest account's (requests − bucket) / drip)", "s",
		w.Seconds(), bound.Seconds(), targetP5, raw)}
	// P5b: the absolute targets are the rows' floors (ratio ≤ 1 passes).
	jobs := float64(len(sp))
	commits := float64(commits1-commits0) / jobs
	b.say("P5b: %d PostgreSQL commits for %d jobs: %.2f a job", commits1-commits0, len(sp), commits)
	rows = append(rows, ratioRow(P5, "P5b: PostgreSQL commits per nightly job (pg_stat_database xact_commit, all services)", "commits",
		round(commits, 2), targetP5Commits, 1, Raw{Jobs: len(sp), Note: fmt.Sprintf("%d commits", commits1-commits0)}))
	if pgOK && pgOK1 {
		ms := float64(pgCPU1-pgCPU0) / float64(time.Millisecond) / jobs
		b.say("P5b: PostgreSQL CPU %s for %d jobs: %.2f ms a job", (pgCPU1 - pgCPU0).Round(time.Millisecond), len(sp), ms)
		rows = append(rows, ratioRow(P5, "P5b: PostgreSQL CPU per nightly job (the private cluster's processes)", "ms",
			round(ms, 2), targetP5PGms, 1, Raw{Jobs: len(sp), Note: "CPU of the postmaster, its live and ended children"}))
	}
	if raw.CPU != nil && cpu1.ok {
		ms := float64(cpu1.since(cpu0).worker) / float64(time.Millisecond) / jobs
		b.say("P5b: import-worker CPU %.2f ms a job (fetch, decode and aggregation included)", ms)
		rows[0].Raw.Note += fmt.Sprintf("; import-worker CPU %.2f ms a job", ms)
	}
	return rows, nil
}

// idleUp is the other half of P6: a `posimport up` process's peak RSS once its start-up has
// settled.
func (b *bench) idleUp(ctx context.Context) ([]Row, error) {
	b.say("P6: posimport up, idle")
	dir, err := b.scenarioDir("up")
	if err != nil {
		return nil, err
	}
	dbURL, drop, err := b.createDatabase(ctx, "up")
	if err != nil {
		return nil, err
	}
	defer drop()
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(b.o.Posimport, []string{"--data-dir", dir, "up", "--grpc-addr", "127.0.0.1:0", "--http-addr", httpAddr,
		"--database-url", dbURL, "--simulator-url", "http://127.0.0.1:9"}, map[string]string{"LOG_LEVEL": "warn"}, dir, "posimport-up")
	if err != nil {
		return nil, err
	}
	defer p.stop(20 * time.Second)
	if err := p.waitReady(ctx, httpAddr, 2*time.Minute); err != nil {
		return nil, err
	}
	settle := 20 * time.Second
	if b.o.Quick {
		settle = 2 * time.Second
	}
	rss, err := p.settle(ctx, settle)
	if err != nil {
		return nil, err
	}
	b.say("P6: posimport up idle: peak RSS %.0f MB, now %.0f MB", rss.PeakMB, rss.CurrentMB)
	return []Row{memRow("posimport up process peak RSS, idle after start-up", rss, targetUpMB,
		Raw{Note: fmt.Sprintf("VmHWM after %v idle", settle)})}, nil
}

// memRow is a P6 row: the peak RSS against its budget.
func memRow(what string, rss RSS, budget float64, raw Raw) Row {
	raw.PeakMB, raw.CurrentMB = round(rss.PeakMB, 1), round(rss.CurrentMB, 1)
	r := ratioRow(P6, what, "MB", round(rss.PeakMB, 1), budget, 1, raw)
	return r
}
