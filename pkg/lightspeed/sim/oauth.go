package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client is an OAuth client registered with the simulator.
type Client struct {
	ID string
	// Secret is empty for a public client, which must then use PKCE.
	Secret string
	// RedirectURIs are the allowed redirect URIs; empty allows any, which suits tests whose
	// callback listens on a random port.
	RedirectURIs []string
}

// The R-Series OAuth lifetimes the reference states.
const (
	codeTTL                = 60 * time.Second
	defaultAccessTokenTTL  = 1800 * time.Second
	defaultRefreshTokenTTL = 30 * 24 * time.Hour
)

// oauthRules are what differs between the products' OAuth servers.
type oauthRules struct {
	// product names the product on the consent page, e.g. "Lightspeed Retail".
	product    string
	issuer     string
	accessTTL  time.Duration
	refreshTTL time.Duration
	// singleUse is the K-Series rotation: a refresh token dies the moment it is used, and
	// every refresh mints a new access token. Without it, the R-Series rule holds: rotated-out
	// refresh tokens live until the new access token is used, and a refresh while the access
	// token is valid returns that same access token.
	singleUse bool
	// multiAccount lets one consent cover several accounts: a K-Series user who sees several
	// businesses grants access to all of them ("Access tokens have the same level of access as
	// the user who authorizes them"). An R-Series consent is for one account.
	multiAccount bool
	// basicAuth is the K-Series client authentication: the token and revoke endpoints take the
	// client id and secret only as HTTP Basic. Without it, the R-Series rule holds: only in the
	// request body. Either refuses the other style with 401 invalid_client.
	basicAuth bool
}

// consentAccount is an account (R-Series) or business (K-Series) a person can grant access to.
type consentAccount struct {
	ID   int64
	Name string
}

// oauthServer is the OAuth core. It is product-neutral: the R-Series routes mount it under
// /auth/oauth/ with the R-Series rules, the K-Series routes mount a second instance under
// /oauth/ with the K-Series rules (single use, 14 days) over the businesses.
type oauthServer struct {
	rules    oauthRules
	clock    Clock
	key      *rsa.PrivateKey
	kid      string
	clients  map[string]Client
	accounts func() []consentAccount
	auto     bool

	mu       sync.Mutex
	codes    map[string]*authCode
	access   map[string]*accessToken
	refresh  map[string]*grant
	grantSeq int
}

// accessToken is an issued access token: it is valid until its own expiry (unless its grant
// is revoked), also after a refresh issued a newer one, as stateless JWTs are.
type accessToken struct {
	grant *grant
	exp   time.Time
}

type authCode struct {
	clientID, redirectURI, scope string
	challenge                    string
	accountIDs                   []int64
	expires                      time.Time
}

// grant is one consent: its accounts (one at R-Series, one or more at K-Series), a client and
// the tokens currently valid for it.
type grant struct {
	id         int
	clientID   string
	accountIDs []int64
	scope      string
	access     string
	accessExp  time.Time
	refresh    string
	refreshExp time.Time
	// retiring refresh tokens were rotated out but stay usable until the grant's access token
	// is next used: Lightspeed revokes the old refresh token "once the new access token is
	// used".
	retiring []string
	revoked  bool
}

// tokenInfo is what an API request learns from a valid access token.
type tokenInfo struct {
	// accountID is the grant's first account, the one account of an R-Series grant.
	accountID  int64
	accountIDs []int64
	grantID    int
	clientID   string
	scope      string
}

// signingKey is generated once per process: RSA key generation is slow, and a simulator's key
// needs no secrecy beyond its process.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("sim: generate RSA key: %v", err))
	}
	return k
})

func newOAuthServer(rules oauthRules, clock Clock, clients []Client, accounts func() []consentAccount, auto bool) *oauthServer {
	o := &oauthServer{
		rules: rules, clock: clock,
		key: signingKey(), kid: "sim-1", clients: map[string]Client{}, accounts: accounts, auto: auto,
		codes: map[string]*authCode{}, access: map[string]*accessToken{}, refresh: map[string]*grant{},
	}
	for _, c := range clients {
		o.clients[c.ID] = c
	}
	return o
}

func (o *oauthServer) routes(mux *http.ServeMux, prefix string) {
	mux.HandleFunc("GET "+prefix+"authorize", o.authorize)
	mux.HandleFunc("POST "+prefix+"authorize", o.consent)
	mux.HandleFunc("POST "+prefix+"token", o.token)
	mux.HandleFunc("POST "+prefix+"revoke", o.revoke)
}

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// authRequest is a validated authorization request.
type authRequest struct {
	client                     Client
	redirectURI, state, scope  string
	challenge, challengeMethod string
}

