package pipelinetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/pkg/platform/pgcluster"
)

// ownServers are the NATS server and PostgreSQL cluster a test runs itself, to restart them.
type ownServers struct {
	natsDir  string
	natsAddr string
	nats     *server.Server
	pg       *pgcluster.Cluster
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// startNATS starts a JetStream server on loopback with file storage and sync always, and
// connects to it.
func (e *Env) startNATS(t testing.TB) *natsjs.Conn {
	t.Helper()
	e.own.natsDir = t.TempDir()
	e.own.natsAddr = freeAddr(t)
	ns, err := natsjs.StartEmbedded(e.own.natsDir, e.own.natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	e.own.nats = ns
	e.NATSURL = "nats://" + e.own.natsAddr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := natsjs.Connect(ctx, natsjs.Options{URL: e.NATSURL, Name: "pipelinetest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if e.own.nats != nil {
			e.own.nats.Shutdown()
			e.own.nats.WaitForShutdown()
		}
	})
	return c
}

// RestartNATS stops the test's NATS server, waits outage, and starts it again on the same port
// and store directory, as a broker restart does.
func (e *Env) RestartNATS(t testing.TB, outage time.Duration) {
	t.Helper()
	e.StopNATS(t)
	time.Sleep(outage) // the outage itself, not a synchronisation
	e.StartNATSAgain(t)
}

// StopNATS shuts the test's NATS server down (StartNATSAgain brings it back).
func (e *Env) StopNATS(t testing.TB) {
	t.Helper()
	e.own.nats.Shutdown()
	e.own.nats.WaitForShutdown()
	e.own.nats = nil
}

// NATSStoreDir is the test's NATS server's store directory.
func (e *Env) NATSStoreDir() string { return e.own.natsDir }

// StartNATSAgain starts the test's NATS server again on the same port and store directory.
func (e *Env) StartNATSAgain(t testing.TB) {
	t.Helper()
	ns, err := natsjs.StartEmbedded(e.own.natsDir, e.own.natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	e.own.nats = ns
}

// startPostgres starts a throwaway cluster of the test's own and returns a database URL on it.
func (e *Env) startPostgres(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pipelinetest-pg-*")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("start own PostgreSQL: %v", err)
	}
	e.own.pg = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Stop(ctx, "immediate")
		_ = os.RemoveAll(dir)
	})
	return c.URL()
}

// RestartPostgres crashes the test's cluster (immediate stop), waits outage, and starts it
// again on the same port.
func (e *Env) RestartPostgres(t testing.TB, outage time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.own.pg.Stop(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage) // the outage itself, not a synchronisation
	if err := e.own.pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
}

// WorkerEnv is the environment of an import-worker process joining this pipeline.
func (e *Env) WorkerEnv() []string {
	c := e.WorkerConfig()
	d := func(v time.Duration) string { return v.String() }
	return append([]string{
		"LOG_LEVEL=warn", "DATABASE_URL=" + e.DBURL, "DB_MAX_CONNS=8",
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0", "SHUTDOWN_TIMEOUT=5s",
		"CONFIG_ADDR=" + e.Config.GRPCAddr, "AUTH_ADDR=" + e.Auth.GRPCAddr, "BALANCE_ADDR=" + e.Balance.GRPCAddr,
		"NATS_URL=" + e.NATSURL, "JOBS_STREAM_PREFIX=" + e.Prefix,
		"IMPORT_API=false", "IMPORT_WORKER=true", "IMPORT_SCHEDULER=false",
		"WORKER_SLOTS=" + strconv.Itoa(c.WorkerSlots), "LIGHTSPEED_API_URL=" + c.LightspeedAPIURL,
		"LIGHTSPEED_BURST_WINDOW=" + d(c.LightspeedBurstWindow),
		"JOB_LEASE_TTL=" + d(c.LeaseTTL), "JOB_ACK_WAIT=" + d(c.AckWait), "JOB_MAX_ATTEMPTS=" + strconv.Itoa(c.MaxAttempts),
		"JOB_MAX_RUNNING_PER_CLIENT=" + strconv.Itoa(c.MaxRunningPerClient), "JOB_RETRY_BASE=" + d(c.RetryBase),
		"RECONCILE_INTERVAL=" + d(c.ReconcileInterval), "RECONCILE_GRACE=" + d(c.ReconcileGrace),
		fmt.Sprintf("PATH=%s", os.Getenv("PATH")),
	}, append(replicas(c.JobsReplicas), e.Keys.Env(authn.ServiceImportWorker)...)...)
}

// replicas is JOBS_REPLICAS when the pipeline sets it (a NATS cluster), else nothing: a worker
// process must not create or update the jobs stream with other replicas than the rest.
func replicas(n int) []string {
	if n == 0 {
		return nil
	}
	return []string{"JOBS_REPLICAS=" + strconv.Itoa(n)}
}
