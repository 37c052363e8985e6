package retail

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
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/pkg/retry"
)

// The production hosts.
const (
	DefaultAPIBaseURL  = "https://api.lightspeedapp.com"
	DefaultAuthBaseURL = "https://cloud.lightspeedapp.com"
)

// Endpoint returns the OAuth2 endpoints under authBaseURL (DefaultAuthBaseURL in production,
// the simulator's URL in tests). The client authenticates with client_id and client_secret in
// the form body, as the R-Series token requests are documented.
func Endpoint(authBaseURL string) oauth2.Endpoint {
	b := strings.TrimSuffix(authBaseURL, "/")
	return oauth2.Endpoint{AuthURL: b + "/auth/oauth/authorize", TokenURL: b + "/auth/oauth/token", AuthStyle: oauth2.AuthStyleInParams}
}

// Config configures a [Client]. AccountID and TokenSource are required.
type Config struct {
	// BaseURL is the API host; default DefaultAPIBaseURL.
	BaseURL string
	// AccountID is the Lightspeed account the token was granted for (its acct claim).
	AccountID int64
	// TokenSource supplies access tokens; it may implement [pos.TokenInvalidator].
	TokenSource oauth2.TokenSource
	// HTTPClient sends the requests; default a client on http.DefaultTransport. Its Timeout
	// should be zero: RequestTimeout bounds each attempt.
	HTTPClient *http.Client
	// Limiter paces the requests; default a new [BucketLimiter].
	Limiter pos.Limiter
	// RequestTimeout bounds one attempt, reading the body included; default 60 s.
	RequestTimeout time.Duration
	// MaxAttempts is the most sends of one request, retries included; default 8.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the full-jitter backoff: attempt n waits a random
	// duration in [0, min(BackoffMax, BackoffBase·2ⁿ⁻¹)); defaults 500 ms and 30 s.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest 429 wait the client sits out itself; a longer one is
	// returned as a [*pos.RateLimitError]. Default 5 minutes.
	MaxRetryAfter time.Duration
	// PageSize is the limit per page, 1..100; default 100.
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
	// Resource is "Sale", "Shop", "Register" or "Account".
	Resource string
	// Status is the HTTP status, 0 when no response arrived.
	Status   int
	Attempt  int
	Duration time.Duration
	Err      error
}

// Client is an R-Series API V3 client for one account. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	log     *slog.Logger
	stats   struct{ requests, limited, retries atomic.Int64 }
	account string
	retry   retry.Policy // get sets Op and NotifyFunc per call
}

var _ pos.Source = (*Client)(nil)

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("retail client: a token source is required")
	}
	if cfg.AccountID <= 0 {
		return nil, errors.New("retail client: an account id is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultAPIBaseURL
	}
	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		return nil, err
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
		cfg.Limiter = &BucketLimiter{NowFunc: cfg.NowFunc, SleepFunc: cfg.SleepFunc}
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 5 * time.Minute
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.PageSize < 1 || cfg.PageSize > 100 {
		return nil, fmt.Errorf("retail client: page size %d is outside 1..100", cfg.PageSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		cfg: cfg, base: base, account: strconv.FormatInt(cfg.AccountID, 10),
		log:   cfg.Logger.With("component", "lightspeed-retail", "account_id", cfg.AccountID),
		retry: retry.Policy{MaxAttempts: cfg.MaxAttempts, Backoff: retry.Backoff{Base: cfg.BackoffBase, Max: cfg.BackoffMax}, SleepFunc: cfg.SleepFunc},
	}, nil
}

func parseBase(s string) (*url.URL, error) {
	base, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("retail client: base URL %q is not an http(s) URL", s)
	}
	return base, nil
}

// Stats implements [pos.Source].
func (c *Client) Stats() pos.Stats {
	return pos.Stats{Requests: c.stats.requests.Load(), RateLimited: c.stats.limited.Load(), Retries: c.stats.retries.Load()}
}

