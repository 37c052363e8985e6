package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/posimport/posimport/pkg/retry"
)

// consume runs the slots from one continuous pull of the consumer (jetstream's Messages
// iterator) until ctx ends, then waits for the jobs in flight. A message is taken from the
// iterator only when a slot is free, and each runs in its own goroutine through Handle, which
// ends it with one explicit ack outcome: the acks stay one message at a time. The iterator
// keeps a pull of up to Slots messages open, so the next job is already here when a slot
// frees (no slot waits a pull's round trip while jobs are queued). A message the pull had
// buffered when the worker stops is NAKed at once, for another worker.
func (w *Worker) consume(ctx, hard context.Context) {
	slots := make(chan struct{}, w.cfg.Slots)
	var jobs sync.WaitGroup
	defer jobs.Wait()
	failures := 0
	for ctx.Err() == nil {
		cons, err := w.d.Queue.Consumer(ctx)
		if err != nil {
			failures++
			w.log.WarnContext(ctx, "consumer unavailable", "error", err)
			_ = retry.Sleep(ctx, slotBackoff.Delay(failures))
			continue
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(w.cfg.Slots), jetstream.PullExpiry(max(w.cfg.FetchWait, time.Second)))
		if err != nil {
			failures++
			w.log.WarnContext(ctx, "pull messages", "error", err)
			_ = retry.Sleep(ctx, slotBackoff.Delay(failures))
			continue
		}
		if w.deliver(ctx, hard, it, slots, &jobs) {
			failures = 0
			continue
		}
		failures++
		_ = retry.Sleep(ctx, slotBackoff.Delay(failures))
	}
}

// deliver hands the iterator's messages to free slots until ctx ends or the iterator fails,
// and reports whether it delivered any.
func (w *Worker) deliver(ctx, hard context.Context, it jetstream.MessagesContext, slots chan struct{}, jobs *sync.WaitGroup) bool {
	delivered := false
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			w.drain(it)
			return delivered
		}
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				w.drain(it)
				return delivered
			}
			// Closed (the consumer or stream deleted, the connection lost): pull again.
			w.log.DebugContext(ctx, "next message", "error", err)
			it.Stop()
			return delivered
		}
		delivered = true
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			defer func() { <-slots }()
			w.Handle(hard, msg)
		}()
	}
}

// drain stops the pull and NAKs what it had buffered, so that another worker takes it now
// rather than after the ack wait.
func (w *Worker) drain(it jetstream.MessagesContext) {
	it.Drain()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				it.Stop()
			}
			return
		}
		if err := msg.Nak(); err != nil {
			w.log.Debug("nak a buffered message", "error", err)
		}
	}
}
