package retry

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends. It returns ctx.Err() if ctx ended first (or had already
// ended), else nil; for d <= 0 it returns ctx.Err() at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
