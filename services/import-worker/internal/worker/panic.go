package worker

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// PanicError is a panic of a job's attempt, recovered: the attempt fails with it as its error
// (retried, and the job FAILED once its attempts are used up), and the process and its other
// slots go on.
type PanicError struct {
	// Value is the panic's value, as text cut to maxPanicValue bytes.
	Value string
	// Stack is where it happened: one "function (file:line)" per frame, innermost first, at
	// most maxPanicFrames. Frames carry no argument values, so no data of the job (a token, a
	// sale) reaches the job's error.
	Stack []string
}

const (
	maxPanicValue  = 300
	maxPanicFrames = 16
)

// Error renders the panic and its stack for the job's error, within about 2 KB.
func (e *PanicError) Error() string {
	return "panic: " + e.Value + "\n" + strings.Join(e.Stack, "\n")
}

// recovered builds the PanicError of p; call it in the deferred function that recovered p.
func recovered(p any) *PanicError {
	v := fmt.Sprint(p)
	if len(v) > maxPanicValue {
		v = v[:maxPanicValue] + "…"
	}
	pcs := make([]uintptr, 64)
	// Skip runtime.Callers, recovered and the deferred function: the stack starts in
	// runtime.gopanic, whose frames are dropped below.
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var stack []string
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") || strings.HasPrefix(f.Function, "runtime.main") {
			stack = append(stack, fmt.Sprintf("%s (%s:%d)", f.Function[strings.LastIndexByte(f.Function, '/')+1:], shortPath(f.File), f.Line))
		}
		if !more || len(stack) == maxPanicFrames {
			break
		}
	}
	return &PanicError{Value: v, Stack: stack}
}

// shortPath keeps the last two elements of a source path: the package directory and the file.
func shortPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p
	}
	if j := strings.LastIndexByte(p[:i], '/'); j >= 0 {
		return p[j+1:]
	}
	return p
}

// runGuarded runs a leased job, turning a panic anywhere in it (decoding, aggregating, the
// provider, the write) into the attempt's error.
func (w *Worker) runGuarded(ctx context.Context, l store.Lease) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = recovered(p)
		}
	}()
	return w.run(ctx, l)
}

// recoverDelivery is Handle's last resort: a panic outside a job's run (a bug in the
// delivery's own handling) is logged and the message NAKed, so that the slot, and the
// process, go on. The job's lease, if taken, runs out and another delivery takes it up.
func (w *Worker) recoverDelivery(ctx context.Context, msg Msg) {
	p := recover() //nolint:revive // recoverDelivery is only ever deferred itself, so recover works here
	if p == nil {
		return
	}
	pe := recovered(p)
	w.log.ErrorContext(ctx, "job delivery panicked", "panic", pe.Value, "stack", pe.Stack)
	w.nak(msg, backoff(1, w.cfg.RetryBase, w.cfg.RetryMax)+time.Second)
	w.d.Metrics.Job("retried")
}
