package balanceservice_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/services/balance/balanceservice"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// The benchmark's data: a year (ISO weeks 2026-W01 to W52) of 20 departments × 3 registers ×
// 8 fields. Department ids are numbers so that pgbench can pick one with \set.
const (
	benchDepartments = 20
	benchRegisters   = 3
	benchWeeks       = 52
	benchFirstDept   = 1001
	benchConns       = 16
	// benchPoolConns is the service's own pool, as deployed (DB_MAX_CONNS in the manifests and
	// app.Config's default): fewer PostgreSQL backends than requests in flight keeps two cores
	// from switching among 16 of them.
	benchPoolConns = 10
)

// BenchmarkGetWeeklyBalance drives GetWeeklyBalance over REST with 16 connections against a
// year of data for 20 departments × 3 registers, each request a random department and week,
// and then runs pgbench with the statement the read path runs (the same SQL, random department
// and week, 16 connections, 2 threads, prepared statements) for as long. It reports both
// throughputs, their ratio and the REST p99 latency.
//
//	go test -run '^$' -bench BenchmarkGetWeeklyBalance -benchtime 10s ./balanceservice/
func BenchmarkGetWeeklyBalance(b *testing.B) {
	// The service runs with the garbage-collection target its main sets.
	b.Cleanup(app.SetGCPercent(balanceservice.GCPercent))
	tb := setupPool(b, benchPoolConns)
	var depts []department
	for i := range benchDepartments {
		var regs []string
		for r := range benchRegisters {
			regs = append(regs, strconv.Itoa(5000+i*benchRegisters+r))
		}
		depts = append(depts, department{id: strconv.Itoa(benchFirstDept + i), registers: regs})
	}
	tb.configure(b, "c1", false, "05:00", depts...)
	first := civil.Week{Year: 2026, Week: 1}.Monday()
	last := civil.Week{Year: 2026, Week: benchWeeks}.Monday().AddDays(6)
	seedYear(b, tb, first, last)
	token := tb.keys.Token(b, authn.RoleViewer, "c1")

	var restRate, restP99 float64
	var restElapsed time.Duration
	b.Run("rest", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: benchConns, MaxIdleConnsPerHost: benchConns}}
		defer client.CloseIdleConnections()
		var mu sync.Mutex
		var latencies []time.Duration
		b.SetParallelism((benchConns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		cpuBefore := processCPU(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
			var mine []time.Duration
			var body bytes.Buffer
			for pb.Next() {
				url := fmt.Sprintf("%s/v1/clients/c1/departments/%d/weeks/2026-W%02d", tb.svc.HTTPBase,
					benchFirstDept+rng.IntN(benchDepartments), 1+rng.IntN(benchWeeks))
				start := time.Now()
				if err := get(client, url, token, &body); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
		b.StopTimer()
		// The service and the load generator share this process; the CPU per request says what
		// a request costs whatever else the machine is running.
		b.ReportMetric(float64((processCPU(b)-cpuBefore).Microseconds())/1000/float64(b.N), "go_cpu_ms/req")
		restElapsed = b.Elapsed()
		restRate = float64(b.N) / restElapsed.Seconds()
		restP99 = percentile(latencies, 0.99)
		b.ReportMetric(restRate, "req/s")
		b.ReportMetric(restP99, "p99_ms")
		b.ReportMetric(percentile(latencies, 0.50), "p50_ms")
	})
	b.Run("pgbench", func(b *testing.B) {
		seconds := max(1, int(restElapsed.Round(time.Second).Seconds()))
		var tps float64
		for b.Loop() {
			tps = runPgbench(b, tb.dbURL, first, seconds)
		}
		b.ReportMetric(tps, "pgbench_tps")
		b.ReportMetric(restRate, "rest_req/s")
		b.ReportMetric(restRate/tps, "ratio")
		b.ReportMetric(restP99, "rest_p99_ms")
	})
}

// get reads url into body (reused across requests: the load generator's own cost is part of
// the CPU per request) and fails unless it is a week with imported values.
func get(client *http.Client, url, token string, body *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body.Reset()
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body.Bytes(), []byte(`"imported":true`)) {
		return fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, body.Bytes())
	}
	return nil
}

// processCPU returns the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile returns the p-quantile of ds in milliseconds.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))].Microseconds()) / 1000
}