// DataTypes implements [pos.Source]: every metric but Visitors, which R-Series does not have.
func (c *Client) DataTypes() []pos.DataType {
	return []pos.DataType{pos.GrossSales, pos.NetSales, pos.Discounts, pos.Returns, pos.Transactions, pos.GoodsSold, pos.GoodsReturned}
}

// accountURL is the URL of a resource of the account, e.g. "Sale.json".
func (c *Client) accountURL(resource string, q url.Values) *url.URL {
	u := *c.base
	u.Path += "/API/V3/Account/" + c.account + "/" + resource
	u.RawQuery = q.Encode()
	return &u
}

// parseNext checks a page's next URL before the client sends its token there: it must be an
// absolute URL on the configured scheme and host, under this account's API path.
func (c *Client) parseNext(next string) (*url.URL, error) {
	u, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("next page URL: %w", err)
	}
	prefix := c.base.Path + "/API/V3/Account/" + c.account + "/"
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) ||
		!strings.HasPrefix(u.Path, prefix) || path.Clean(u.Path) != u.Path || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("next page URL %s://%s%s is not under %s://%s%s", u.Scheme, u.Host, u.Path, c.base.Scheme, c.base.Host, prefix)
	}
	return u, nil
}

// get sends one GET through the retry layer and hands the body to decode. decode errors of
// type [*pos.SyntaxError] are retried like truncated bodies; others end the call.
func (c *Client) get(ctx context.Context, resource string, u *url.URL, cost float64, decode func([]byte) error) error {
	refreshed := false
	p := c.retry
	p.Op, p.NotifyFunc = "get "+resource, retry.Warn(ctx, c.log, "retrying lightspeed request", "resource", resource)
	return retry.Do(ctx, p, func(ctx context.Context, attempt int) error {
		return c.attempt(ctx, resource, u, attempt, cost, decode, &refreshed)
	})
}

// attempt waits for the limiter and sends the request once. Its error is marked for
// [retry.Do]: [retry.Permanent] when retrying cannot help, [retry.After] zero for a retry at
// once (a fresh token; a 429, whose Retry-After the limiter holds), unmarked for a retry after
// the backoff.
func (c *Client) attempt(ctx context.Context, resource string, u *url.URL, n int, cost float64, decode func([]byte) error, refreshed *bool) (err error) {
	if err := c.cfg.Limiter.Wait(ctx, cost); err != nil {
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
		// NOTE: oauth2 errors can carry the token endpoint's response body; only its type
		// is kept.
		return retry.Permanent(fmt.Errorf("get an access token: %w", sanitizeTokenError(err)))
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
		return fmt.Errorf("send request: %w", stripURL(err))
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	now := c.cfg.NowFunc()
	if st, ok := ParseBucketState(resp.Header, now); ok {
		c.cfg.Limiter.Observe(st)
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	c.log.DebugContext(ctx, "lightspeed response", "resource", resource, "status", status, "attempt", n, "bytes", len(body))
	switch {
	case status == http.StatusTooManyRequests:
		c.stats.limited.Add(1)
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

// errorMessage extracts the message of an API error body, shortened.
func errorMessage(body []byte) string {
	var m struct {
		Message scalar `json:"message"`
	}
	if json.Unmarshal(body, &m) != nil || !m.Message.set {
		return shorten(body)
	}
	return shorten([]byte(m.Message.s))
}

// stripURL drops the URL from a *url.Error: it holds no secret, but it is long and the
// caller's error already names the resource.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// sanitizeTokenError keeps an oauth2 error's code but not its raw body.
func sanitizeTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			code = "unknown"
		}
		if code == "invalid_grant" {
			return fmt.Errorf("token endpoint refused the refresh (%s): %w", code, pos.ErrUnauthorized)
		}
		return fmt.Errorf("token endpoint error %s", code)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errors.New("token endpoint unreachable")
	}
	return err
}
