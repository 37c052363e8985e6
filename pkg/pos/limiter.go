package pos

import (
	"context"
	"time"
)

// Limiter paces the requests to one POS account (a Lightspeed Retail account, the businesses of
// a Lightspeed Restaurant consent). Every source of the account shares it, in one process or,
// through a shared implementation, in many.
type Limiter interface {
	// Wait blocks until a request costing cost may be sent, or ctx ends. A nil error means
	// the caller sends the request now.
	Wait(ctx context.Context, cost float64) error
	// Observe feeds the state of the budget, as a response reported it (Lightspeed Retail's
	// X-LS-* headers) or as the provider's documented or agreed pace sets it.
	Observe(s BucketState)
	// PauseUntil holds every request until t, after a 429.
	PauseUntil(t time.Time)
}

// BucketState is the state of a leaky-bucket budget. Fields not known are zero.
type BucketState struct {
	// Level and Size: how full the bucket is, and how much it holds, in request costs.
	Level, Size float64
	// DripRate is how fast the bucket empties, in costs per second.
	DripRate float64
	// Burst and BurstMax: requests in the current one-second window, and the most allowed.
	Burst, BurstMax int
	// At is when the state was reported.
	At time.Time
}

// TokenInvalidator is implemented by token sources that can be told the POS refused a token.
// After InvalidateToken, the next Token call must return a freshly refreshed token (the auth
// service's "force refresh").
type TokenInvalidator interface {
	InvalidateToken(accessToken string)
}
