// Package outbox publishes jobs written to Postgres: each unpublished job is sent with its id
// as Nats-Msg-Id and marked published after the PubAck. A crash in between only causes a
// re-publish, which JetStream's duplicate window (or, later, the job's lease) absorbs.
package outbox

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Publish sends the jobs' messages and marks them published, stopping at the first failure
// (the reconciler publishes the rest).
func Publish(ctx context.Context, st *store.Store, q *jobqueue.Queue, jobs []uuid.UUID) error {
	qs, pool := st.Queries()
	for _, id := range jobs {
		if err := q.Publish(ctx, id, id.String()); err != nil {
			return err
		}
		if err := qs.JobMarkPublished(ctx, pool, id); err != nil {
			return fmt.Errorf("mark job %s published: %w", id, err)
		}
	}
	return nil
}
