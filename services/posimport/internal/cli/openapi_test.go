package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

// restCheck calls posimport up's REST API and validates every answer against the OpenAPI
// document up serves, with kin-openapi (the Swagger 2.0 document converted to OpenAPI 3): the
// status must be one the operation lists, the body must match its schema (a null where the
// schema says string fails), and every member of an object must be one the schema names.
type restCheck struct {
	base   string
	doc    *openapi3.T
	router routers.Router
	// answered are the operations ("GET /v1/...") answered 2xx.
	answered map[string]bool
}

func newRESTCheck(t *testing.T, b *upBundle) *restCheck {
	t.Helper()
	resp, err := http.Get(b.restBase + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}

	// The served document is allinone.OpenAPI's (what "posimport openapi" prints and make lint
	// checks), with the host it was asked at.
	var served, offline map[string]any
	want, err := allinone.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &offline); err != nil {
		t.Fatal(err)
	}
	if host := strings.TrimPrefix(b.restBase, "http://"); served["host"] != host {
		t.Errorf("served host %v, want %s", served["host"], host)
	}
	delete(served, "host")
	if diff := cmp.Diff(offline, served); diff != "" {
		t.Errorf("served document differs from allinone.OpenAPI (-want +got):\n%s", diff)
	}

	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc2.SecurityDefinitions["bearer"]; !ok || len(doc2.Security) != 1 || doc2.BasePath != "/" {
		t.Errorf("security definitions %v, security %v, basePath %q: want the bearer scheme required everywhere under /",
			doc2.SecurityDefinitions, doc2.Security, doc2.BasePath)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the served document is not valid: %v", err)
	}
	// Without schemes, Swagger 2.0 means the scheme the document was read with.
	doc.Servers = openapi3.Servers{{URL: b.restBase + "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &restCheck{base: b.restBase, doc: doc, router: router, answered: map[string]bool{}}
}

// call sends method path with body (marshalled to JSON unless nil) and token ("" sends none),
// checks the answer against the document, and returns its status and decoded body.
func (c *restCheck) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var reqBody []byte
	if body != nil {
		var err error
		if reqBody, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(respBody, &decoded); err != nil {
		t.Errorf("%s %s: %d answer is not a JSON object: %v\n%s", method, path, resp.StatusCode, err, respBody)
	}

	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: no operation of the document: %v", method, path, err)
		return resp.StatusCode, decoded
	}
	op := method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if resp.StatusCode/100 == 2 {
		c.answered[op] = true
		// A request the server accepted must be one the document allows, or a client
		// generated from it could not send it.
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s: the document refuses the request the server accepted: %v\n%s", op, err, reqBody)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("%s answered %d, which the document does not allow: %v\n%s", op, resp.StatusCode, err, respBody)
	}
	if r := route.Operation.Responses.Status(resp.StatusCode); r != nil && r.Value != nil {
		if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			var v any
			_ = json.Unmarshal(respBody, &v)
			for _, extra := range undocumented(v, mt.Schema.Value, "") {
				t.Errorf("%s answered %d with %s, which its schema does not name\n%s", op, resp.StatusCode, extra, respBody)
			}
		}
	}
	return resp.StatusCode, decoded
}