// parseAuthRequest checks the parameters the redirect depends on. Problems with the client or
// redirect URI are shown to the user, never redirected, as RFC 6749 §4.1.2.1 requires.
func (o *oauthServer) parseAuthRequest(v url.Values) (authRequest, int, string) {
	c, ok := o.clients[v.Get("client_id")]
	if !ok {
		return authRequest{}, http.StatusBadRequest, "unknown client_id"
	}
	ar := authRequest{client: c, redirectURI: v.Get("redirect_uri"), state: v.Get("state"), scope: v.Get("scope"),
		challenge: v.Get("code_challenge"), challengeMethod: v.Get("code_challenge_method")}
	if len(c.RedirectURIs) > 0 {
		if ar.redirectURI == "" {
			ar.redirectURI = c.RedirectURIs[0]
		}
		found := false
		for _, u := range c.RedirectURIs {
			found = found || u == ar.redirectURI
		}
		if !found {
			return authRequest{}, http.StatusBadRequest, "redirect_uri is not registered for this client"
		}
	}
	if u, err := url.Parse(ar.redirectURI); err != nil || !u.IsAbs() {
		return authRequest{}, http.StatusBadRequest, "redirect_uri must be an absolute URL"
	}
	return ar, 0, ""
}

// redirectError sends the user agent back to the client with an OAuth error.
func redirectError(w http.ResponseWriter, r *http.Request, ar authRequest, code, desc string) {
	u, _ := url.Parse(ar.redirectURI) // parsed before
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><title>Lightspeed simulator: authorize {{.Client}} for {{.Product}}</title></head>
<body><h1>Authorize {{.Client}}</h1>
<p>{{.Client}} asks for access to your {{.Product}} account ({{.Scope}}).</p>
<form method="post">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{if .Multi}}<fieldset><legend>Businesses</legend>{{range .Accounts}}<label><input type="checkbox" name="account_id" value="{{.ID}}" checked> {{.Name}} ({{.ID}})</label>
{{end}}</fieldset>{{else}}<label>Account <select name="account_id">{{range .Accounts}}<option value="{{.ID}}">{{.Name}} ({{.ID}})</option>{{end}}</select></label>{{end}}
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>`))

func (o *oauthServer) authorize(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	ar, status, msg := o.parseAuthRequest(v)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	if v.Get("response_type") != "code" {
		redirectError(w, r, ar, "unsupported_response_type", "only response_type=code is supported")
		return
	}
	if ar.challenge != "" && ar.challengeMethod != "S256" {
		redirectError(w, r, ar, "invalid_request", "code_challenge_method must be S256")
		return
	}
	if o.auto {
		o.issueCode(w, r, ar, v["account_id"])
		return
	}
	hidden := map[string]string{}
	for k := range v {
		if k != "account_id" && k != "decision" {
			hidden[k] = v.Get(k)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]any{"Client": ar.client.ID, "Product": o.rules.product, "Scope": ar.scope, "Hidden": hidden, "Accounts": o.accounts(), "Multi": o.rules.multiAccount})
}

// consent is the consent form's POST: the user's decision on an authorization request.
func (o *oauthServer) consent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ar, status, msg := o.parseAuthRequest(r.PostForm)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		redirectError(w, r, ar, "access_denied", "The resource owner or authorization server denied the request.")
		return
	}
	o.issueCode(w, r, ar, r.PostForm["account_id"])
}

// issueCode redirects with a fresh code for the accounts named (each value one id or several,
// comma-separated; none or 0: the first account).
func (o *oauthServer) issueCode(w http.ResponseWriter, r *http.Request, ar authRequest, values []string) {
	accounts := o.accounts()
	known := map[int64]bool{}
	for _, a := range accounts {
		known[a.ID] = true
	}
	var accts []int64
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" || part == "0" {
				continue
			}
			id, err := strconv.ParseInt(part, 10, 64)
			if err != nil || !known[id] {
				redirectError(w, r, ar, "access_denied", "no such account")
				return
			}
			if !slices.Contains(accts, id) {
				accts = append(accts, id)
			}
		}
	}
	switch {
	case len(accts) == 0 && len(accounts) > 0:
		accts = []int64{accounts[0].ID}
	case len(accts) == 0:
		redirectError(w, r, ar, "access_denied", "no such account")
		return
	case len(accts) > 1 && !o.rules.multiAccount:
		redirectError(w, r, ar, "access_denied", "a consent is for one account")
		return
	}
	slices.Sort(accts)
	code := randomToken("code_", 24)
	o.mu.Lock()
	o.codes[code] = &authCode{clientID: ar.client.ID, redirectURI: ar.redirectURI, scope: ar.scope,
		challenge: ar.challenge, accountIDs: accts, expires: o.clock.Now().Add(codeTTL)}
	o.mu.Unlock()
	u, _ := url.Parse(ar.redirectURI)
	q := u.Query()
	q.Set("code", code)
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// oauthError is the League OAuth2 server's error body, which Lightspeed's token endpoint uses.
func oauthError(w http.ResponseWriter, status int, code, desc, hint string) {
	body := map[string]string{"error": code, "error_description": desc}
	if hint != "" {
		body["hint"] = hint
	}
	writeJSON(w, status, body)
}

// credentials says where a token or revoke request carried the client's credentials.
type credentials int

const (
	credentialsInBody  credentials = iota // client_id (and client_secret) in the body, or none
	credentialsInBasic                    // HTTP Basic authentication
)

// tokenParams reads a token or revoke request's parameters from a form or JSON body, as the
// Lightspeed token endpoint accepts both, and the client credentials from the body or HTTP
// Basic authentication, saying which.
func tokenParams(r *http.Request) (url.Values, credentials, error) {
	v := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&m); err != nil {
			return nil, 0, fmt.Errorf("decode JSON body: %w", err)
		}
		for k, x := range m {
			v.Set(k, fmt.Sprint(x))
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return nil, 0, fmt.Errorf("parse form: %w", err)
		}
		v = r.PostForm
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return v, credentialsInBody, nil
	}
	if v.Has("client_secret") {
		// RFC 6749 §2.3: a client must not use more than one authentication method.
		return nil, 0, errors.New("client credentials both in the body and as HTTP Basic")
	}
	// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
	if u, err := url.QueryUnescape(id); err == nil {
		id = u
	}
	if u, err := url.QueryUnescape(secret); err == nil {
		secret = u
	}
	v.Set("client_id", id)
	v.Set("client_secret", secret)
	return v, credentialsInBasic, nil
}

// authenticateClient checks the client's credentials, and that they came the way the product
// documents (HTTP Basic at K-Series, the body at R-Series): a server that follows its own
// documentation answers the other style with invalid_client.
func (o *oauthServer) authenticateClient(v url.Values, how credentials) (Client, bool) {
	if (how == credentialsInBasic) != o.rules.basicAuth {
		return Client{}, false
	}
	c, ok := o.clients[v.Get("client_id")]
	if !ok {
		return Client{}, false
	}
	if c.Secret != "" && subtle.ConstantTimeCompare([]byte(c.Secret), []byte(v.Get("client_secret"))) != 1 {
		return Client{}, false
	}
	return c, true
}

// invalidClient refuses a client's authentication (RFC 6749 §5.2): 401, with the Basic
// challenge where the product takes HTTP Basic.
func (o *oauthServer) invalidClient(w http.ResponseWriter) {
	if o.rules.basicAuth {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+o.rules.product+`"`)
	}
	oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed", "")
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope,omitempty"`
}

