package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

const (
	acctA = "lightspeed_retail:1"
	acctB = "lightspeed_retail:2"
)

var (
	seenD1 = civil.Date{Year: 2026, Month: 4, Day: 1}
	seenD2 = civil.Date{Year: 2026, Month: 4, Day: 2}
)

// sale is a sale of shop 1 on register at hour h of d (UTC).
func sale(id, register string, d civil.Date, h int) store.SaleSeen {
	return store.SaleSeen{SaleID: id, LocationID: "1", RegisterID: register, CompletedAt: d.Start(time.UTC).Add(time.Duration(h) * time.Hour)}
}

// day is register's day d of shop 1, read with sales.
func day(register string, d civil.Date, sales ...store.SaleSeen) store.SeenDay {
	return store.SeenDay{LocationID: "1", RegisterID: register, Date: d, Sales: sales}
}

func record(t *testing.T, st *store.Store, account string, days ...store.SeenDay) {
	t.Helper()
	if err := st.RecordSalesSeen(context.Background(), account, days); err != nil {
		t.Fatal(err)
	}
}

// lookup returns SalesSeen's answer as "register date-hour" by sale id.
func lookup(t *testing.T, st *store.Store, account string, ids ...string) map[string]string {
	t.Helper()
	got, err := st.SalesSeen(context.Background(), account, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for id, s := range got {
		if s.SaleID != id || s.LocationID != "1" {
			t.Errorf("sale %s answered as %+v", id, s)
		}
		out[id] = s.RegisterID + " " + s.CompletedAt.UTC().Format("2006-01-02T15")
	}
	return out
}

// rows returns the account's register-days and their sale ids, sorted.
func rows(t *testing.T, pool *pgxpool.Pool, account string) map[string][]string {
	t.Helper()
	r, err := pool.Query(context.Background(), `SELECT register_id, business_date::text, sale_ids FROM sales_seen_days
		WHERE account_key = $1`, account)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for r.Next() {
		var reg, date string
		var ids []string
		if err := r.Scan(&reg, &date, &ids); err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids) // the order of a row's sales means nothing
		out[reg+" "+date] = ids
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantEqual[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// TestSalesSeenLatestWins: a sale moved from register-day X to Y answers Y once Y is
// recorded, though X's row, not read again, still holds it; moved back and X read again
// (its set unchanged), it answers X. The same sale id of another account is never returned.
func TestSalesSeenLatestWins(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	record(t, st, acctA, day("11", seenD1, sale("s", "11", seenD1, 10), sale("t", "11", seenD1, 11)))
	record(t, st, acctB, day("99", seenD2, sale("s", "99", seenD2, 9), sale("b", "99", seenD2, 8)))
	wantEqual(t, "first import", map[string]string{"s": "11 2026-04-01T10", "t": "11 2026-04-01T11"}, lookup(t, st, acctA, "s", "t", "b"))

	// s moved to register 12 on the next day; only that day is read again.
	record(t, st, acctA, day("12", seenD2, sale("s", "12", seenD2, 15)))
	wantEqual(t, "after the move", map[string]string{"s": "12 2026-04-02T15", "t": "11 2026-04-01T11"}, lookup(t, st, acctA, "s", "t"))
	wantEqual(t, "rows after the move", map[string][]string{"11 2026-04-01": {"s", "t"}, "12 2026-04-02": {"s"}}, rows(t, pool, acctA))

	// s moved back; day X is read again (the same set as before) and answers, though Y was
	// not read again yet.
	record(t, st, acctA, day("11", seenD1, sale("s", "11", seenD1, 10), sale("t", "11", seenD1, 11)))
	wantEqual(t, "moved back", map[string]string{"s": "11 2026-04-01T10"}, lookup(t, st, acctA, "s"))

	// The other account's s and b are its own.
	wantEqual(t, "account B", map[string]string{"s": "99 2026-04-02T09", "b": "99 2026-04-02T08"}, lookup(t, st, acctB, "s", "b", "t"))
	wantEqual(t, "unknown account", map[string]string{}, lookup(t, st, "lightspeed_retail:3", "s", "t", "b"))
}

// TestSalesSeenReread: a register-day read again replaces its set; read without sales it
// loses its row; a whole location's day (register "") replaces every register's row of it.
// Other days, registers and accounts keep theirs.
func TestSalesSeenReread(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	record(t, st, acctA,
		day("11", seenD1, sale("a", "11", seenD1, 10), sale("b", "11", seenD1, 11)),
		day("11", seenD2, sale("c", "11", seenD2, 10)),
		day("12", seenD1, sale("d", "12", seenD1, 10)))
	record(t, st, acctB, day("11", seenD1, sale("a", "11", seenD1, 7)))

	// Register 11's first day now has other sales; its second day none (a void); register 12
	// was not read.
	record(t, st, acctA, day("11", seenD1, sale("b", "11", seenD1, 12), sale("e", "11", seenD1, 13)), day("11", seenD2))
	wantEqual(t, "rows", map[string][]string{"11 2026-04-01": {"b", "e"}, "12 2026-04-01": {"d"}}, rows(t, pool, acctA))
	wantEqual(t, "lookup", map[string]string{"b": "11 2026-04-01T12", "e": "11 2026-04-01T13", "d": "12 2026-04-01T10"},
		lookup(t, st, acctA, "a", "b", "c", "d", "e"))
	wantEqual(t, "account B", map[string][]string{"11 2026-04-01": {"a"}}, rows(t, pool, acctB))

	// A department without registers read the shop's first day: register 12's sale is gone,
	// register 13 has one; the second day was read by nobody.
	record(t, st, acctA, day("12", seenD2, sale("f", "12", seenD2, 9)))
	record(t, st, acctA, store.SeenDay{LocationID: "1", Date: seenD1, Sales: []store.SaleSeen{sale("g", "13", seenD1, 9)}})
	wantEqual(t, "rows after the whole shop's day", map[string][]string{"13 2026-04-01": {"g"}, "12 2026-04-02": {"f"}}, rows(t, pool, acctA))

	// A day read twice in one call (two departments share its register) is one row, each sale
	// once.
	record(t, st, acctA, day("12", seenD2, sale("f", "12", seenD2, 9)), day("12", seenD2, sale("f", "12", seenD2, 9), sale("h", "12", seenD2, 10)))
	wantEqual(t, "day read twice", []string{"f", "h"}, rows(t, pool, acctA)["12 2026-04-02"])

	// Nothing to record: no statement, nothing changes.
	record(t, st, acctA)
	wantEqual(t, "nothing recorded", 2, len(rows(t, pool, acctA)))
}

// salesSeenGetSQL is the lookup statement of queries/changes.sql with sqlc's numbered
// parameters.
func salesSeenGetSQL(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("queries/changes.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, q, ok := strings.Cut(string(b), "-- name: SalesSeenGet ")
	if !ok {
		t.Fatal("queries/changes.sql has no SalesSeenGet")
	}
	_, q, _ = strings.Cut(q, "\n")
	q = regexp.MustCompile(`(?m)^--.*$`).ReplaceAllString(q, "")
	q, _, _ = strings.Cut(q, ";")
	return strings.NewReplacer("@account_key", "$1", "@sale_ids", "$2").Replace(q)
}

// TestSalesSeenLookupUsesIndex: with an account's year of register-days (and other
// accounts'), the lookup of a night's sales finds them through the GIN index on the
// account-prefixed sale ids.
func TestSalesSeenLookupUsesIndex(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	ctx := context.Background()
	// 3 accounts × 10 registers × 365 days × 36 sales.
	if _, err := pool.Exec(ctx, `INSERT INTO sales_seen_days (account_key, location_id, register_id, business_date, sale_ids, completed_ats)
		SELECT 'lightspeed_retail:' || a, '1', r::text, date '2025-01-01' + d,
		       ARRAY(SELECT (d * 1000 + r * 36 + s)::text FROM generate_series(1, 36) s),
		       ARRAY(SELECT timestamptz '2025-01-01' + d * interval '1 day' + s * interval '10 minutes' FROM generate_series(1, 36) s)
		FROM generate_series(1, 3) a, generate_series(1, 10) r, generate_series(0, 364) d`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE sales_seen_days"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for r := 1; r <= 10; r++ {
		for s := 1; s <= 36; s++ {
			ids = append(ids, fmt.Sprint(200*1000+r*36+s), fmt.Sprint(201*1000+r*36+s))
		}
	}
	q := salesSeenGetSQL(t)
	rs, err := pool.Query(ctx, "EXPLAIN "+q, acctB, ids)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rs.Next() {
		var line string
		if err := rs.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "sales_seen_days_keys") {
		t.Errorf("the lookup does not use the index:\n%s", p)
	}
	got, err := store.New(pool).SalesSeen(ctx, acctB, ids)
	if err != nil || len(got) != len(ids) {
		t.Fatalf("lookup: %d of %d sales, %v", len(got), len(ids), err)
	}
}

// TestSalesSeenMigration: with rows present, the migration down gives each sale the position
// of its latest row, and up again converts the per-sale rows into register-days keyed by the
// UTC date, answering as before.
func TestSalesSeenMigration(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	record(t, st, acctA, day("11", seenD1, sale("s", "11", seenD1, 10), sale("t", "11", seenD1, 23)))
	record(t, st, acctA, day("12", seenD2, sale("s", "12", seenD2, 15)))
	record(t, st, acctB, day("11", seenD1, sale("s", "11", seenD1, 7)))
	before := map[string]map[string]string{acctA: lookup(t, st, acctA, "s", "t"), acctB: lookup(t, st, acctB, "s")}

	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, store.Migrations(), goose.WithTableName(store.Schema+".goose_db_version"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	r, err := pool.Query(ctx, "SELECT account_key, sale_id, register_id, completed_at FROM sales_seen")
	if err != nil {
		t.Fatal(err)
	}
	perSale := map[string]string{}
	for r.Next() {
		var acct, id, reg string
		var at time.Time
		if err := r.Scan(&acct, &id, &reg, &at); err != nil {
			t.Fatal(err)
		}
		perSale[acct+" "+id] = reg + " " + at.UTC().Format("2006-01-02T15")
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "per-sale rows", map[string]string{
		acctA + " s": "12 2026-04-02T15", acctA + " t": "11 2026-04-01T23", acctB + " s": "11 2026-04-01T07",
	}, perSale)

	// A sale recorded at 23:30 UTC, the next local day in Copenhagen: its row is keyed by its
	// UTC date.
	if _, err := pool.Exec(ctx, `INSERT INTO sales_seen (account_key, sale_id, location_id, register_id, completed_at)
		VALUES ($1, 'late', '1', '11', '2026-04-01T23:30:00Z')`, acctA); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "lookup after the round trip", before[acctA], lookup(t, st, acctA, "s", "t"))
	wantEqual(t, "account B after the round trip", before[acctB], lookup(t, st, acctB, "s"))
	wantEqual(t, "rows after the round trip", map[string][]string{"11 2026-04-01": {"late", "t"}, "12 2026-04-02": {"s"}}, rows(t, pool, acctA))
}
