package simtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posimport/posimport/pkg/retry"
)

// Recorder sits in front of a simulator (or any Lightspeed stand-in) and keeps what crossed
// it: every OAuth token and revocation request with the tokens issued, and every API request
// with its account, arrival time, status, Retry-After and the bucket level the simulator
// reported. Tests check the invariants a client must keep from it: no refresh token used
// twice, no invalid_grant, no request refused by the account's bucket, no request before a
// Retry-After ran out, and which secrets must never appear in logs. It can also corrupt one
// register's sales on their way out, as poison data. It is safe for concurrent use.
type Recorder struct {
	next http.Handler
	now  func() time.Time

	mu       sync.Mutex
	calls    []TokenCall
	revokes  []Revocation
	requests []APIRequest
	poison   map[int64]Poison
}

// NewRecorder records what reaches next.
func NewRecorder(next http.Handler) *Recorder {
	return &Recorder{next: next, now: time.Now, poison: map[int64]Poison{}}
}

// TokenCall is one request to a token endpoint (R-Series /auth/oauth/token or K-Series
// /oauth/token).
type TokenCall struct {
	At    time.Time
	Grant string // authorization_code or refresh_token
	// Presented is the code or refresh token sent.
	Presented string
	Verifier  string
	Status    int
	// Error is the OAuth error code of a refusal.
	Error string
	// Access and Refresh are the tokens issued.
	Access, Refresh string
}

// Revocation is one request to a revocation endpoint (R-Series /auth/oauth/revoke or K-Series
// /oauth/revoke).
type Revocation struct {
	Path string
	// Token is the token presented.
	Token string
}

// APIRequest is one API request (anything but OAuth and the admin API).
type APIRequest struct {
	// Arrived is when the request reached the recorder; Done when the response was written.
	Arrived, Done time.Time
	Method        string
	// Path is the URL path, e.g. /API/V3/Account/100001/Sale.json.
	Path string
	// Account is the account of the path or, failing that, of the X-LS-Acct-Id header.
	Account string
	Status  int
	// RetryAfter is the Retry-After header as sent.
	RetryAfter string
	// Level, Size and Cost are the X-LS-Api-Bucket-Level ("level/size") and
	// X-LS-Api-Request-Cost headers; Bucket reports whether the level header was there. The
	// simulator sets them whenever its bucket judged the request, so a 429 with Bucket set is
	// the bucket's own refusal, and one without is an injected fault.
	Level, Size, Cost float64
	Bucket            bool
}

// BucketRefused reports whether the account's bucket (or burst limiter) refused the request.
func (r APIRequest) BucketRefused() bool {
	return r.Status == http.StatusTooManyRequests && r.Bucket
}

// RetryAt is when a 429's Retry-After lets the account be called again, measured from the
// request's arrival (so it is never later than what any client could compute); false when the
// response carries no Retry-After that parses.
func (r APIRequest) RetryAt() (time.Time, bool) {
	if r.Status != http.StatusTooManyRequests || r.RetryAfter == "" {
		return time.Time{}, false
	}
	d, ok := retry.ParseRetryAfter(r.RetryAfter, r.Arrived)
	return r.Arrived.Add(d), ok
}

// Poison describes how a register's sales are corrupted: Field of the first line of every
// sale with lines is replaced by Value.
type Poison struct {
	Field string
	Value string
}

// PoisonRegister corrupts every sale of registerID in Sale.json answers from now on.
func (r *Recorder) PoisonRegister(registerID int64, p Poison) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.poison[registerID] = p
}

var accountPath = regexp.MustCompile(`/Account/(\d+)/`)

// ServeHTTP forwards the request and records it.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	switch {
	case strings.HasPrefix(path, "/admin/"):
		r.next.ServeHTTP(w, req)
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/oauth/token"):
		r.token(w, req)
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/oauth/revoke"):
		form := readForm(req)
		r.mu.Lock()
		r.revokes = append(r.revokes, Revocation{Path: path, Token: form.Get("token") + form.Get("refresh_token")})
		r.mu.Unlock()
		r.next.ServeHTTP(w, req)
	case strings.Contains(path, "/oauth/"), path == "/.well-known/jwks":
		r.next.ServeHTTP(w, req)
	default:
		r.api(w, req)
	}
}

