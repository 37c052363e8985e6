package intraday_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/intraday"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type clients []intraday.Client

func (c clients) Clients(context.Context) ([]intraday.Client, error) { return c, nil }

// launches records the refreshes started; a client in fail is refused.
type launches struct {
	started []string
	fail    string
}

func (l *launches) Launch(_ context.Context, client string, _ time.Time) (uuid.UUID, error) {
	if client == l.fail {
		return uuid.Nil, errors.New("refused")
	}
	l.started = append(l.started, client)
	return uuid.New(), nil
}

func TestSlot(t *testing.T) {
	at := time.Date(2026, 3, 29, 1, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		minutes int
		want    time.Time
	}{
		{15, time.Date(2026, 3, 29, 1, 45, 0, 0, time.UTC)},
		{60, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{240, time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)},
	} {
		if got := intraday.Slot(at, tc.minutes); !got.Equal(tc.want) {
			t.Errorf("Slot(%v, %d) = %v, want %v", at, tc.minutes, got, tc.want)
		}
	}
}

// TestTick: only clients with an interval and an enabled connection are refreshed, each once
// per slot across replicas, again in the next slot; a refused start is not retried in the slot.
func TestTick(t *testing.T) {
	pool := storetest.Pool(t)
	st := store.New(pool)
	dir := clients{
		{ClientID: "every15", Minutes: 15, Enabled: true},
		{ClientID: "hourly", Minutes: 60, Enabled: true},
		{ClientID: "off", Minutes: 0, Enabled: true},
		{ClientID: "disabled", Minutes: 15, Enabled: false},
		{ClientID: "refused", Minutes: 15, Enabled: true},
	}
	l := &launches{fail: "refused"}
	replica := func(owner string) *intraday.Refresher {
		return &intraday.Refresher{Claims: st, Directory: dir, Launcher: l, Logger: slog.New(slog.DiscardHandler), Owner: owner}
	}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 9, 0, 30, 0, time.UTC)
	for _, step := range []struct {
		owner string
		at    time.Time
		want  []string
	}{
		{"a", t0, []string{"every15", "hourly"}},
		{"b", t0.Add(time.Minute), nil},                      // the same slots, another replica
		{"a", t0.Add(14 * time.Minute), nil},                 // still the same slots
		{"b", t0.Add(15 * time.Minute), []string{"every15"}}, // the next 15-minute slot
		{"a", t0.Add(60 * time.Minute), []string{"every15", "hourly"}},
	} {
		l.started = nil
		ids, err := replica(step.owner).Tick(ctx, step.at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.started, step.want) || len(ids) != len(step.want) {
			t.Errorf("%s at %v started %v (%d ids), want %v", step.owner, step.at.Format(time.TimeOnly), l.started, len(ids), step.want)
		}
	}
	// Every slot claimed is recorded with the import it started, a refused start without one.
	var refused, every15 int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE client_id = 'refused' AND import_id IS NULL),
		count(*) FILTER (WHERE client_id = 'every15' AND import_id IS NOT NULL) FROM intraday_slots`).Scan(&refused, &every15); err != nil {
		t.Fatal(err)
	}
	if refused != 3 || every15 != 3 {
		t.Errorf("slots: refused %d without an import, every15 %d with one; want 3 and 3", refused, every15)
	}
}

// countingDir is a directory that counts its lists.
type countingDir struct {
	clients clients
	lists   int
}

func (d *countingDir) Clients(ctx context.Context) ([]intraday.Client, error) {
	d.lists++
	return d.clients.Clients(ctx)
}

// TestTickListsOncePerMinute: checks within the minute of a tick that went through every
// client list nothing (slots begin on whole minutes); a client configured meanwhile starts at
// the next minute's check, in the slot it would have had.
func TestTickListsOncePerMinute(t *testing.T) {
	st := store.New(storetest.Pool(t))
	dir := &countingDir{clients: clients{{ClientID: "first", Minutes: 15, Enabled: true}}}
	l := &launches{}
	r := &intraday.Refresher{Claims: st, Directory: dir, Launcher: l, Logger: slog.New(slog.DiscardHandler), Owner: "a"}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 9, 0, 5, 0, time.UTC)
	for _, step := range []struct {
		at    time.Time
		add   string
		want  []string
		lists int
	}{
		{at: t0, want: []string{"first"}, lists: 1},
		{at: t0.Add(30 * time.Second), add: "second", lists: 1}, // the same minute: not listed
		{at: t0.Add(55 * time.Second), want: []string{"second"}, lists: 2},
		{at: t0.Add(80 * time.Second), lists: 2},
	} {
		if step.add != "" {
			dir.clients = append(dir.clients, intraday.Client{ClientID: step.add, Minutes: 15, Enabled: true})
		}
		l.started = nil
		if _, err := r.Tick(ctx, step.at); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.started, step.want) || dir.lists != step.lists {
			t.Errorf("at %v started %v after %d lists, want %v after %d", step.at.Format(time.TimeOnly), l.started, dir.lists, step.want, step.lists)
		}
	}
}