func (o *oauthServer) token(w http.ResponseWriter, r *http.Request) {
	v, how, err := tokenParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.", "")
		return
	}
	c, ok := o.authenticateClient(v, how)
	if !ok {
		o.invalidClient(w)
		return
	}
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	switch v.Get("grant_type") {
	case "authorization_code":
		o.exchangeCode(w, c, v, now)
	case "refresh_token":
		o.refreshGrant(w, c, v, now)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.", "")
	}
}

func (o *oauthServer) exchangeCode(w http.ResponseWriter, c Client, v url.Values, now time.Time) {
	code := v.Get("code")
	ac, ok := o.codes[code]
	// A code is single-use: it is spent by any attempt, successful or not.
	delete(o.codes, code)
	switch {
	case code == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter.", "Check the `code` parameter")
		return
	case !ok || ac.clientID != c.ID || !now.Before(ac.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.", "Authorization code has expired or was already used")
		return
	case v.Get("redirect_uri") != "" && v.Get("redirect_uri") != ac.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid.", "Redirect URI does not match")
		return
	case ac.challenge != "" && !verifyPKCE(ac.challenge, v.Get("code_verifier")):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid.", "Code Verifier could not be verified.")
		return
	case ac.challenge == "" && c.Secret == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "A public client must use PKCE.", "")
		return
	}
	o.grantSeq++
	g := &grant{id: o.grantSeq, clientID: c.ID, accountIDs: ac.accountIDs, scope: ac.scope}
	o.mintAccess(g, now)
	o.mintRefresh(g, now)
	writeJSON(w, http.StatusOK, o.response(g, now))
}

