package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// statsFlush is how long to wait for every backend's statistics to reach pg_stat_database:
// an idle backend flushes them within 10 s (PGSTAT_IDLE_INTERVAL), a busy one every second.
const statsFlush = 11 * time.Second

// readPGCPU reads the server's CPU time, when the cluster is private.
func (b *bench) readPGCPU() (time.Duration, bool) {
	if b.pg.cluster == nil {
		return 0, false
	}
	pid, err := postmasterPID(filepath.Join(b.dir, "pg", "data"))
	if err != nil {
		return 0, false
	}
	t, err := treeCPU(pid)
	return t, err == nil
}

// readPGCommits reads the commits of the database of dbURL so far.
func (b *bench) readPGCommits(ctx context.Context, dbURL string) (int64, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return 0, err
	}
	db := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(ctx, b.pg.adminURL)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var n int64
	if err := conn.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", db).Scan(&n); err != nil {
		return 0, fmt.Errorf("read the commits of %s: %w", db, err)
	}
	return n, nil
}

// postmasterPID reads the server's pid from its data directory.
func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// treeCPU is the CPU time of a process, its children that ended (cutime, cstime) and its live
// children: a PostgreSQL server's, whose backends are children of the postmaster.
func treeCPU(pid int) (time.Duration, error) {
	own, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	// utime, stime, cutime, cstime are fields 14–17 of proc(5): f[11:15].
	total := sumTicks(own[11:15])
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		f, err := statFields(child)
		if err != nil || len(f) < 13 {
			continue // ended meanwhile: its time is in the parent's cutime now
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			total += sumTicks(f[11:13])
		}
	}
	return total, nil
}

// statFields are /proc/<pid>/stat's fields from the third (state) on.
func statFields(pid int) ([]string, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return nil, fmt.Errorf("%s: %d fields", path, len(f)+2)
	}
	return f, nil
}

func sumTicks(fields []string) time.Duration {
	var t int64
	for _, v := range fields {
		n, _ := strconv.ParseInt(v, 10, 64)
		t += n
	}
	return ticks(t)
}

// statementCost is one statement's share of a run, from pg_stat_statements.
type statementCost struct {
	name           string
	calls, rows    int64
	execMS, planMS float64
}

// pgStatements starts counting the statements of the database of dbURL: it creates the
// pg_stat_statements extension there if needed and resets its figures. false, after a line
// saying why, when the server has not preloaded it.
func (b *bench) pgStatements(ctx context.Context, dbURL string) bool {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.say("pg-statements: %v", err)
		return false
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		b.say("pg-statements: %v", err)
		return false
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)"); err != nil {
		b.say("pg-statements: the server has not preloaded pg_stat_statements (shared_preload_libraries): %v", err)
		return false
	}
	return true
}

// readPGStatements reads the statements of the database of dbURL since pgStatements, the
// costliest first: each named by its sqlc name ("-- name: X") or its first words.
func (b *bench) readPGStatements(ctx context.Context, dbURL string) ([]statementCost, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	rows, err := conn.Query(ctx, `SELECT query, calls, rows, total_exec_time, total_plan_time FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time + total_plan_time DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statementCost
	for rows.Next() {
		var q string
		var c statementCost
		if err := rows.Scan(&q, &c.calls, &c.rows, &c.execMS, &c.planMS); err != nil {
			return nil, err
		}
		c.name = statementName(q)
		out = append(out, c)
	}
	return out, rows.Err()
}

// statementName names a statement by its sqlc name, else by its first 60 characters.
func statementName(q string) string {
	if _, rest, ok := strings.Cut(q, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		return name
	}
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 60 {
		q = q[:60] + "…"
	}
	return q
}

// sayStatements writes the statements' cost per job, the costliest first, and their total.
func (b *bench) sayStatements(stmts []statementCost, jobs float64) {
	var calls int64
	var exec, plan float64
	for _, s := range stmts {
		calls += s.calls
		exec += s.execMS
		plan += s.planMS
	}
	b.say("P5b statements: %d calls; a job: %.3f ms of execution, %.3f ms of planning; the costliest:", calls, exec/jobs, plan/jobs)
	for _, s := range stmts[:min(len(stmts), 25)] {
		b.say("  exec %7.3f ms  plan %7.3f ms  %6.2f calls  %8.1f rows a job  %s", s.execMS/jobs, s.planMS/jobs, float64(s.calls)/jobs, float64(s.rows)/jobs, s.name)
	}
}
