package connection

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/auth/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// authPool returns a pool on a fresh database with the auth schema.
func authPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.MigratedPool(t, pgtest.NewDatabase(t), store.Schema, store.Migrations(), 4)
}

// scrapeConnections scrapes the connections gauge alone and returns its value per status; a
// failed scrape fails the test.
func scrapeConnections(t *testing.T, pool *pgxpool.Pool) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newConnectionsGauge(store.New(pool), logging.Discard()))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				out[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestConnectionsGauge: connections are counted per status from Postgres, every status
// reported (0 included), and not_connected counts the clients with a live consent in progress
// that never connected; no client id appears.
func TestConnectionsGauge(t *testing.T) {
	t.Parallel()
	pool := authPool(t)
	ctx := context.Background()
	const tokens = `, access_token_enc, access_token_kid, refresh_token_enc, refresh_token_kid, access_expire_time)
		VALUES ($1, $2, 1, '100001', $3, 'sup', now(), 1, 'x', 'k1', 'x', 'k1', now() + interval '1 hour')`
	for _, c := range []struct {
		client  string
		status  int
		enabled bool
	}{{"c1", 2, false}, {"c2", 3, true}, {"c3", 3, true}} {
		if _, err := pool.Exec(ctx, `INSERT INTO connections (client_id, status, provider, account_id, enabled, consent_subject,
			consent_time, generation`+tokens, c.client, c.status, c.enabled); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO connections (client_id, status, provider, account_id, enabled, consent_subject, consent_time, generation)
		VALUES ('c4', 4, 1, '100001', true, 'sup', now(), 2)`); err != nil {
		t.Fatal(err)
	}
	for i, s := range []struct {
		client string
		live   bool
	}{{"c5", true}, {"c5", true}, {"c6", false}, {"c1", true}} {
		if _, err := pool.Exec(ctx, `INSERT INTO connect_states (state_id, secret_hash, client_id, provider, subject, verifier_enc,
			verifier_kid, challenge, create_time, expire_time)
			VALUES ($1, decode(repeat('ab', 32), 'hex'), $2, 1, 'sup', 'x', 'k1', 'c', now() - interval '20 minutes',
			CASE WHEN $3 THEN now() + interval '5 minutes' ELSE now() - interval '10 minutes' END)`,
			"s"+string(rune('0'+i)), s.client, s.live); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{"not_connected": 1, "connected": 1, "enabled": 2, "needs_reauth": 1, "disconnected": 0}
	if diff := cmp.Diff(want, scrapeConnections(t, pool)); diff != "" {
		t.Errorf("posimport_auth_connections by status (-want +got):\n%s", diff)
	}
}

// TestConnectionsGaugeWithoutDatabase: when Postgres cannot be read, the gauge is left out and
// the scrape still succeeds.
func TestConnectionsGaugeWithoutDatabase(t *testing.T) {
	t.Parallel()
	pool := authPool(t)
	pool.Close()
	if got := scrapeConnections(t, pool); len(got) != 0 {
		t.Errorf("gauge reported %v without a database", got)
	}
}
