package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/balance/internal/store/internal/dbsqlc"
)

// TestSumDaysAsPostgres: the day sums computed in Go are, as text, what PostgreSQL's
// sum(numeric) answers for the same terms (the aggregation day_values were built with before):
// exact, with the largest scale of the terms, hour by hour by position, for amounts of every
// scale up to 20 places, negative ones, leading zeros, and registers with fewer hours.
func TestSumDaysAsPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	rng := rand.New(rand.NewPCG(1, 2))
	amount := func() string {
		v := fmt.Sprint(rng.IntN(100000) - 20000)
		if rng.IntN(4) == 0 {
			v = "00" + strings.TrimPrefix(v, "-")
		}
		if places := rng.IntN(21); places > 0 {
			frac := make([]byte, places)
			for i := range frac {
				frac[i] = byte('0' + rng.IntN(10))
			}
			v += "." + string(frac)
		}
		return v
	}
	date := civil.Date{Year: 2026, Month: 3, Day: 29}
	var rows []dbsqlc.RegisterValuesOfDeptDaysRow
	for reg := range 3 {
		for field := range int64(4) {
			r := dbsqlc.RegisterValuesOfDeptDaysRow{DepartmentID: "d1", BusinessDate: pgDate(date), FieldID: field + 1, Total: amount()}
			if field < 3 { // the last field is kept per day
				for range 23 + reg%2 { // a register with an hour fewer
					r.Hours = append(r.Hours, amount())
				}
			}
			rows = append(rows, r)
		}
	}
	got, err := sumDays(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.FieldIds) != 4 {
		t.Fatalf("%d field sums, want 4", len(got.FieldIds))
	}
	pgSum := func(terms []string) string {
		var s string
		if err := conn.QueryRow(ctx, `SELECT sum(v)::text FROM unnest($1::text[]::numeric[]) v`, terms).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, field := range got.FieldIds {
		var totals []string
		var hours [][]string
		for _, r := range rows {
			if r.FieldID != field {
				continue
			}
			totals = append(totals, r.Total)
			for h, v := range r.Hours {
				if h == len(hours) {
					hours = append(hours, nil)
				}
				hours[h] = append(hours[h], v)
			}
		}
		if want := pgSum(totals); got.Totals[i] != want {
			t.Errorf("field %d total %s, PostgreSQL %s", field, got.Totals[i], want)
		}
		var want []string
		for _, terms := range hours {
			want = append(want, pgSum(terms))
		}
		if text := strings.Join(want, ","); got.HoursTexts[i] != text || got.Hours[i] != "{"+text+"}" {
			t.Errorf("field %d hours %s, PostgreSQL %s", field, got.HoursTexts[i], text)
		}
	}
}

// TestExactSumAsPostgres: sums near the int64 fast path's edges (18 digits, a sum past int64,
// scales growing term by term, negatives to zero) read as PostgreSQL's sum(numeric) writes them.
func TestExactSumAsPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	tests := [][]string{
		{"1.50", "2.5"},
		{"-0.50", "0.50"},
		{"-0.00"},
		{"999999999999999999", "1"},
		{"9.99999999999999999", "0.000000000000000001"},
		{"922337203685477580.7", "0.1", "-5"},
		{"1", "0.1", "0.01", "0.001", "-1.111"},
		{"00012.30", "-0000.3"},
		{"123456789012345678901234", "1.5"},
	}
	for _, terms := range tests {
		var s exactSum
		for _, v := range terms {
			if err := s.add(v); err != nil {
				t.Fatal(err)
			}
		}
		var want string
		if err := conn.QueryRow(ctx, `SELECT sum(v)::text FROM unnest($1::text[]::numeric[]) v`, terms).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := s.text(); got != want {
			t.Errorf("sum of %v = %s, PostgreSQL says %s", terms, got, want)
		}
	}
}
