// Package outbox publishes jobs written to Postgres: each unpublished job is sent with its id
// as Nats-Msg-Id and marked published after the PubAck. A crash in between only causes a
// re-publish, which JetStream's duplicate window (or, later, the job's lease) absorbs.
package outbox

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Publish sends the jobs' messages, waiting for their PubAcks together, and marks the
// acknowledged ones published in one statement (the reconciler publishes the rest).
func Publish(ctx context.Context, st *store.Store, q *jobqueue.Queue, jobs []uuid.UUID) error {
	acked, err := q.PublishAll(ctx, jobs)
	if len(acked) == 0 {
		return err
	}
	return errors.Join(err, st.MarkPublished(ctx, acked))
}
