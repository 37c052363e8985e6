package pos

import (
	"context"
	"time"
)

// Change is one sale that was created or changed at the POS since a watermark, in its state
// now. Whatever happened to it (a late sync, a moved completion time, a void after the fact),
// the register-days it counts in now follow from LocationID, RegisterID and CompletedAt; the
// register-day it counted in before is the caller's to remember.
type Change struct {
	// SaleID identifies the sale within its account.
	SaleID string
	// LocationID and RegisterID are the sale's shop and register (device).
	LocationID string
	RegisterID string
	// Completed and Voided are the sale's state now.
	Completed bool
	Voided    bool
	// CompletedAt is when the sale was completed, in UTC; zero for a sale not completed.
	CompletedAt time.Time
	// ChangedAt is when the POS last created or changed the sale, in UTC: the change time the
	// listing is filtered and sorted on.
	ChangedAt time.Time
	// Counts reports whether the sale counts towards the metrics now (completed and not
	// voided, or the product's equivalent).
	Counts bool
	// Metrics is the sale's contribution when it counts and its lines could be read; zero
	// otherwise.
	Metrics Metrics
	// Err is set when the sale's lines could not be read (a [*DataError] naming the line and
	// field): its identity and times above are still right, so the register-days it touches
	// are known, and re-importing them meets the same error there.
	Err error
}

// ChangeSource is a [Source] whose POS lists an account's sales by the time they were last
// created or changed: one listing finds every changed sale of every location, however old
// the day it belongs to. Lightspeed Retail implements it; Lightspeed Restaurant, which can
// only filter on the time a receipt closed, does not (callers re-read a lookback there).
// Callers ask with a type assertion.
type ChangeSource interface {
	Source
	// Changes calls fn for every sale of the account created or changed at or after since,
	// counted or not (voided and open sales too), in ascending ChangedAt order, holding only
	// a bounded number of sales in memory at a time. It stops at and returns fn's first error.
	//
	// A sale changed again while the listing runs may be reported twice (its later report is
	// its newer state). Changes at the instant since are included. The POS stamps a change
	// when it is made, which may be before it becomes visible (a slow transaction, another
	// server's clock), so a caller should keep as its watermark the greatest ChangedAt it saw
	// and ask next time from that watermark less an overlap of some minutes, re-reading a few
	// changes rather than missing one. A sale whose identity or times cannot be read ends
	// Changes with a [*DataError].
	Changes(ctx context.Context, since time.Time, fn func(Change) error) error
}
