package restaurant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/pkg/retry"
)

// The production host, for the API and OAuth alike.
const DefaultBaseURL = "https://api.lsk.lightspeed.app"

// Scope is the OAuth scope the Financial API needs.
const Scope = "financial-api"

// The pace posimport keeps per consent (token): K-Series documents no limit; 7shifts asks its
// partners for at most 10 requests a second per token, and this stays well below.
const (
	PaceRate  = 5.0 // requests per second, sustained
	PaceBurst = 20  // requests at once
)

// Endpoint returns the OAuth2 endpoints under baseURL (DefaultBaseURL in production, the
// simulator's URL in tests). The client authenticates with HTTP Basic, as the K-Series
// Authorization Overview requires ("the client ID and client secret must be base64 encoded and
// passed as the authorization header").
func Endpoint(baseURL string) oauth2.Endpoint {
	b := strings.TrimSuffix(baseURL, "/")
	return oauth2.Endpoint{AuthURL: b + "/oauth/authorize", TokenURL: b + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
}

// PauseLimiter is the default [pos.Limiter]: it lets requests through at once, except while a
// pause set after a 429 runs, and ignores Observe (K-Series reports no budget). It is safe for
// concurrent use.
type PauseLimiter struct {
	// NowFunc and SleepFunc replace the clock in tests.
	NowFunc   func() time.Time
	SleepFunc func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	paused time.Time
}

var _ pos.Limiter = (*PauseLimiter)(nil)

// Wait implements [pos.Limiter].
func (l *PauseLimiter) Wait(ctx context.Context, _ float64) error {
	l.mu.Lock()
	now := time.Now()
	if l.NowFunc != nil {
		now = l.NowFunc()
	}
	wait := l.paused.Sub(now)
	l.mu.Unlock()
	if wait <= 0 {
		return ctx.Err()
	}
	if l.SleepFunc != nil {
		return l.SleepFunc(ctx, wait)
	}
	return retry.Sleep(ctx, wait)
}

// Observe implements [pos.Limiter]; there is nothing to learn.
func (l *PauseLimiter) Observe(pos.BucketState) {}

// PauseUntil implements [pos.Limiter].
func (l *PauseLimiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.paused) {
		l.paused = t
	}
}

// Config configures a [Client]. TokenSource is required.
type Config struct {
	// BaseURL is the API host; default DefaultBaseURL.
	BaseURL string
	// BusinessIDs are the businesses the consent covers (the connection's account id, see
	// [ParseAccountID]). Only [Client.Locations] needs them, to list the locations of these
	// businesses alone; empty takes every business the token sees. Sales need none: a location
	// id names its business.
	BusinessIDs []int64
	// TokenSource supplies access tokens; it may implement [pos.TokenInvalidator].
	TokenSource oauth2.TokenSource
	// HTTPClient sends the requests; default a client on http.DefaultTransport. Its Timeout
	// should be zero: RequestTimeout bounds each attempt.
	HTTPClient *http.Client
	// Limiter paces the requests; default a new [PauseLimiter].
	Limiter pos.Limiter
	// RequestTimeout bounds one attempt, reading the body included; default 60 s.
	RequestTimeout time.Duration
	// MaxAttempts is the most sends of one request, retries included; default 8.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the full-jitter backoff; defaults 500 ms and 30 s.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest 429 wait the client sits out itself; default 5 minutes.
	MaxRetryAfter time.Duration
	// PageSize is the pageSize per sales request, 1..100; default 100.
	PageSize int
	// Logger gets a debug line per attempt and a warning per retry; default discards.
	Logger *slog.Logger
	// OnResponse, if set, is called after every attempt, for metrics.
	OnResponse func(ResponseEvent)
	// NowFunc and SleepFunc replace the clock in tests; they are also given to the default
	// Limiter.
	NowFunc   func() time.Time
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// ResponseEvent describes one attempt.
type ResponseEvent struct {
	// Resource is "Business" or "Sale".
	Resource string
	// Status is the HTTP status, 0 when no response arrived.
	Status   int
	Attempt  int
	Duration time.Duration
	Err      error
}

// Client is a K-Series Financial API client for one consent (one token, one or more
// businesses). It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	log   *slog.Logger
	stats struct{ requests, limited, retries atomic.Int64 }
	retry retry.Policy // get sets Op and NotifyFunc per call
}

