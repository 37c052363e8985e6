// Package jobqueue is the import jobs' JetStream side: the work-queue stream and the durable
// pull consumer (declared here, created idempotently at start), publishing a job id with a
// Nats-Msg-Id for deduplication, and asking which jobs still have a message in the stream.
// A message carries the job id only: never a token or any other secret.
package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the stream and consumer (before the configurable prefix).
const (
	StreamName   = "POSIMPORT_JOBS"
	ConsumerName = "import-workers"
	subjectRoot  = "posimport.jobs"
)

// Defaults of Config, which importservice's configuration names as its own, so each value is
// written once. DefaultAckWait is how long a delivered message may go without an ack or
// InProgress: the worker's lease TTL, so that a dead worker's message is redelivered when its
// lease ends (worker's package doc).
const (
	DefaultAckWait       = 15 * time.Second
	DefaultMaxAckPending = 64
	DefaultReplicas      = 1
)

// Config shapes the stream and the consumer.
type Config struct {
	// Prefix keeps deployments (and tests sharing one NATS server) apart: it is prepended to
	// the stream name and the subjects. Letters, digits and '_' only.
	Prefix string
	// AckWait is how long a delivered message may go without an ack or InProgress before it
	// is redelivered.
	AckWait time.Duration
	// MaxAckPending caps the messages delivered and not yet acked: the global concurrency cap.
	MaxAckPending int
	// Replicas of the stream (1 for a single server).
	Replicas int
}

// Queue is the import jobs' stream and consumer.
type Queue struct {
	js      jetstream.JetStream
	cfg     Config
	stream  string
	subject string
}

// New returns the queue on js; call Setup before use.
func New(js jetstream.JetStream, cfg Config) *Queue {
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = DefaultReplicas
	}
	subject := subjectRoot
	if cfg.Prefix != "" {
		subject = strings.ToLower(cfg.Prefix) + "." + subjectRoot
	}
	return &Queue{js: js, cfg: cfg, stream: cfg.Prefix + StreamName, subject: subject}
}

// Stream is the stream's name.
func (q *Queue) Stream() string { return q.stream }

// AckWait is the consumer's ack wait.
func (q *Queue) AckWait() time.Duration { return q.cfg.AckWait }

// Subject is the subject of a job's messages: one subject per job, so the reconciler can ask
// whether a job's message is still in the stream.
func (q *Queue) Subject(job uuid.UUID) string { return q.subject + "." + job.String() }

// Setup creates or updates the stream and the consumer. Work-queue retention removes a message
// once acked; file storage (with the server's sync always) keeps acknowledged publishes across
// a crash. MaxDeliver is unlimited on purpose: deliveries deferred by the fairness cap or a
// busy lease are not failures, so the worker counts real attempts in Postgres and gives up there.
func (q *Queue) Setup(ctx context.Context) (jetstream.Consumer, error) {
	if _, err := q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        q.stream,
		Description: "posimport import jobs (payload: job id); Postgres is the source of truth",
		Subjects:    []string{q.subject + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		Duplicates:  2 * time.Minute,
		Discard:     jetstream.DiscardOld,
	}); err != nil {
		return nil, fmt.Errorf("create stream %s: %w", q.stream, err)
	}
	c, err := q.js.CreateOrUpdateConsumer(ctx, q.stream, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "import workers: one message per worker slot",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: q.cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: q.subject + ".>",
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", ConsumerName, err)
	}
	return c, nil
}

// Consumer returns the durable consumer (created by Setup).
func (q *Queue) Consumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := q.js.Consumer(ctx, q.stream, ConsumerName)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	return c, nil
}

// Publish sends the job's message with msgID as its Nats-Msg-Id and waits for the PubAck. A
// duplicate within the stream's window is acknowledged without a second message.
func (q *Queue) Publish(ctx context.Context, job uuid.UUID, msgID string) error {
	if _, err := q.js.Publish(ctx, q.Subject(job), []byte(job.String()), jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish job %s: %w", job, err)
	}
	return nil
}

// PublishAll sends the jobs' messages (each with its id as Nats-Msg-Id) one after the other
// without waiting for each PubAck, then waits for them all: an import's jobs cost about one
// round trip instead of one each. It returns the jobs whose PubAck came and the first error.
func (q *Queue) PublishAll(ctx context.Context, jobs []uuid.UUID) ([]uuid.UUID, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(jobs))
	var first error
	for _, job := range jobs {
		f, err := q.js.PublishAsync(q.Subject(job), []byte(job.String()), jetstream.WithMsgID(job.String()))
		if err != nil {
			first = fmt.Errorf("publish job %s: %w", job, err)
			break
		}
		futures = append(futures, f)
	}
	acked := make([]uuid.UUID, 0, len(futures))
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, jobs[i])
		case err := <-f.Err():
			if first == nil {
				first = fmt.Errorf("publish job %s: %w", jobs[i], err)
			}
		case <-ctx.Done():
			return acked, errors.Join(first, ctx.Err())
		}
	}
	return acked, first
}

// Present returns the jobs that have at least one message in the stream, in one request.
func (q *Queue) Present(ctx context.Context) (map[uuid.UUID]bool, error) {
	s, err := q.js.Stream(ctx, q.stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", q.stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(q.subject+".>"))
	if err != nil {
		return nil, fmt.Errorf("stream info %s: %w", q.stream, err)
	}
	out := make(map[uuid.UUID]bool, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		if n == 0 {
			continue
		}
		if id, err := uuid.Parse(subj[strings.LastIndexByte(subj, '.')+1:]); err == nil {
			out[id] = true
		}
	}
	return out, nil
}

// ErrBadPayload is a message whose body is not a job id.
var ErrBadPayload = errors.New("message is not a job id")

// JobID reads a message's job id.
func JobID(data []byte) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(string(data)))
	if err != nil {
		return uuid.Nil, ErrBadPayload
	}
	return id, nil
}

// Messages counts the messages in the stream: jobs queued and not yet acked or terminated.
func (q *Queue) Messages(ctx context.Context) (uint64, error) {
	s, err := q.js.Stream(ctx, q.stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", q.stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info %s: %w", q.stream, err)
	}
	return info.State.Msgs, nil
}

// TermReasons reports whether the connected server keeps a termination's reason. A server
// before 2.10.4 ignores a +TERM that carries one, so the message would be redelivered: to such
// a server (Debian's nats-server, for one) a message is terminated without a reason.
func (q *Queue) TermReasons() bool {
	nc := q.js.Conn()
	if nc == nil {
		return true
	}
	return versionAtLeast(nc.ConnectedServerVersion(), 2, 10, 4)
}

// versionAtLeast reports whether the server version v ("2.9.10", "2.11.0-RC.1") is at least
// major.minor.patch; an unknown version counts as recent.
func versionAtLeast(v string, want ...int) bool {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) != 3 {
		return true
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return true
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}