// undocumented lists the members of v's objects that schema does not name, where it names its
// properties and does not allow others.
func undocumented(v any, schema *openapi3.Schema, at string) []string {
	if schema == nil {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case map[string]any:
		open := schema.AdditionalProperties.Has != nil && *schema.AdditionalProperties.Has
		for k, m := range x {
			p := schema.Properties[k]
			if p == nil {
				if !open && len(schema.Properties) > 0 {
					out = append(out, at+"."+k)
				}
				continue
			}
			out = append(out, undocumented(m, p.Value, at+"."+k)...)
		}
	case []any:
		if schema.Items != nil {
			for i, m := range x {
				out = append(out, undocumented(m, schema.Items.Value, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

// expect calls and fails the test unless the answer has status want.
func (c *restCheck) expect(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	got, resp := c.call(t, method, path, token, body)
	if got != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, got, want, resp)
	}
	return resp
}

// TestRESTAnswersMatchOpenAPI drives every REST route of posimport up as the main app would,
// with the tokens it would send (a supervisor's, an integration contact's), through a client's
// whole life: settings, departments, fields, consent, enabling, an import, the balance read,
// approved and reopened, and the clean-up; then the refusals (400 with and without a field,
// 401, 403, 404). Every answer must be one the served OpenAPI document allows, and every
// operation of the document must have been answered 2xx at least once.
func TestRESTAnswersMatchOpenAPI(t *testing.T) {
	t.Parallel()
	b := startUp(t)
	acct := simShops(t, b.simURL)
	c := newRESTCheck(t, b)
	token := func(client, role string) string {
		return strings.TrimSpace(b.must(t, "token", "--client", client, "--role", role))
	}
	sup, contact, viewer := token("acme", "supervisor"), token("acme", "integration_contact"), token("acme", "viewer")
	const v1 = "/v1/clients/acme"
	shop := acct.Shops[0]
	var regs []string
	for _, r := range shop.Registers {
		regs = append(regs, strconv.FormatInt(r.ID, 10))
	}

	// Configuration.
	c.expect(t, 200, "GET", v1+"/settings", viewer, nil) // never set: the defaults
	c.expect(t, 200, "PUT", v1+"/settings", sup, map[string]any{"multi_cash_registers": true, "pos_import_enabled": true,
		"pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL", "auto_confirm_weekly_balance": true, "confirm_time": "05:00",
		"time_zone": "Europe/Copenhagen"})
	c.expect(t, 200, "PUT", v1+"/departments/d1", sup, map[string]any{"name": "Vesterbro",
		"pos_client_number": strconv.FormatInt(shop.ID, 10), "pos_terminal_numbers": regs, "time_zone": shop.TimeZone})
	c.expect(t, 200, "PUT", v1+"/departments/d9", sup, map[string]any{"name": "Closed"})
	c.expect(t, 200, "GET", v1+"/departments/d1", viewer, nil)
	c.expect(t, 200, "GET", v1+"/departments", viewer, nil)
	c.expect(t, 200, "PUT", v1+"/fields/5266", sup, map[string]any{"name": "Gross sales", "pos_data_type": "POS_DATA_TYPE_GROSS_SALES",
		"split_into_intervals": true})
	c.expect(t, 200, "PUT", v1+"/fields/5268", sup, map[string]any{"name": "Discounts", "pos_data_type": "POS_DATA_TYPE_DISCOUNTS"})
	c.expect(t, 200, "PUT", v1+"/fields/9000", sup, map[string]any{"name": "Kept by hand"})
	c.expect(t, 200, "GET", v1+"/fields", viewer, nil)
	c.expect(t, 200, "GET", v1+"/config", viewer, nil)
	c.expect(t, 200, "GET", "/v1/clients", sup, nil)

	// Consent and enabling: the connection before consent has no times at all.
	if conn := c.expect(t, 200, "GET", v1+"/connection", viewer, nil)["connection"].(map[string]any); conn["consent_time"] != nil {
		t.Errorf("connection before consent: %v", conn)
	}
	begin := c.expect(t, 200, "POST", v1+"/connection:begin", sup, map[string]any{})
	if err := followConsent(context.Background(), &globals{stdout: io.Discard, stderr: io.Discard}, begin["authorize_url"].(string)); err != nil {
		t.Fatal(err)
	}
	c.expect(t, 200, "POST", v1+"/connection:setEnabled", contact, map[string]any{"enabled": true})
	c.expect(t, 200, "GET", v1+"/connection", viewer, nil)

	// An import, followed to its end.
	until := civil.Today(time.Now(), time.UTC).AddDays(-2)
	from := until.AddDays(-6)
	imp := c.expect(t, 200, "POST", v1+"/imports", sup, map[string]any{"department_ids": []string{"d1"},
		"from_date": from.String(), "until_date": until.String()})["import"].(map[string]any)
	id := imp["import_id"].(string)
	waitSucceeded(t, c, v1, sup, imp)
	c.expect(t, 200, "GET", v1+"/imports?page_size=5", sup, nil)
	c.expect(t, 200, "POST", v1+"/imports/"+id+":cancel", sup, map[string]any{})

	// The balance, approved and reopened.
	day := until.AddDays(-1)
	c.expect(t, 200, "GET", v1+"/departments/d1/weeks/"+civil.WeekOf(day).String(), viewer, nil)
	c.expect(t, 200, "GET", v1+"/departments/d1/days/"+day.String(), viewer, nil)
	c.expect(t, 200, "POST", v1+"/departments/d1/days:approve", sup, map[string]any{"from_date": day.String(), "until_date": day.String()})
	if d := c.expect(t, 200, "GET", v1+"/departments/d1/days/"+day.String(), viewer, nil)["day"].(map[string]any); d["approve_time"] == nil {
		t.Errorf("approved day without an approve_time: %v", d)
	}
	c.expect(t, 200, "POST", v1+"/departments/d1/days:reopen", sup, map[string]any{"from_date": day.String(), "until_date": day.String()})

	// Corrections: two approved days get a late sale each upstream; an import without
	// overwrite leaves them as they are and records a correction on each; one is applied, the
	// other dismissed, and the audit lists both.
	first, second := from, from.AddDays(1)
	c.expect(t, 200, "POST", v1+"/departments/d1/days:approve", sup, map[string]any{"from_date": first.String(), "until_date": second.String()})
	zone, err := time.LoadLocation(shop.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []civil.Date{first, second} {
		addSimSale(t, b.simURL, acct.ID, sim.SaleInput{ShopID: shop.ID, RegisterID: shop.Registers[0].ID,
			CompleteTime: time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, zone), Completed: true,
			Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(2), UnitPrice: decimal.RequireFromString("9.50")}}})
	}
	again := c.expect(t, 200, "POST", v1+"/imports", sup, map[string]any{"department_ids": []string{"d1"},
		"from_date": first.String(), "until_date": second.String()})["import"].(map[string]any)
	waitSucceeded(t, c, v1, sup, again)
	listed := c.expect(t, 200, "GET", v1+"/corrections?state=CORRECTION_STATE_PENDING&department_id=d1", viewer, nil)["corrections"].([]any)
	if len(listed) != 2 {
		t.Fatalf("pending corrections after the late sales: %v", listed)
	}
	apply, dismiss := listed[0].(map[string]any)["correction_id"].(string), listed[1].(map[string]any)["correction_id"].(string)
	c.expect(t, 200, "POST", v1+"/corrections/"+apply+":apply", sup, map[string]any{})
	c.expect(t, 200, "POST", v1+"/corrections/"+dismiss+":dismiss", sup, map[string]any{})
	if records := c.expect(t, 200, "GET", v1+"/audit?page_size=10", viewer, nil)["records"].([]any); len(records) != 2 {
		t.Errorf("audit after apply and dismiss: %v", records)
	}
	c.expect(t, 400, "POST", v1+"/corrections/"+apply+":dismiss", sup, map[string]any{})

	// Refusals.
	bad := c.expect(t, 400, "PUT", v1+"/settings", sup, map[string]any{"time_zone": "Mars/Olympus"})
	if got := fieldViolation(bad); got != "settings.time_zone" {
		t.Errorf("400 names field %q, want settings.time_zone: %v", got, bad)
	}
	c.expect(t, 400, "GET", v1+"/departments/d1/weeks/2026-13", viewer, nil)
	c.expect(t, 200, "PUT", "/v1/clients/beta/settings", token("beta", "supervisor"), map[string]any{"multi_cash_registers": true,
		"pos_import_enabled": true, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL"})
	c.expect(t, 200, "PUT", "/v1/clients/beta/departments/d1", token("beta", "supervisor"), map[string]any{"name": "Beta",
		"pos_client_number": strconv.FormatInt(shop.ID, 10)})
	if st := c.expect(t, 400, "POST", "/v1/clients/beta/imports", token("beta", "supervisor"), map[string]any{"department_ids": []string{"d1"},
		"from_date": from.String(), "until_date": until.String()}); st["code"] != 9.0 {
		t.Errorf("import of a client not connected: %v, want FAILED_PRECONDITION (9)", st)
	}
	c.expect(t, 401, "GET", v1+"/settings", "", nil)
	c.expect(t, 401, "GET", v1+"/settings", "not-a-jwt", nil)
	c.expect(t, 403, "GET", v1+"/settings", token("other", "supervisor"), nil)
	c.expect(t, 403, "PUT", v1+"/fields/5266", viewer, map[string]any{"name": "x"})
	c.expect(t, 404, "GET", v1+"/departments/nope", viewer, nil)
	c.expect(t, 404, "GET", v1+"/imports/00000000-0000-0000-0000-000000000000", sup, nil)

	// The clean-up.
	c.expect(t, 200, "POST", v1+"/connection:disconnect", sup, map[string]any{})
	c.expect(t, 200, "DELETE", v1+"/fields/9000", sup, nil)
	c.expect(t, 200, "DELETE", v1+"/departments/d9", sup, nil)

	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if op := method + " " + path; !c.answered[op] {
				missing = append(missing, op)
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("operations of the document never answered 2xx: %v", missing)
	}
	t.Logf("%d operations answered 2xx", len(c.answered))
}

// waitSucceeded polls an import until it succeeded, failing the test when it fails or takes
// more than two minutes.
func waitSucceeded(t *testing.T, c *restCheck, v1, token string, imp map[string]any) {
	t.Helper()
	id := imp["import_id"].(string)
	deadline := time.Now().Add(2 * time.Minute)
	for state := imp["state"]; state != "IMPORT_STATE_SUCCEEDED"; {
		if time.Now().After(deadline) || state == "IMPORT_STATE_FAILED" {
			t.Fatalf("import %s: %v", id, state)
		}
		time.Sleep(100 * time.Millisecond)
		state = c.expect(t, 200, "GET", v1+"/imports/"+id, token, nil)["import"].(map[string]any)["state"]
	}
}

// addSimSale adds a sale to the simulated account through the simulator's admin API: a late
// sale upstream.
func addSimSale(t *testing.T, simURL string, account int64, in sim.SaleInput) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(fmt.Sprintf("%s/admin/accounts/%d/sales", simURL, account), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add sale: HTTP %d", resp.StatusCode)
	}
}

// fieldViolation returns the first field a 400's BadRequest detail names.
func fieldViolation(status map[string]any) string {
	details, _ := status["details"].([]any)
	for _, d := range details {
		br, _ := d.(map[string]any)
		fvs, _ := br["field_violations"].([]any)
		for _, fv := range fvs {
			if m, ok := fv.(map[string]any); ok {
				return fmt.Sprint(m["field"])
			}
		}
	}
	return ""
}