func verifyPKCE(challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (o *oauthServer) refreshGrant(w http.ResponseWriter, c Client, v url.Values, now time.Time) {
	rt := v.Get("refresh_token")
	if rt == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter.", "Check the `refresh_token` parameter")
		return
	}
	g, ok := o.refresh[rt]
	if !ok || g.revoked || g.clientID != c.ID || (rt == g.refresh && !now.Before(g.refreshExp)) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.", "Token has been revoked")
		return
	}
	if o.rules.singleUse {
		// Single use: the presented token (the current one; older ones were deleted) dies now,
		// and both tokens are new.
		delete(o.refresh, rt)
		o.mintRefresh(g, now)
		o.mintAccess(g, now)
		writeJSON(w, http.StatusOK, o.response(g, now))
		return
	}
	// Rotation: the presented token and the current one retire; a new one becomes current.
	if rt != g.refresh {
		g.retiring = append(g.retiring, g.refresh)
	} else {
		g.retiring = append(g.retiring, rt)
	}
	o.mintRefresh(g, now)
	// "If your previous access token is still active, it will be returned instead of a new
	// access token."
	if !now.Before(g.accessExp) {
		delete(o.access, g.access)
		o.mintAccess(g, now)
	}
	writeJSON(w, http.StatusOK, o.response(g, now))
}

func (o *oauthServer) response(g *grant, now time.Time) tokenResponse {
	return tokenResponse{TokenType: "Bearer", ExpiresIn: int64(g.accessExp.Sub(now).Round(time.Second) / time.Second),
		AccessToken: g.access, RefreshToken: g.refresh, Scope: g.scope}
}

func (o *oauthServer) mintRefresh(g *grant, now time.Time) {
	g.refresh = randomToken("def50200", 48)
	g.refreshExp = now.Add(o.rules.refreshTTL)
	o.refresh[g.refresh] = g
}

func (o *oauthServer) mintAccess(g *grant, now time.Time) {
	g.accessExp = now.Add(o.rules.accessTTL)
	g.access = o.signJWT(map[string]any{
		"iss": o.rules.issuer, "aud": g.clientID, "sub": strconv.Itoa(g.id), "acct": joinIDs(g.accountIDs),
		"scope": g.scope, "iat": now.Unix(), "nbf": now.Unix(), "exp": g.accessExp.Unix(),
		"jti": randomToken("", 12),
	})
	o.access[g.access] = &accessToken{grant: g, exp: g.accessExp}
}

func (o *oauthServer) signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": o.kid})
	payload, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, o.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("sim: sign JWT: %v", err))
	}
	return signing + "." + enc.EncodeToString(sig)
}

// retire kills the rotated-out refresh tokens; the caller holds o.mu.
func (o *oauthServer) retire(g *grant) {
	for _, rt := range g.retiring {
		delete(o.refresh, rt)
	}
	g.retiring = nil
}

func (o *oauthServer) revoke(w http.ResponseWriter, r *http.Request) {
	v, how, err := tokenParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request is malformed.", "")
		return
	}
	if _, ok := o.authenticateClient(v, how); !ok {
		o.invalidClient(w)
		return
	}
	tok := v.Get("refresh_token")
	if tok == "" {
		tok = v.Get("token")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	g, ok := o.refresh[tok]
	if at, isAccess := o.access[tok]; !ok && isAccess {
		g, ok = at.grant, true
	}
	// RFC 7009: an unknown token is not an error.
	if ok {
		g.revoked = true
		o.retire(g)
		delete(o.refresh, g.refresh)
	}
	w.WriteHeader(http.StatusOK)
}

// authenticate checks a bearer token. On success it also retires the grant's rotated-out
// refresh tokens, since this is the first use of the grant's new access token.
func (o *oauthServer) authenticate(r *http.Request) (tokenInfo, string, bool) {
	const notVerified = "Access token could not be verified"
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return tokenInfo{}, "Missing \"Bearer\" token", false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.access[strings.TrimSpace(tok)]
	switch {
	case !ok:
		return tokenInfo{}, notVerified, false
	case at.grant.revoked:
		return tokenInfo{}, "Access token has been revoked", false
	case !o.clock.Now().Before(at.exp):
		return tokenInfo{}, notVerified, false
	}
	g := at.grant
	o.retire(g)
	return tokenInfo{accountID: g.accountIDs[0], accountIDs: g.accountIDs, grantID: g.id, clientID: g.clientID, scope: g.scope}, "", true
}

// joinIDs writes ids comma-separated.
func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func (o *oauthServer) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := o.key.PublicKey
	enc := base64.RawURLEncoding
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": o.kid,
		"n": enc.EncodeToString(pub.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// unauthorized writes the documented 401 body.
func unauthorized(w http.ResponseWriter, hint string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	oauthError(w, http.StatusUnauthorized, "access_denied", "The resource owner or authorization server denied the request.", hint)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
