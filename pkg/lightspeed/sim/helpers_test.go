package sim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, env *simtest.Env, method, path, token string, body io.Reader, contentType string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if basic, ok := strings.CutPrefix(token, "Basic "); ok {
		req.Header.Set("Authorization", "Basic "+basic)
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := env.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

func get(t *testing.T, env *simtest.Env, path, token string) response {
	t.Helper()
	return do(t, env, http.MethodGet, path, token, nil, "")
}

// postForm posts a form to the token or revoke endpoint.
func postForm(t *testing.T, env *simtest.Env, path string, v url.Values) response {
	t.Helper()
	return do(t, env, http.MethodPost, path, "", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// postBasic posts a form to the token or revoke endpoint with the default client's credentials
// as HTTP Basic authentication, as K-Series requires.
func postBasic(t *testing.T, env *simtest.Env, path string, v url.Values) response {
	t.Helper()
	return do(t, env, http.MethodPost, path, basicAuth(sim.DefaultClientID, sim.DefaultClientSecret), strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// basicAuth is an Authorization value for do: HTTP Basic of the form-encoded id and secret.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// start runs a simulator with auto-consent and one account.
func start(t *testing.T, opts sim.Options) *simtest.Env {
	t.Helper()
	opts.AutoConsent = true
	return simtest.Start(t, opts)
}

func token(t *testing.T, env *simtest.Env) *oauth2.Token {
	t.Helper()
	return env.Token(t, 0)
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
