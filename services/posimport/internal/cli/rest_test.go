package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

// bodyRoute is a REST route that takes a body.
type bodyRoute struct {
	rpc, method, path string
	// field is the request field the body fills ("body" when it is the whole request).
	field string
}

// bodyRoutes reads every REST route with a body from the services' HTTP annotations, so a
// route added later is covered without touching the test.
func bodyRoutes(t *testing.T) []bodyRoute {
	t.Helper()
	var out []bodyRoute
	for _, sd := range allinone.Services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(sd.ServiceName))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule.GetBody() == "" {
				continue
			}
			r := bodyRoute{rpc: "/" + sd.ServiceName + "/" + string(m.Name()), field: rule.GetBody()}
			if r.field == "*" {
				r.field = "body"
			}
			switch {
			case rule.GetPost() != "":
				r.method, r.path = http.MethodPost, rule.GetPost()
			case rule.GetPut() != "":
				r.method, r.path = http.MethodPut, rule.GetPut()
			case rule.GetPatch() != "":
				r.method, r.path = http.MethodPatch, rule.GetPatch()
			default:
				t.Fatalf("%s: a body on %v", r.rpc, rule)
			}
			out = append(out, r)
		}
	}
	return out
}

var pathVariable = regexp.MustCompile(`\{(\w+)\}`)

// restCall sends a REST request to the bundle's posimport and returns its status and body.
func (b *upBundle) restCall(t *testing.T, method, path, token string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.restBase+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// fieldOf returns the message and the field named by an error answer.
func fieldOf(t *testing.T, raw []byte) (message, field string) {
	t.Helper()
	var e struct {
		Message string `json:"message"`
		Details []struct {
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"field_violations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error answer %s: %v", raw, err)
	}
	for _, d := range e.Details {
		for _, fv := range d.FieldViolations {
			return e.Message, fv.Field
		}
	}
	return e.Message, ""
}

// TestRESTRefusesWhatGRPCRefuses: over the REST API of posimport up, every route that takes a
// body refuses an empty one with 400 naming the field gRPC would name (the body's field, or
// "body" for a whole-request body), as gRPC refuses a request without its required message —
// an empty PUT of the settings used to reset them — and out-of-range dates and oversized
// bodies are refused without echoing them. Nothing is written.
func TestRESTRefusesWhatGRPCRefuses(t *testing.T) {
	t.Parallel()
	b := startUp(t)
	acct := simShops(t, b.simURL)
	configureClient(t, b, "acme", acct)
	b.must(t, "auth", "connect", "--client", "acme", "--follow")
	b.must(t, "auth", "enable", "--client", "acme")
	snapshot := b.snapshotter(t)
	before := snapshot()

	values := map[string]string{"client_id": "acme", "department_id": "d1", "field_id": "5001", "import_id": "7d3c1c1e-3b0e-4d8f-9a52-0c1f3f5f2a11",
		"correction_id": "0b6c5d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"}
	routes := bodyRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("found %d REST routes with a body: %v", len(routes), routes)
	}
	for _, r := range routes {
		path := pathVariable.ReplaceAllStringFunc(r.path, func(v string) string {
			val, ok := values[strings.Trim(v, "{}")]
			if !ok {
				t.Fatalf("%s: no test value for %s", r.rpc, v)
			}
			return val
		})
		rule := allinone.Policy[r.rpc]
		if len(rule.Roles) == 0 {
			t.Fatalf("%s: a REST route no person may call", r.rpc)
		}
		token := strings.TrimSpace(b.must(t, "token", "--client", "acme", "--role", string(rule.Roles[0])))
		for _, body := range []string{"", "null"} {
			status, raw := b.restCall(t, r.method, path, token, strings.NewReader(body))
			msg, field := fieldOf(t, raw)
			if status != http.StatusBadRequest || field != r.field || !strings.Contains(msg, "required") {
				t.Errorf("%s %s with body %q: %d %s, want 400 naming %q", r.method, path, body, status, raw, r.field)
			}
		}
	}

	supervisor := strings.TrimSpace(b.must(t, "token", "--client", "acme"))
	approve := "/v1/clients/acme/departments/d1/days:approve"
	for _, tc := range []struct {
		name, path, body string
		wantStatus       int
		wantField        string
	}{
		{name: "20 MB date", path: approve, body: `{"from_date": "` + strings.Repeat("2", 20<<20) + `", "until_date": "2026-01-01"}`, wantStatus: 413, wantField: "body"},
		{name: "1 KB date", path: approve, body: `{"from_date": "` + strings.Repeat("2", 1<<10) + `", "until_date": "2026-01-01"}`, wantStatus: 400, wantField: "from_date"},
		{name: "year 0001", path: approve, body: `{"from_date": "0001-01-01", "until_date": "2026-01-01"}`, wantStatus: 400, wantField: "from_date"},
		{name: "year 9999", path: approve, body: `{"from_date": "2026-01-01", "until_date": "9999-12-31"}`, wantStatus: 400, wantField: "until_date"},
		{name: "import from year 0001", path: "/v1/clients/acme/imports", body: `{"department_ids": ["d1"], "from_date": "0001-01-01", "until_date": "0001-01-07"}`,
			wantStatus: 400, wantField: "from_date"},
		{name: "zone Factory", path: "/v1/clients/acme/departments/d1", body: `{"name": "Vesterbro", "time_zone": "Factory"}`, wantStatus: 400, wantField: "department.time_zone"},
	} {
		method := http.MethodPost
		if strings.Contains(tc.path, "/departments/d1") && !strings.Contains(tc.path, "days:") {
			method = http.MethodPut
		}
		status, raw := b.restCall(t, method, tc.path, supervisor, strings.NewReader(tc.body))
		if _, field := fieldOf(t, raw); status != tc.wantStatus || field != tc.wantField {
			t.Errorf("%s: %d %.300s, want %d naming %q", tc.name, status, raw, tc.wantStatus, tc.wantField)
		}
		if len(raw) > 2<<10 {
			t.Errorf("%s: the refusal is %d bytes long", tc.name, len(raw))
		}
	}
	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Errorf("refused requests changed the database (-before +after):\n%s", diff)
	}
}
