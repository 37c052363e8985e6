package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posimport/posimport/pkg/retry"
)

// FaultKind names a kind of injected failure.
type FaultKind string

// The fault kinds.
const (
	// FaultStatus answers with Fault.Status (default 503) and a short error body.
	FaultStatus FaultKind = "status"
	// FaultSlow waits Fault.Delay (real time, cut short if the client goes away), then serves
	// the request normally.
	FaultSlow FaultKind = "slow"
	// FaultReset closes the connection without a response.
	FaultReset FaultKind = "reset"
	// FaultMalformed serves the request but sends only the first half of the body.
	FaultMalformed FaultKind = "malformed"
	// FaultRateLimit answers 429 as the leaky bucket would, with Retry-After in seconds (or
	// as an HTTP date when RetryAfterDate is set), whatever the bucket's level: a 429 storm.
	FaultRateLimit FaultKind = "ratelimit"
)

// Duration is a time.Duration that reads and writes JSON as a string such as "1.5s".
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Fault is an injected failure for the next matching requests.
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Endpoint matches endpoints containing it, e.g. "Sale.json" or "/auth/oauth/token"; empty
	// matches every endpoint but the admin API.
	Endpoint string `json:"endpoint,omitempty"`
	// Count is how many matching requests fail; 0 means every one until the faults are cleared.
	Count int `json:"count,omitempty"`
	// Status is the FaultStatus code; default 503.
	Status int `json:"status,omitempty"`
	// Delay is the FaultSlow wait.
	Delay Duration `json:"delay,omitempty"`
	// RetryAfter is the FaultRateLimit wait in seconds; default 1.
	RetryAfter int `json:"retryAfter,omitempty"`
	// RetryAfterDate sends Retry-After as an HTTP date instead of seconds.
	RetryAfterDate bool `json:"retryAfterDate,omitempty"`
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultStatus, FaultSlow, FaultReset, FaultMalformed, FaultRateLimit:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 || f.RetryAfter < 0 || f.Delay < 0 {
		return fmt.Errorf("fault %s: negative count, delay or retryAfter", f.Kind)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault status %d is not an error status", f.Status)
	}
	return nil
}

type faultSet struct {
	mu     sync.Mutex
	faults []*Fault
}

// take returns the first fault matching ep and uses up one of its count.
func (fs *faultSet) take(ep string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !strings.Contains(ep, f.Endpoint) {
			continue
		}
		out := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// apply carries out the fault; it reports whether the response is finished.
func (f Fault) apply(w http.ResponseWriter, r *http.Request, next http.Handler, c *counters, ep string, now time.Time) bool {
	c.fault(ep)
	switch f.Kind {
	case FaultSlow:
		// The client gave up (its request timeout) or left: nothing more to answer.
		return retry.Sleep(r.Context(), time.Duration(f.Delay)) != nil
	case FaultStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, faultBody(r, status, "injected fault", now))
	case FaultRateLimit:
		c.limited(ep)
		wait := max(f.RetryAfter, 1)
		if !isRestaurant(r) {
			w.Header()["X-LS-API-RateLimit-Type"] = []string{"api-leaky-bucket"}
		}
		if f.RetryAfterDate {
			w.Header().Set("Retry-After", now.Add(time.Duration(wait)*time.Second).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
		}
		writeJSON(w, http.StatusTooManyRequests, faultBody(r, http.StatusTooManyRequests, "Rate limit exceeded", now))
	case FaultMalformed:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)/2))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(bytes.Clone(body[:len(body)/2]))
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not an orderly close
		}
		_ = conn.Close()
	}
	return true
}

// isRestaurant reports whether r is for the K-Series Financial API.
func isRestaurant(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/f/") }

// faultBody is an injected error's body in the product's shape: the R-Series error object,
// or the K-Series {"error"} for 4xx and the Spring body for 5xx.
func faultBody(r *http.Request, status int, msg string, now time.Time) any {
	switch {
	case !isRestaurant(r):
		return lsError(status, msg)
	case status >= 500:
		return springError(r, status, now)
	}
	return kError(msg)
}

// InjectFault adds a fault; faults are tried in the order they were added.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, &f)
	return nil
}

// Faults lists the pending faults.
func (s *Server) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, len(s.faults.faults))
	for i, f := range s.faults.faults {
		out[i] = *f
	}
	return out
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}