// readForm reads a form body and puts it back for the next handler.
func readForm(req *http.Request) url.Values {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		var m map[string]string
		_ = json.Unmarshal(body, &m)
		v := url.Values{}
		for k, s := range m {
			v.Set(k, s)
		}
		return v
	}
	form, _ := url.ParseQuery(string(body))
	return form
}

func (r *Recorder) token(w http.ResponseWriter, req *http.Request) {
	form := readForm(req)
	cw := &captureWriter{ResponseWriter: w, status: http.StatusOK, keep: true}
	r.next.ServeHTTP(cw, req)
	var resp struct {
		Error   string `json:"error"`
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	_ = json.Unmarshal(cw.body.Bytes(), &resp)
	c := TokenCall{At: r.now(), Grant: form.Get("grant_type"), Verifier: form.Get("code_verifier"),
		Status: cw.status, Error: resp.Error, Access: resp.Access, Refresh: resp.Refresh, Presented: form.Get("code")}
	if c.Grant == "refresh_token" {
		c.Presented = form.Get("refresh_token")
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *Recorder) api(w http.ResponseWriter, req *http.Request) {
	rec := APIRequest{Arrived: r.now(), Method: req.Method, Path: req.URL.Path}
	if m := accountPath.FindStringSubmatch(req.URL.Path); m != nil {
		rec.Account = m[1]
	}
	r.mu.Lock()
	poison := len(r.poison) > 0 && strings.HasSuffix(req.URL.Path, "/Sale.json")
	r.mu.Unlock()
	var h http.Header
	if poison {
		// Buffered, so the body can be rewritten; the simulator's reset fault needs a
		// hijackable writer, which a recorder is not: it aborts the response instead.
		rr := httptest.NewRecorder()
		r.next.ServeHTTP(rr, req)
		body := rr.Body.Bytes()
		if rr.Code == http.StatusOK {
			body = r.corrupt(body)
		}
		for k, v := range rr.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rr.Code)
		_, _ = w.Write(body)
		rec.Status, h = rr.Code, rr.Header()
	} else {
		cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
		r.next.ServeHTTP(cw, req)
		rec.Status, h = cw.status, w.Header()
	}
	rec.Done = r.now()
	rec.RetryAfter = h.Get("Retry-After")
	if rec.Account == "" {
		rec.Account = headerCI(h, "X-LS-Acct-Id")
	}
	if lv, size, ok := strings.Cut(headerCI(h, "X-LS-Api-Bucket-Level"), "/"); ok {
		rec.Level, _ = strconv.ParseFloat(lv, 64)
		rec.Size, _ = strconv.ParseFloat(size, 64)
		rec.Bucket = true
	}
	rec.Cost, _ = strconv.ParseFloat(headerCI(h, "X-LS-Api-Request-Cost"), 64)
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	r.mu.Unlock()
}

// headerCI reads a header whatever its casing: the simulator writes the X-LS-* ones with the
// docs' mixed casing, uncanonicalised.
func headerCI(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// corrupt applies the poison to a Sale.json page; a body it cannot read passes unchanged.
func (r *Recorder) corrupt(body []byte) []byte {
	var page map[string]json.RawMessage
	if json.Unmarshal(body, &page) != nil || page["Sale"] == nil {
		return body
	}
	r.mu.Lock()
	poison := make(map[int64]Poison, len(r.poison))
	for k, v := range r.poison {
		poison[k] = v
	}
	r.mu.Unlock()
	fix := func(sale map[string]any) {
		reg, _ := sale["registerID"].(string)
		id, _ := strconv.ParseInt(reg, 10, 64)
		p, ok := poison[id]
		if !ok {
			return
		}
		lines, _ := sale["SaleLines"].(map[string]any)
		switch l := lines["SaleLine"].(type) {
		case map[string]any:
			l[p.Field] = p.Value
		case []any:
			if len(l) > 0 {
				if first, ok := l[0].(map[string]any); ok {
					first[p.Field] = p.Value
				}
			}
		}
	}
	var sales any
	if json.Unmarshal(page["Sale"], &sales) != nil {
		return body
	}
	switch s := sales.(type) {
	case map[string]any:
		fix(s)
	case []any:
		for _, one := range s {
			if m, ok := one.(map[string]any); ok {
				fix(m)
			}
		}
	}
	b, err := json.Marshal(sales)
	if err != nil {
		return body
	}
	page["Sale"] = b
	out, err := json.Marshal(page)
	if err != nil {
		return body
	}
	return out
}

// captureWriter passes the response through, keeping its status (and body, with keep), and
// stays hijackable so that the simulator's connection-reset fault still works behind it.
type captureWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	keep   bool
	body   bytes.Buffer
}

func (w *captureWriter) WriteHeader(s int) {
	if !w.wrote {
		w.status, w.wrote = s, true
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.wrote = true
	if w.keep {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("simtest: response writer cannot be hijacked")
	}
	w.status = 0 // no response: the connection is reset
	return hj.Hijack()
}

// TokenCalls returns the token endpoint requests so far.
func (r *Recorder) TokenCalls() []TokenCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TokenCall(nil), r.calls...)
}