// seedYear fills the balance schema directly with SQL for every department, register, day and
// field of the client c1's configuration, with one value per local clock hour (23 or 25 on the
// DST days), and then lets the store compute the departments' sums as WriteDay does.
func seedYear(b *testing.B, tb *testBundle, first, last civil.Date) {
	b.Helper()
	ctx := context.Background()
	var fieldIDs []int64
	var split []bool
	for _, f := range testFields {
		fieldIDs = append(fieldIDs, f.id)
		split = append(split, f.split)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO day_status (client_id, department_id, business_date, registers_imported, import_finished)
		  SELECT 'c1', d::text, g::date, $3, true
		  FROM generate_series($4::int, $4::int + $5 - 1) d, generate_series($1::date, $2::date, interval '1 day') g`,
			[]any{first.String(), last.String(), benchRegisters, benchFirstDept, benchDepartments}},
		{`INSERT INTO register_days (client_id, department_id, business_date, register_id, time_zone, import_id, job_id, fencing_token, version, write_time)
		  SELECT 'c1', s.department_id, s.business_date, (5000 + (s.department_id::int - $1) * $2 + r)::text, $3, 'seed', 'seed', 1, 1, now()
		  FROM day_status s, generate_series(0, $2 - 1) r`,
			[]any{benchFirstDept, benchRegisters, copenhagen}},
		{`INSERT INTO register_values (client_id, department_id, business_date, register_id, field_id, hours, total)
		  SELECT rd.client_id, rd.department_id, rd.business_date, rd.register_id, f.id, v.hours, v.total
		  FROM register_days rd
		  CROSS JOIN (SELECT unnest($1::bigint[]) AS id, unnest($2::boolean[]) AS split) f
		  CROSS JOIN LATERAL (
		      SELECT coalesce(array_agg(x.v ORDER BY x.i), '{}') AS hours,
		             coalesce(sum(x.v), round((random() * 500)::numeric, 2)) AS total
		      FROM (
		          SELECT i, round((random() * 100)::numeric, 2) AS v
		          FROM generate_series(1, CASE WHEN f.split THEN extract(epoch FROM
		              ((rd.business_date + 1)::timestamp AT TIME ZONE $3) - (rd.business_date::timestamp AT TIME ZONE $3))::int / 3600
		              ELSE 0 END) i
		      ) x
		  ) v`,
			[]any{fieldIDs, split, copenhagen}},
	} {
		if _, err := tb.pool.Exec(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	st := store.New(tb.pool)
	for i := range benchDepartments {
		if err := st.RebuildDayValues(ctx, "c1", strconv.Itoa(benchFirstDept+i), first, last); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tb.pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var rows, hours int64
	if err := tb.pool.QueryRow(ctx, `SELECT count(*), sum(cardinality(hours)) FROM register_values`).Scan(&rows, &hours); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d register values (%d hourly values) for %s..%s", rows, hours, first, last)
}

// runPgbench runs the read path's statement (BalanceRange, from queries/days.sql) with
// pgbench for seconds and returns its transactions per second.
func runPgbench(b *testing.B, dbURL string, first civil.Date, seconds int) float64 {
	b.Helper()
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		bin = "/usr/lib/postgresql/15/bin/pgbench"
	}
	src, err := os.ReadFile(filepath.Join("..", "internal", "store", "queries", "days.sql"))
	if err != nil {
		b.Fatal(err)
	}
	query := regexp.MustCompile(`(?s)-- name: BalanceRange :many\n(.*?;)`).FindSubmatch(src)
	if query == nil {
		b.Fatal("BalanceRange not found in queries/days.sql")
	}
	// The same statement, with pgbench's variables for sqlc's parameters.
	sql := strings.NewReplacer(
		"@client_id", ":client_id",
		"@department_id", ":dept",
		"@from_date::date", "(:monday::date + 7 * :w)",
		"@until_date::date", "(:monday::date + 7 * :w + 6)",
	).Replace(string(query[1]))
	script := filepath.Join(b.TempDir(), "balance_range.sql")
	content := fmt.Sprintf("\\set dept random(%d, %d)\n\\set w random(0, %d)\n%s\n", benchFirstDept, benchFirstDept+benchDepartments-1, benchWeeks-1, sql)
	if err := os.WriteFile(script, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-M", "prepared", "-c", strconv.Itoa(benchConns), "-j", "2", "-T", strconv.Itoa(seconds),
		"-f", script, "-D", "client_id=c1", "-D", "monday="+first.String(), dbURL)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+store.Schema)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench: no tps in\n%s", out)
	}
	if !strings.Contains(string(out), "number of failed transactions: 0") {
		b.Fatalf("pgbench: failures\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return tps
}
