// Package outbox publishes jobs claimed for publication in Postgres (store: a client's window):
// each job's message carries its id, with the id as Nats-Msg-Id, and the PubAcks are awaited
// together. The claim was committed first, so a crash or a NATS outage before the PubAck only
// leaves a claimed job without a message, which the reconciler re-publishes once stale;
// a duplicate publication is absorbed by JetStream's duplicate window or, later, by the job's
// lease.
package outbox

import (
	"context"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
)

// Publish sends the claimed jobs' messages and waits for their PubAcks; it returns the first
// error (the reconciler publishes what was not acknowledged).
func Publish(ctx context.Context, q *jobqueue.Queue, jobs []uuid.UUID) error {
	if len(jobs) == 0 {
		return nil
	}
	_, err := q.PublishAll(ctx, jobs)
	return err
}
