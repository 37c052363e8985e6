package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
)

func TestAdminSales(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env).AccessToken
	body := `{"registerID":1,"completed":true,"completeTime":"2025-06-01T10:00:00Z","discountPercent":"0.1",
		"lines":[{"unitQuantity":"2","unitPrice":"45","discountAmount":"45","tax1Rate":"0.05"}]}`
	r := do(t, env, http.MethodPost, "/admin/accounts/100001/sales", "", strings.NewReader(body), "application/json")
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	line := r.body["lines"].([]any)[0].(map[string]any)
	// Shop 1 is Copenhagen, 25 % VAT: (90 − 45 − 4.5) × 1.25 = 50.625.
	if line["calcSubtotal"] != "90" || line["calcLineDiscount"] != "45" || line["calcTransactionDiscount"] != "4.5" || line["calcTotal"] != "50.625" {
		t.Errorf("computed line %v", line)
	}
	api := get(t, env, accountPath+"Sale/1.json?load_relations="+`%5B%22SaleLines%22%5D`, tok)
	sale := api.body["Sale"].(map[string]any)
	if sale["calcTotal"] != "50.625" || sale["calcDiscount"] != "49.5" || sale["SaleLines"].(map[string]any)["SaleLine"].(map[string]any)["calcTotal"] != "50.625" {
		t.Errorf("API sale %s", api.raw)
	}
	env.Clock.Advance(48 * time.Hour)
	ch := do(t, env, http.MethodPatch, "/admin/accounts/100001/sales/1", "", strings.NewReader(`{"voided":true,"completeTime":"2025-06-01T11:00:00Z"}`), "application/json")
	if ch.status != 200 || ch.body["voided"] != true || ch.body["completeTime"] != "2025-06-01T11:00:00Z" || ch.body["timeStamp"] != "2026-01-03T00:00:00Z" {
		t.Errorf("change: %d %s", ch.status, ch.raw)
	}
	list := do(t, env, http.MethodGet, "/admin/accounts/100001/sales?registerID=1&from=2025-06-01T00:00:00Z&until=2025-06-02T00:00:00Z", "", nil, "")
	var sales []sim.Sale
	if err := json.Unmarshal([]byte(list.raw), &sales); err != nil || len(sales) != 1 || !sales[0].Voided {
		t.Errorf("list: %v %s", err, list.raw)
	}
	for _, bad := range []struct{ path, body string }{
		{"/admin/accounts/100001/sales", `{"registerID":9,"completed":true,"completeTime":"2025-06-01T10:00:00Z"}`},
		{"/admin/accounts/100001/sales", `{"registerID":1,"completed":true}`},
		{"/admin/accounts/5/sales", `{"registerID":1}`},
	} {
		if r := do(t, env, http.MethodPost, bad.path, "", strings.NewReader(bad.body), "application/json"); r.status < 400 {
			t.Errorf("bad sale %s accepted: %s", bad.body, r.raw)
		}
	}
	for _, c := range env.Sim.RequestCounts() {
		if strings.Contains(c.Endpoint, "/admin/") {
			t.Errorf("admin request counted: %+v", c)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault string
		check func(t *testing.T, resp *http.Response, err error)
	}{
		{name: "5xx", fault: `{"kind":"status","status":502,"endpoint":"Shop.json","count":1}`,
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != http.StatusBadGateway {
					t.Errorf("got %v %v, want 502", resp, err)
				}
			}},
		{name: "429 storm", fault: `{"kind":"ratelimit","retryAfter":7,"count":1}`,
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" || resp.Header.Get("X-LS-API-RateLimit-Type") == "" {
					t.Errorf("got %v %v, want 429 with Retry-After 7", resp, err)
				}
			}},
		{name: "429 with an HTTP date", fault: `{"kind":"ratelimit","retryAfter":7,"retryAfterDate":true,"count":1}`,
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if _, perr := http.ParseTime(resp.Header.Get("Retry-After")); perr != nil {
					t.Errorf("Retry-After %q is not a date", resp.Header.Get("Retry-After"))
				}
			}},
		{name: "reset", fault: `{"kind":"reset","count":1}`,
			check: func(t *testing.T, _ *http.Response, err error) {
				if err == nil {
					t.Error("a reset connection gave a response")
				}
			}},
		{name: "malformed", fault: `{"kind":"malformed","count":1}`,
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				var v any
				if json.Unmarshal(b, &v) == nil {
					t.Errorf("body %q is valid JSON", b)
				}
			}},
		{name: "slow", fault: `{"kind":"slow","delay":"2s","count":1}`,
			check: func(t *testing.T, _ *http.Response, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want the client's deadline", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := start(t, sim.Options{})
			tok := token(t, env).AccessToken
			if r := do(t, env, http.MethodPost, "/admin/faults", "", strings.NewReader(tc.fault), "application/json"); r.status != 201 {
				t.Fatalf("inject: %d %s", r.status, r.raw)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+accountPath+"Shop.json", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			// A fresh connection: net/http silently retries a GET whose reused connection
			// dies before answering, which would hide the reset.
			fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := fresh.Do(req)
			tc.check(t, resp, err)
			if resp != nil {
				resp.Body.Close()
			}
			// A fault with a count wears off.
			if r := get(t, env, accountPath+"Shop.json", tok); r.status != 200 {
				t.Errorf("after the fault: %d %s", r.status, r.raw)
			}
			if c := env.Sim.Requests("GET /API/V3/Account/{id}/Shop.json"); c.Faults != 1 || c.Requests != 2 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

func TestFaultAdmin(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	if r := do(t, env, http.MethodPost, "/admin/faults", "", strings.NewReader(`{"kind":"explode"}`), "application/json"); r.status != 400 {
		t.Errorf("unknown kind: %d", r.status)
	}
	do(t, env, http.MethodPost, "/admin/faults", "", strings.NewReader(`{"kind":"status","endpoint":"/auth/oauth/token"}`), "application/json")
	var faults []sim.Fault
	_ = json.Unmarshal([]byte(get(t, env, "/admin/faults", "").raw), &faults)
	if diff := cmp.Diff([]sim.Fault{{Kind: sim.FaultStatus, Endpoint: "/auth/oauth/token"}}, faults); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
	// Without a count the fault stays until cleared.
	for range 2 {
		if r := postForm(t, env, "/auth/oauth/token", refreshForm(env, "x")); r.status != 503 {
			t.Errorf("token endpoint: %d, want 503", r.status)
		}
	}
	do(t, env, http.MethodDelete, "/admin/faults", "", nil, "")
	if r := postForm(t, env, "/auth/oauth/token", refreshForm(env, "x")); r.status != 400 {
		t.Errorf("after clearing: %d", r.status)
	}
	var counts []sim.EndpointCount
	_ = json.Unmarshal([]byte(get(t, env, "/admin/stats", "").raw), &counts)
	want := []sim.EndpointCount{{Endpoint: "POST /auth/oauth/token", Requests: 3, Faults: 2}}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	do(t, env, http.MethodDelete, "/admin/stats", "", nil, "")
	if got := env.Sim.RequestCounts(); len(got) != 0 {
		t.Errorf("after reset: %v", got)
	}
}