var _ pos.Source = (*Client)(nil)

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("restaurant client: a token source is required")
	}
	for _, id := range cfg.BusinessIDs {
		if id <= 0 {
			return nil, errors.New("restaurant client: a business id is positive")
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("restaurant client: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.SleepFunc == nil {
		cfg.SleepFunc = retry.Sleep
	}
	if cfg.Limiter == nil {
		cfg.Limiter = &PauseLimiter{NowFunc: cfg.NowFunc, SleepFunc: cfg.SleepFunc}
	}
	setDefault(&cfg.RequestTimeout, 60*time.Second)
	setDefault(&cfg.BackoffBase, 500*time.Millisecond)
	setDefault(&cfg.BackoffMax, 30*time.Second)
	setDefault(&cfg.MaxRetryAfter, 5*time.Minute)
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.PageSize < 1 || cfg.PageSize > 100 {
		return nil, fmt.Errorf("restaurant client: page size %d is outside 1..100", cfg.PageSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, base: base,
		log:   cfg.Logger.With("component", "lightspeed-restaurant", "business_ids", AccountID(cfg.BusinessIDs)),
		retry: retry.Policy{MaxAttempts: cfg.MaxAttempts, Backoff: retry.Backoff{Base: cfg.BackoffBase, Max: cfg.BackoffMax}, SleepFunc: cfg.SleepFunc},
	}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Stats implements [pos.Source].
func (c *Client) Stats() pos.Stats {
	return pos.Stats{Requests: c.stats.requests.Load(), RateLimited: c.stats.limited.Load(), Retries: c.stats.retries.Load()}
}

// DataTypes implements [pos.Source]: all eight metrics; K-Series has covers, hence Visitors.
func (c *Client) DataTypes() []pos.DataType { return pos.DataTypes[:] }

func (c *Client) url(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return &u
}

// get sends one GET through the retry layer and hands the body to decode. decode errors of
// type [*pos.SyntaxError] are retried like truncated bodies; others end the call.
func (c *Client) get(ctx context.Context, resource string, u *url.URL, decode func([]byte) error) error {
	refreshed := false
	p := c.retry
	p.Op, p.NotifyFunc = "get "+resource, retry.Warn(ctx, c.log, "retrying lightspeed request", "resource", resource)
	return retry.Do(ctx, p, func(ctx context.Context, attempt int) error {
		return c.attempt(ctx, resource, u, attempt, decode, &refreshed)
	})
}

// attempt waits for the limiter and sends the request once. Its error is marked for
// [retry.Do]: [retry.Permanent] when retrying cannot help, [retry.After] zero for a retry at
// once (a fresh token; a 429, whose Retry-After the limiter holds), unmarked for a retry after
// the backoff.
func (c *Client) attempt(ctx context.Context, resource string, u *url.URL, n int, decode func([]byte) error, refreshed *bool) (err error) {
	if err := c.cfg.Limiter.Wait(ctx, 1); err != nil {
		return retry.Permanent(fmt.Errorf("wait for the rate limit: %w", err))
	}
	start := c.cfg.NowFunc()
	status := 0
	defer func() {
		if c.cfg.OnResponse != nil {
			c.cfg.OnResponse(ResponseEvent{Resource: resource, Status: status, Attempt: n, Duration: c.cfg.NowFunc().Sub(start), Err: err})
		}
	}()
	tok, err := c.cfg.TokenSource.Token()
	if err != nil {
		return retry.Permanent(fmt.Errorf("get an access token: %w", tokenError(err)))
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return retry.Permanent(fmt.Errorf("build request: %w", err))
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	c.stats.requests.Add(1)
	if n > 1 {
		c.stats.retries.Add(1)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return retry.Permanent(ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) { // the URL holds no secret, but the resource names it better
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("send request: %w", err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	c.log.DebugContext(ctx, "lightspeed response", "resource", resource, "status", status, "attempt", n, "bytes", len(body))
	switch {
	case status == http.StatusTooManyRequests:
		c.stats.limited.Add(1)
		now := c.cfg.NowFunc()
		d, ok := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		if !ok {
			d = time.Second
		}
		c.cfg.Limiter.PauseUntil(now.Add(d))
		rl := &pos.RateLimitError{RetryAfter: d}
		if d > c.cfg.MaxRetryAfter {
			return retry.Permanent(rl) // longer than the client sits out: the caller's to schedule
		}
		return retry.After(0, rl) // the limiter holds the next attempt until Retry-After
	case status == http.StatusUnauthorized:
		if inv, ok := c.cfg.TokenSource.(pos.TokenInvalidator); ok && !*refreshed {
			*refreshed = true
			inv.InvalidateToken(tok.AccessToken)
			return retry.After(0, fmt.Errorf("lightspeed refused the access token: %w", pos.ErrUnauthorized))
		}
		return retry.Permanent(fmt.Errorf("lightspeed refused the access token: %w", pos.ErrUnauthorized))
	case status >= 500:
		return &pos.StatusError{Status: status, Message: errorMessage(body)}
	case status != http.StatusOK:
		return retry.Permanent(&pos.StatusError{Status: status, Message: errorMessage(body)})
	case readErr != nil:
		if ctx.Err() != nil {
			return retry.Permanent(ctx.Err())
		}
		return fmt.Errorf("read body: %w", readErr)
	}
	if err := decode(body); err != nil {
		if errors.As(err, new(*pos.SyntaxError)) {
			return err
		}
		return retry.Permanent(err)
	}
	return nil
}

// errorMessage extracts the API's message: {"error": "..."} on 4xx, the Spring body's error
// (and path) on 5xx; shortened.
func errorMessage(body []byte) string {
	var m struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	msg := string(body)
	if json.Unmarshal(body, &m) == nil {
		switch e := m.Error.(type) {
		case string:
			msg = e
		default:
			if m.Message != "" {
				msg = m.Message
			}
		}
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

// tokenError keeps an oauth2 error's code but not its raw body.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "invalid_grant" {
			return fmt.Errorf("token endpoint refused the refresh (invalid_grant): %w", pos.ErrUnauthorized)
		}
		code := re.ErrorCode
		if code == "" {
			code = "unknown"
		}
		return fmt.Errorf("token endpoint error %s", code)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errors.New("token endpoint unreachable")
	}
	return err
}
