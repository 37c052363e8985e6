package server_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestStreamsLeftOutOfLatency: a unary RPC is counted and timed; a stream (here health Watch,
// as WatchImport, which lasts as long as an import) is counted but kept out of the latency
// histogram, whose quantiles it would skew.
func TestStreamsLeftOutOfLatency(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done }) //nolint:errcheck // Run's result at shutdown is not what this test checks
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	health := healthpb.NewHealthClient(conn)
	waitFor(t, func() bool {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	watchCtx, stopWatch := context.WithCancel(ctx)
	w, err := health.Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	stopWatch()
	waitFor(t, func() bool { return requestsCounted(t, s.Registry(), "Watch", "Canceled") == 1 })

	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	timed := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "posimport_grpc_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && m.GetHistogram().GetSampleCount() > 0 {
					timed[l.GetValue()] = true
				}
			}
		}
	}
	if diff := cmp.Diff(map[string]bool{"Check": true}, timed); diff != "" {
		t.Errorf("methods in the latency histogram (-want +got):\n%s", diff)
	}
}
