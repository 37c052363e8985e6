package faulttest_test

import (
	"flag"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/services/import-worker/internal/faultproxy"
	"github.com/posimport/posimport/services/import-worker/internal/faulttest"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

var soak = flag.Duration("soak", 0, "run TestSoak for this long (e.g. 2h); 0 leaves it out")

// TestSoak interleaves every fault of the suite for as long as -soak says (it is not part of
// `make test`): round after round, a late correction upstream and a re-import of the whole
// range, during which a random fault strikes every one to three seconds (kill -9 of a worker,
// at a random moment or during a balance COMMIT; SIGSTOP past the lease and SIGCONT; NATS
// restart; PostgreSQL immediate stop; a connection cut through a proxy; a 429 storm), and
// after which the verdict must hold.
//
//	cd services/import-worker
//	go test ./internal/faulttest -run TestSoak -soak=2h -timeout=3h -v
func TestSoak(t *testing.T) {
	if *soak == 0 {
		t.Skip("soak mode only: -soak=2h")
	}
	t.Parallel()
	bin := pipelinetest.BuildWorker(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var db *faultproxy.Proxy
	b := faulttest.Setup(t, bin, faulttest.Options{
		Shops: 5, Registers: 3, Days: 120, Seed: seed, OwnPostgres: true,
		BalanceDBURL: func(u string) string {
			db = faultproxy.Start(t, "balance-db", faultproxy.HostPort(t, u))
			return db.Via(t, u)
		},
	})
	proxies := []*faultproxy.Proxy{faultproxy.Start(t, "balance", b.Balance.GRPCAddr), faultproxy.Start(t, "nats", faultproxy.HostPort(t, b.NATSURL)),
		faultproxy.Start(t, "postgres", faultproxy.HostPort(t, b.DBURL)), faultproxy.Start(t, "pos", faultproxy.HostPort(t, b.SimURL))}
	for _, p := range proxies {
		p.Toxic(t, "latency", "latency", faultproxy.Downstream, 1, map[string]int{"latency": 10, "jitter": 8})
	}
	env := []string{"BALANCE_ADDR=" + proxies[0].Addr(), "NATS_URL=" + proxies[1].Via(t, b.NATSURL),
		"DATABASE_URL=" + proxies[2].Via(t, b.DBURL), "LIGHTSPEED_API_URL=" + proxies[3].Via(t, b.SimURL)}
	workers := []*pipelinetest.Process{b.StartWorker(t, env...), b.StartWorker(t, env...)}
	faults := []struct {
		name string
		do   func(w int)
	}{
		{"kill", func(w int) { workers[w].Kill(); workers[w] = b.StartWorker(t, env...) }},
		{"kill during commit", func(w int) {
			gate := db.Hold(t, "commit", faultproxy.Upstream, faultproxy.PGCommit)
			waitUntil(10*time.Second, func() bool { return gate.Caught() > 0 })
			workers[w].Kill()
			gate.Release()
			workers[w] = b.StartWorker(t, env...)
		}},
		{"pause past the lease", func(w int) {
			_ = workers[w].Signal(syscall.SIGSTOP)
			time.Sleep(4 * time.Second) // longer than the 3 s lease
			_ = workers[w].Signal(syscall.SIGCONT)
		}},
		{"NATS restart", func(int) { b.RestartNATS(t, time.Duration(500+rng.IntN(3000))*time.Millisecond) }},
		{"PostgreSQL immediate stop", func(int) { b.RestartPostgres(t, time.Duration(500+rng.IntN(3000))*time.Millisecond) }},
		{"connection cut", func(int) { proxies[rng.IntN(len(proxies))].Cut(t) }},
		{"429 storm", func(int) {
			if err := b.Sim.InjectFault(sim.Fault{Kind: sim.FaultRateLimit, Endpoint: "Sale.json", Count: 1 + rng.IntN(5),
				RetryAfter: 1 + rng.IntN(3), RetryAfterDate: rng.IntN(2) == 0}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	deadline := time.Now().Add(*soak)
	for round := 1; time.Now().Before(deadline); round++ {
		// A late correction on an open day, which this round must import.
		d := b.Deps[rng.IntN(len(b.Deps))]
		open := b.ApprovedUntil.AddDays(1 + rng.IntN(b.Until.DaysSince(b.ApprovedUntil)))
		b.AddSale(t, d.Shop, rng.IntN(len(d.Shop.Registers)), open, mustZone(t, d.Shop.TimeZone), "13.37")
		id := b.StartImport(t)
		struck := map[string]int{}
		for {
			if _, ended, total := b.Progress(t, id); ended == total {
				break
			}
			time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond) // the chaos schedule
			f := faults[rng.IntN(len(faults))]
			f.do(rng.IntN(len(workers)))
			struck[f.name]++
		}
		b.Sim.ClearFaults()
		// The proxies' latency delays the refused worker's pause by a few round trips.
		b.Verdict(t, 10*time.Minute, faulttest.Expect{InFlight: 500 * time.Millisecond}, id)
		if t.Failed() {
			t.Fatalf("round %d failed after %v", round, struck)
		}
		t.Logf("round %d passed after %v", round, struck)
	}
}