// Revocations returns the revocation requests so far.
func (r *Recorder) Revocations() []Revocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Revocation(nil), r.revokes...)
}

// Refreshes returns the refresh_token grant requests.
func (r *Recorder) Refreshes() []TokenCall {
	var out []TokenCall
	for _, c := range r.TokenCalls() {
		if c.Grant == "refresh_token" {
			out = append(out, c)
		}
	}
	return out
}

// InvalidGrants counts the token endpoint's invalid_grant answers.
func (r *Recorder) InvalidGrants() int {
	n := 0
	for _, c := range r.TokenCalls() {
		if c.Error == "invalid_grant" {
			n++
		}
	}
	return n
}

// ReusedRefreshTokens lists the refresh tokens presented again after a refresh with them had
// succeeded. (Presenting one again after a request the endpoint failed is a retry, not reuse.)
func (r *Recorder) ReusedRefreshTokens() []string {
	spent := map[string]bool{}
	var out []string
	for _, c := range r.Refreshes() {
		if spent[c.Presented] {
			out = append(out, c.Presented)
		}
		if c.Status == http.StatusOK {
			spent[c.Presented] = true
		}
	}
	return out
}

// Secrets lists every code, PKCE verifier and token that crossed the token and revocation
// endpoints: what a canary check looks for in logs.
func (r *Recorder) Secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		for _, s := range []string{c.Presented, c.Verifier, c.Access, c.Refresh} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	for _, v := range r.revokes {
		if v.Token != "" {
			out = append(out, v.Token)
		}
	}
	return out
}

// Requests returns the API requests so far, in arrival order per account.
func (r *Recorder) Requests() []APIRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]APIRequest(nil), r.requests...)
}

// BudgetViolations describes, per request, every breach of an account's budget: a refusal by
// the simulator's bucket or burst limiter, or a bucket level above the size by more than the
// request's own cost (the documented allowance: a request is let through while the level is
// below the size, so the first overflowing one passes).
func (r *Recorder) BudgetViolations() []string {
	var out []string
	for _, q := range r.Requests() {
		switch {
		case q.BucketRefused():
			out = append(out, "account "+q.Account+": "+q.Method+" "+q.Path+" refused by the bucket at "+q.Arrived.Format(time.RFC3339Nano))
		case q.Bucket && q.Level > q.Size+q.Cost:
			out = append(out, "account "+q.Account+": bucket level "+strconv.FormatFloat(q.Level, 'f', -1, 64)+" over size "+
				strconv.FormatFloat(q.Size, 'f', -1, 64)+" at "+q.Arrived.Format(time.RFC3339Nano))
		}
	}
	return out
}

// EarlyRequests describes every request that reached an account before an earlier 429's
// Retry-After let it: one arriving more than inFlight after the 429 was answered, yet before
// its retry time. Requests sent before the refused client could tell the others (inFlight
// covers its recording the pause) are on their way already, and not early.
func (r *Recorder) EarlyRequests(inFlight time.Duration) []string {
	var out []string
	reqs := r.Requests()
	for i, q := range reqs {
		until, ok := q.RetryAt()
		if !ok {
			continue
		}
		for _, next := range reqs[i+1:] {
			if next.Account == q.Account && next.Arrived.After(q.Done.Add(inFlight)) && next.Arrived.Before(until) {
				out = append(out, "account "+q.Account+": request at "+next.Arrived.Format(time.RFC3339Nano)+
					" before "+until.Format(time.RFC3339Nano)+" (Retry-After "+q.RetryAfter+" at "+q.Arrived.Format(time.RFC3339Nano)+")")
			}
		}
	}
	return out
}
