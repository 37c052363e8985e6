package sim_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
)

// xls returns the X-LS-* headers a test cares about.
func xls(r response) map[string]string {
	return map[string]string{
		"bucket": r.header.Get("X-LS-API-Bucket-Level"),
		"burst":  r.header.Get("X-LS-API-Burst-Level"),
		"drip":   r.header.Get("X-LS-API-Drip-Rate"),
		"cost":   r.header.Get("X-LS-API-Request-Cost"),
		"type":   r.header.Get("X-LS-API-RateLimit-Type"),
		"retry":  r.header.Get("Retry-After"),
	}
}

func TestHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env).AccessToken
	for _, path := range []string{"/API/V3/Account.json", accountPath + "Shop.json", accountPath + "Register.json",
		accountPath + "Sale.json", accountPath + "Sale.json?sort=bad", accountPath + "Sale/1.json"} {
		r := get(t, env, path, tok)
		for _, h := range []string{"X-LS-Acct-Id", "X-LS-OAuth-Client-Id", "X-LS-API-Bucket-Level", "X-LS-API-Burst-Level",
			"X-LS-API-Drip-Rate", "X-LS-API-Request-Cost", "Cf-Ray"} {
			if r.header.Get(h) == "" {
				t.Errorf("%s (%d): no %s", path, r.status, h)
			}
		}
		if r.header.Get("X-LS-Acct-Id") != "100001" || r.header.Get("X-LS-Oauth-Client-Id") != sim.DefaultClientID {
			t.Errorf("%s: account/client headers %v", path, r.header)
		}
	}
}

func TestLeakyBucket(t *testing.T) {
	t.Parallel()
	// The burst limiter is widened so that only the bucket speaks.
	env := start(t, sim.Options{RateLimit: sim.RateLimitOptions{Burst: 1000}})
	tok := token(t, env).AccessToken
	path := accountPath + "Shop.json"
	for i := 1; i <= 85; i++ {
		if r := get(t, env, path, tok); r.status != 200 || r.header.Get("X-LS-API-Bucket-Level") != strconv.Itoa(i)+"/90" {
			t.Fatalf("request %d: %d, bucket %s", i, r.status, r.header.Get("X-LS-API-Bucket-Level"))
		}
	}
	// A count costs 10: at 85 it overflows to 95, and as the first overflowing request it is
	// allowed.
	if r := get(t, env, accountPath+"Sale.json?count=1", tok); r.status != 200 || r.header.Get("X-LS-API-Bucket-Level") != "95/90" {
		t.Fatalf("first overflowing request: %d %v", r.status, xls(r))
	}
	r := get(t, env, path, tok)
	want := map[string]string{"bucket": "95/90", "burst": "87/1000", "drip": "1", "cost": "1", "type": "api-leaky-bucket", "retry": "6"}
	if diff := cmp.Diff(want, xls(r)); diff != "" || r.status != 429 {
		t.Errorf("429 %d headers (-want +got):\n%s", r.status, diff)
	}
	if r.body["httpCode"] != "429" {
		t.Errorf("429 body %s", r.raw)
	}
	// Fractional leaking: 5.5 s later the level is 89.5, below the size again.
	env.Clock.Advance(5500 * time.Millisecond)
	if r := get(t, env, path, tok); r.status != 200 || r.header.Get("X-LS-API-Bucket-Level") != "90.5/90" {
		t.Errorf("after 5.5 s: %d %v", r.status, xls(r))
	}
	// Another OAuth client of the same account has its own bucket.
	if got := env.Sim.Requests("GET /API/V3/Account/{id}/Shop.json"); got.RateLimited != 1 || got.Requests != 87 {
		t.Errorf("request counts %+v", got)
	}
}

func TestBucketPerClient(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Clients: []sim.Client{{ID: "a", Secret: "sa"}, {ID: "b", Secret: "sb"}},
		RateLimit: sim.RateLimitOptions{BucketSize: 5, Burst: 100}})
	tokA := token(t, env).AccessToken
	env.OAuth.ClientID, env.OAuth.ClientSecret = "b", "sb"
	tokB := token(t, env).AccessToken
	for range 5 {
		get(t, env, accountPath+"Shop.json", tokA)
	}
	if r := get(t, env, accountPath+"Shop.json", tokA); r.status != 429 {
		t.Errorf("client a: %d, want 429", r.status)
	}
	if r := get(t, env, accountPath+"Shop.json", tokB); r.status != 200 || r.header.Get("X-LS-API-Bucket-Level") != "1/5" {
		t.Errorf("client b: %d %v", r.status, xls(r))
	}
}

func TestBucketSizeByRegisters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		registers int
		scale     float64
		want      map[string]string
	}{
		{name: "one register", registers: 1, want: map[string]string{"bucket": "1/90", "drip": "1", "burst": "1/20"}},
		{name: "three registers", registers: 3, want: map[string]string{"bucket": "1/110", "drip": "2", "burst": "1/24"}},
		{name: "time scale", registers: 1, scale: 100, want: map[string]string{"bucket": "1/90", "drip": "100", "burst": "1/2000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := start(t, sim.Options{Data: sim.DataOptions{RegistersPerShop: tc.registers}, RateLimit: sim.RateLimitOptions{TimeScale: tc.scale}})
			r := get(t, env, accountPath+"Shop.json", token(t, env).AccessToken)
			got := xls(r)
			got = map[string]string{"bucket": got["bucket"], "drip": got["drip"], "burst": got["burst"]}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimeScaleLeaksFaster(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{RateLimit: sim.RateLimitOptions{TimeScale: 10, Burst: 1000}})
	tok := token(t, env).AccessToken
	for range 20 {
		get(t, env, accountPath+"Shop.json", tok)
	}
	env.Clock.Advance(time.Second) // ten drips at scale 10
	if r := get(t, env, accountPath+"Shop.json", tok); r.header.Get("X-LS-API-Bucket-Level") != "11/90" {
		t.Errorf("bucket %v, want 11/90", xls(r))
	}
}

func TestBurstLimiter(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env).AccessToken
	for i := 1; i <= 20; i++ {
		if r := get(t, env, accountPath+"Shop.json", tok); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := get(t, env, accountPath+"Shop.json?"+url.Values{"x": nil}.Encode(), tok)
	want := map[string]string{"bucket": "20/90", "burst": "21/20", "drip": "1", "cost": "1", "type": "api-burst-limiter", "retry": "1"}
	if diff := cmp.Diff(want, xls(r)); diff != "" || r.status != 429 {
		t.Errorf("burst 429 %d (-want +got):\n%s", r.status, diff)
	}
	if msg, _ := r.body["message"].(string); msg != "burst rate limit exceeded" {
		t.Errorf("message %q", msg)
	}
	env.Clock.Advance(time.Second)
	if r := get(t, env, accountPath+"Shop.json", tok); r.status != 200 || r.header.Get("X-LS-API-Burst-Level") != "1/20" {
		t.Errorf("next window: %d %v", r.status, xls(r))
	}
}
