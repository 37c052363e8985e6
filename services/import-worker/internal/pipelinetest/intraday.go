package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/intraday"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// RunIntraday runs the intraday refresher once with its clock at now, as an import-worker's
// refresher does, as replica owner, and returns the imports it started.
func (e *Env) RunIntraday(t testing.TB, owner string, now time.Time) []string {
	t.Helper()
	st := store.New(e.Pool).WithWindow(e.WorkerConfig().MaxRunningPerClient)
	s := &starter.Starter{Store: st, Queue: jobqueue.New(e.NATS.JS, jobqueue.Config{Prefix: e.Prefix}),
		Config: e.ConfigClient(t), Auth: e.AuthClient(t), Logger: logging.Discard(), MaxDays: e.WorkerConfig().JobMaxDays}
	r := &intraday.Refresher{Claims: st, Directory: intraday.ServiceDirectory{ServiceDirectory: schedule.ServiceDirectory{Config: e.ConfigClient(t), Auth: e.AuthClient(t)}},
		Launcher: intraday.StarterLauncher{Starter: s}, Logger: logging.Discard(), Owner: owner}
	ids, err := r.Tick(context.Background(), now)
	if err != nil {
		t.Fatalf("intraday refresh at %v: %v", now, err)
	}
	return strs(ids)
}

func strs(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
