package configservice_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/config/configservice"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type testBundle struct {
	svc  *servicetest.Running
	pool *pgxpool.Pool
	keys *servicetest.Keys
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	pool := pgtest.MigratedPool(t, pgtest.NewDatabase(t), configservice.Schema, configservice.Migrations(), 4)
	keys := servicetest.NewKeys(t)
	svc := servicetest.Start(t, keys, configservice.Policy, nil, func(s *server.Server) error {
		svc, err := configservice.New(configservice.Config{}, configservice.Deps{Pool: pool, Logger: logging.Discard()})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	return &testBundle{svc: svc, pool: pool, keys: keys}
}

func TestPolicyCoversEveryRPC(t *testing.T) {
	t.Parallel()
	if missing := configservice.Policy.Missing(posimportv1.ConfigService_ServiceDesc); len(missing) > 0 {
		t.Errorf("RPCs without a rule: %v", missing)
	}
}

// TestConfigOverREST creates and reads settings, departments and fields through REST as a
// supervisor of the client, the way the main app's screens do.
func TestConfigOverREST(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")

	// Defaults before anything is saved.
	r := b.svc.Do(t, "GET", "/v1/clients/c1/settings", viewer, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"time_zone":"Europe/Copenhagen"`) ||
		!strings.Contains(string(r.Body), `"confirm_time":"05:00"`) {
		t.Fatalf("defaults: %d %s", r.Status, r.Body)
	}

	r = b.svc.Do(t, "PUT", "/v1/clients/c1/settings", sup, map[string]any{
		"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL",
		"auto_confirm_weekly_balance": true, "confirm_time": "05:30", "time_zone": "Europe/Copenhagen",
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put settings: %d %s", r.Status, r.Body)
	}
	r = b.svc.Do(t, "PUT", "/v1/clients/c1/departments/d1", sup, map[string]any{
		"name": "Nørrebro", "pos_client_number": "1", "pos_terminal_numbers": []string{"11", "12"},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put department: %d %s", r.Status, r.Body)
	}
	r = b.svc.Do(t, "PUT", "/v1/clients/c1/departments/d2", sup, map[string]any{
		"name": "New York", "pos_client_number": "2", "time_zone": "America/New_York",
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put department 2: %d %s", r.Status, r.Body)
	}
	r = b.svc.Do(t, "PUT", "/v1/clients/c1/fields/5266", sup, map[string]any{
		"name": "Gross sales", "pos_data_type": "POS_DATA_TYPE_GROSS_SALES", "split_into_intervals": true,
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put field: %d %s", r.Status, r.Body)
	}

	var cfg struct {
		Settings struct {
			ConfirmTime string `json:"confirm_time"`
			PosProvider string `json:"pos_provider"`
		} `json:"settings"`
		Departments []struct {
			DepartmentID       string   `json:"department_id"`
			PosTerminalNumbers []string `json:"pos_terminal_numbers"`
			EffectiveTimeZone  string   `json:"effective_time_zone"`
		} `json:"departments"`
		Fields []struct {
			FieldID     string `json:"field_id"`
			PosDataType string `json:"pos_data_type"`
			Split       bool   `json:"split_into_intervals"`
		} `json:"fields"`
	}
	r = b.svc.Do(t, "GET", "/v1/clients/c1/config", viewer, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get config: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &cfg)
	if cfg.Settings.ConfirmTime != "05:30" || cfg.Settings.PosProvider != "POS_PROVIDER_LIGHTSPEED_RETAIL" {
		t.Errorf("settings = %+v", cfg.Settings)
	}
	if len(cfg.Departments) != 2 ||
		!slices.Equal(cfg.Departments[0].PosTerminalNumbers, []string{"11", "12"}) ||
		cfg.Departments[0].EffectiveTimeZone != "Europe/Copenhagen" ||
		cfg.Departments[1].EffectiveTimeZone != "America/New_York" {
		t.Errorf("departments = %+v", cfg.Departments)
	}
	if len(cfg.Fields) != 1 || cfg.Fields[0].FieldID != "5266" || cfg.Fields[0].PosDataType != "POS_DATA_TYPE_GROSS_SALES" || !cfg.Fields[0].Split {
		t.Errorf("fields = %+v", cfg.Fields)
	}

	// Replacing a department's registers moves them; the old ones are free again.
	r = b.svc.Do(t, "PUT", "/v1/clients/c1/departments/d1", sup, map[string]any{
		"name": "Nørrebro", "pos_client_number": "1", "pos_terminal_numbers": []string{"13"},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("replace registers: %d %s", r.Status, r.Body)
	}
	r = b.svc.Do(t, "PUT", "/v1/clients/c1/departments/d2", sup, map[string]any{
		"name": "New York", "pos_client_number": "2", "pos_terminal_numbers": []string{"11"},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("reuse freed register: %d %s", r.Status, r.Body)
	}

	// Deletes.
	if r = b.svc.Do(t, "DELETE", "/v1/clients/c1/fields/5266", sup, nil); r.Status != http.StatusOK {
		t.Errorf("delete field: %d %s", r.Status, r.Body)
	}
	if r = b.svc.Do(t, "DELETE", "/v1/clients/c1/fields/5266", sup, nil); r.Status != http.StatusNotFound {
		t.Errorf("delete field twice: %d %s", r.Status, r.Body)
	}
	if r = b.svc.Do(t, "DELETE", "/v1/clients/c1/departments/d2", sup, nil); r.Status != http.StatusOK {
		t.Errorf("delete department: %d %s", r.Status, r.Body)
	}
	if r = b.svc.Do(t, "GET", "/v1/clients/c1/departments/d2", sup, nil); r.Status != http.StatusNotFound {
		t.Errorf("get deleted department: %d %s", r.Status, r.Body)
	}
}

// TestRefusals checks every refusal: the status, the field named for bad input, and that the
// config schema is byte-for-byte unchanged afterwards.
func TestRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	// Existing state the refusals run against.
	for _, step := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/clients/c1/settings", map[string]any{"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": 1}},
		{"/v1/clients/c1/departments/d1", map[string]any{"name": "A", "pos_client_number": "1", "pos_terminal_numbers": []string{"11"}}},
		{"/v1/clients/c1/fields/5266", map[string]any{"name": "Gross", "pos_data_type": "POS_DATA_TYPE_GROSS_SALES"}},
		{"/v1/clients/c2/settings", map[string]any{"time_zone": "UTC"}},
	} {
		tok := sup
		if strings.Contains(step.path, "/c2/") {
			tok = b.keys.Token(t, authn.RoleSupervisor, "c2")
		}
		if r := b.svc.Do(t, "PUT", step.path, tok, step.body); r.Status != http.StatusOK {
			t.Fatalf("setup %s: %d %s", step.path, r.Status, r.Body)
		}
	}
	expired, err := b.keys.App.Sign("u", authn.RoleSupervisor, []string{"c1"}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherKeys := servicetest.NewKeys(t)

	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		wantStatus int
		wantField  string
	}{
		{name: "no token", method: "GET", path: "/v1/clients/c1/settings", wantStatus: 401},
		{name: "garbage token", method: "GET", path: "/v1/clients/c1/settings", token: "abc.def.ghi", wantStatus: 401},
		{name: "expired token", method: "GET", path: "/v1/clients/c1/settings", token: expired, wantStatus: 401},
		{name: "foreign key", method: "GET", path: "/v1/clients/c1/settings", token: otherKeys.Token(t, authn.RoleSupervisor, "c1"), wantStatus: 401},
		{name: "no token write", method: "PUT", path: "/v1/clients/c1/settings", body: map[string]any{"time_zone": "UTC"}, wantStatus: 401},
		{name: "viewer writes settings", method: "PUT", path: "/v1/clients/c1/settings", token: b.keys.Token(t, authn.RoleViewer, "c1"),
			body: map[string]any{"time_zone": "UTC"}, wantStatus: 403},
		{name: "integration contact writes department", method: "PUT", path: "/v1/clients/c1/departments/d9",
			token: b.keys.Token(t, authn.RoleIntegrationContact, "c1"), body: map[string]any{"name": "X"}, wantStatus: 403},
		{name: "other client reads", method: "GET", path: "/v1/clients/c2/settings", token: sup, wantStatus: 403},
		{name: "other client reads config", method: "GET", path: "/v1/clients/c2/config", token: sup, wantStatus: 403},
		{name: "other client writes", method: "PUT", path: "/v1/clients/c2/settings", token: sup, body: map[string]any{"time_zone": "UTC"}, wantStatus: 403},
		{name: "other client deletes", method: "DELETE", path: "/v1/clients/c2/departments/d1", token: sup, wantStatus: 403},
		{name: "all clients for a person", method: "GET", path: "/v1/clients/c1/settings",
			token: b.keys.Forge(t, servicetest.Forgery{Key: "app", Issuer: servicetest.MainAppIssuer, Subject: "u", Role: authn.RoleViewer,
				Clients: []string{authn.AllClients}}), wantStatus: 401},

		{name: "bad time zone", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"time_zone": "Europe/Atlantis"}, wantStatus: 400, wantField: "settings.time_zone"},
		{name: "bad confirm time", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"confirm_time": "25:00"}, wantStatus: 400, wantField: "settings.confirm_time"},
		{name: "import without multi registers", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"pos_import_enabled": true, "pos_provider": 1}, wantStatus: 400, wantField: "settings.multi_cash_registers"},
		{name: "import without provider", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"pos_import_enabled": true, "multi_cash_registers": true}, wantStatus: 400, wantField: "settings.pos_provider"},
		{name: "intraday refresh every 14 minutes", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"intraday_refresh_minutes": 14}, wantStatus: 400, wantField: "settings.intraday_refresh_minutes"},
		{name: "intraday refresh every 241 minutes", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"intraday_refresh_minutes": 241}, wantStatus: 400, wantField: "settings.intraday_refresh_minutes"},
		{name: "negative intraday refresh", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"intraday_refresh_minutes": -15}, wantStatus: 400, wantField: "settings.intraday_refresh_minutes"},
		{name: "unknown provider", method: "PUT", path: "/v1/clients/c1/settings", token: sup,
			body: map[string]any{"pos_provider": 99}, wantStatus: 400, wantField: "settings.pos_provider"},
		{name: "department name missing", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body: map[string]any{"pos_client_number": "2"}, wantStatus: 400, wantField: "department.name"},
		{name: "department bad client number", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body: map[string]any{"name": "B", "pos_client_number": "shop-2"}, wantStatus: 400, wantField: "department.pos_client_number"},
		{name: "terminals without client number", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body: map[string]any{"name": "B", "pos_terminal_numbers": []string{"21"}}, wantStatus: 400, wantField: "department.pos_client_number"},
		{name: "register of another department", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body:       map[string]any{"name": "B", "pos_client_number": "2", "pos_terminal_numbers": []string{"21", "11"}},
			wantStatus: 400, wantField: "department.pos_terminal_numbers"},
		{name: "register twice", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body:       map[string]any{"name": "B", "pos_client_number": "2", "pos_terminal_numbers": []string{"21", "21"}},
			wantStatus: 400, wantField: "department.pos_terminal_numbers[1]"},
		{name: "bad register id", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body:       map[string]any{"name": "B", "pos_client_number": "2", "pos_terminal_numbers": []string{"x"}},
			wantStatus: 400, wantField: "department.pos_terminal_numbers[0]"},
		{name: "department bad time zone", method: "PUT", path: "/v1/clients/c1/departments/d2", token: sup,
			body: map[string]any{"name": "B", "time_zone": "Local"}, wantStatus: 400, wantField: "department.time_zone"},
		{name: "bad department id", method: "PUT", path: "/v1/clients/c1/departments/d%20x", token: sup,
			body: map[string]any{"name": "B"}, wantStatus: 400, wantField: "department_id"},
		{name: "type on two fields", method: "PUT", path: "/v1/clients/c1/fields/5267", token: sup,
			body: map[string]any{"name": "Gross 2", "pos_data_type": "POS_DATA_TYPE_GROSS_SALES"}, wantStatus: 400, wantField: "field.pos_data_type"},
		{name: "field name missing", method: "PUT", path: "/v1/clients/c1/fields/5267", token: sup,
			body: map[string]any{"pos_data_type": "POS_DATA_TYPE_NET_SALES"}, wantStatus: 400, wantField: "field.name"},
		{name: "field id zero", method: "PUT", path: "/v1/clients/c1/fields/0", token: sup,
			body: map[string]any{"name": "X"}, wantStatus: 400, wantField: "field_id"},
		{name: "unknown data type", method: "PUT", path: "/v1/clients/c1/fields/5267", token: sup,
			body: map[string]any{"name": "X", "pos_data_type": 42}, wantStatus: 400, wantField: "field.pos_data_type"},
		{name: "malformed json", method: "PUT", path: "/v1/clients/c1/fields/5267", token: sup,
			body: `{"name": `, wantStatus: 400},
		{name: "unknown json field", method: "PUT", path: "/v1/clients/c1/fields/5267", token: sup,
			body: map[string]any{"name": "X", "colour": "red"}, wantStatus: 400},
		{name: "delete missing department", method: "DELETE", path: "/v1/clients/c1/departments/nope", token: sup, wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, configservice.Schema)
			r := b.svc.Do(t, tc.method, tc.path, tc.token, tc.body)
			if r.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			if tc.wantField != "" && r.Field() != tc.wantField {
				t.Errorf("field = %q, want %q: %s", r.Field(), tc.wantField, r.Body)
			}
			if tc.wantStatus == 400 && r.Message() == "" {
				t.Errorf("no message: %s", r.Body)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, configservice.Schema)); diff != "" {
				t.Errorf("refused request changed the database (-before +after):\n%s", diff)
			}
		})
	}
}

// TestListClientsScoping: a person lists only their clients; a service lists all.
func TestListClientsScoping(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []string{"a", "b", "c"} {
		r := b.svc.Do(t, "PUT", "/v1/clients/"+c+"/settings", b.keys.Token(t, authn.RoleSupervisor, c),
			map[string]any{"multi_cash_registers": true, "pos_import_enabled": c != "b", "pos_provider": 1})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	ctx := context.Background()
	person := posimportv1.NewConfigServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleRegionalSupervisor, "a", "b")))
	got, err := person.ListClients(ctx, &posimportv1.ListClientsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := clientIDs(got); !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("person sees %v", ids)
	}
	svc := posimportv1.NewConfigServiceClient(b.keys.Dial(t, b.svc.GRPCAddr, authn.ServiceImportWorker))
	page1, err := svc.ListClients(ctx, &posimportv1.ListClientsRequest{PosImportEnabledOnly: true, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	page2, err := svc.ListClients(ctx, &posimportv1.ListClientsRequest{PosImportEnabledOnly: true, PageSize: 1, PageToken: page1.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if ids := append(clientIDs(page1), clientIDs(page2)...); !slices.Equal(ids, []string{"a", "c"}) || page2.GetNextPageToken() != "" {
		t.Errorf("service sees %v (next %q)", ids, page2.GetNextPageToken())
	}
	if _, err := svc.ListClients(ctx, &posimportv1.ListClientsRequest{PageSize: 5000}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("page_size 5000: %v", err)
	}
}

func clientIDs(r *posimportv1.ListClientsResponse) []string {
	var out []string
	for _, c := range r.GetClients() {
		out = append(out, c.GetClientId())
	}
	return out
}

// TestOperationalEndpoints: reflection lists the services, /openapi.json serves the spec,
// /metrics serves Prometheus text, health answers without a token.
func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// One call so the RPC metrics have a sample.
	b.svc.Do(t, "GET", "/v1/clients/c1/settings", b.keys.Token(t, authn.RoleViewer, "c1"), nil)

	conn := servicetest.DialAs(t, b.svc.GRPCAddr, "")
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"posimport.v1.ConfigService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	for path, want := range map[string]string{
		"/openapi.json": `"/v1/clients/{client_id}/settings"`,
		"/metrics":      `posimport_grpc_requests_total{code="OK",method="GetClientSettings",service="posimport.v1.ConfigService"} 1`,
		"/healthz":      "ok",
		"/readyz":       "ok",
	} {
		resp, err := http.Get(b.svc.HTTPBase + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, missing %s", path, resp.StatusCode, want)
		}
	}
}

// TestIntradayRefresh: the intraday refresh is off by default and takes 15 to 240 minutes,
// over REST and gRPC; GetClientConfig carries it to the import-worker.
func TestIntradayRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	r := b.svc.Do(t, "GET", "/v1/clients/c1/settings", sup, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"intraday_refresh_minutes":0`) {
		t.Fatalf("defaults: %d %s", r.Status, r.Body)
	}
	for _, n := range []int32{15, 240, 0, 60} {
		r := b.svc.Do(t, "PUT", "/v1/clients/c1/settings", sup, map[string]any{"multi_cash_registers": true, "intraday_refresh_minutes": n})
		if r.Status != http.StatusOK {
			t.Fatalf("every %d minutes: %d %s", n, r.Status, r.Body)
		}
	}
	ctx := context.Background()
	cfg, err := posimportv1.NewConfigServiceClient(b.keys.Dial(t, b.svc.GRPCAddr, authn.ServiceImportWorker)).
		GetClientConfig(ctx, &posimportv1.GetClientConfigRequest{ClientId: "c1"})
	if err != nil || cfg.GetSettings().GetIntradayRefreshMinutes() != 60 {
		t.Errorf("GetClientConfig: %v %v, want every 60 minutes", cfg.GetSettings(), err)
	}
	grpcSup := posimportv1.NewConfigServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, sup))
	before := pgtest.Snapshot(t, b.pool, configservice.Schema)
	_, err = grpcSup.UpdateClientSettings(ctx, &posimportv1.UpdateClientSettingsRequest{ClientId: "c1",
		Settings: &posimportv1.ClientSettings{IntradayRefreshMinutes: 5}})
	if status.Code(err) != codes.InvalidArgument || apierr.FieldOf(err) != "settings.intraday_refresh_minutes" {
		t.Errorf("every 5 minutes over gRPC: %v", err)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, configservice.Schema)); diff != "" {
		t.Errorf("refused settings changed the database (-before +after):\n%s", diff)
	}
}

// TestShopCountedOnce: a department that imports a whole shop (no terminal numbers) and
// another that lists registers of the same shop, or imports it whole too, would count its
// sales twice: whichever is saved second is refused, naming the field, and nothing is written.
// Registers of one shop split between departments, and whole shops of different shops, are
// fine; so is saving the whole-shop department again.
func TestShopCountedOnce(t *testing.T) {
	t.Parallel()
	sup := func(b *testBundle) string { return b.keys.Token(t, authn.RoleSupervisor, "c1") }
	put := func(t *testing.T, b *testBundle, dep string, body map[string]any) servicetest.Response {
		t.Helper()
		return b.svc.Do(t, "PUT", "/v1/clients/c1/departments/"+dep, sup(b), body)
	}
	whole := map[string]any{"name": "Whole shop", "pos_client_number": "7"}
	registers := map[string]any{"name": "Two registers", "pos_client_number": "7", "pos_terminal_numbers": []string{"71", "72"}}
	for _, tc := range []struct {
		name          string
		first, second map[string]any
		wantField     string
	}{
		{"whole shop first, then its registers", whole, registers, "department.pos_terminal_numbers"},
		{"registers first, then the whole shop", registers, whole, "department.pos_terminal_numbers"},
		{"the whole shop twice", whole, map[string]any{"name": "Again", "pos_client_number": "7"}, "department.pos_client_number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if r := put(t, b, "d1", tc.first); r.Status != http.StatusOK {
				t.Fatalf("first: %d %s", r.Status, r.Body)
			}
			before := pgtest.Snapshot(t, b.pool, configservice.Schema)
			r := put(t, b, "d2", tc.second)
			if r.Status != http.StatusBadRequest || r.Field() != tc.wantField || !strings.Contains(r.Message(), "d1") {
				t.Errorf("second: %d field %q: %s", r.Status, r.Field(), r.Body)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, configservice.Schema)); diff != "" {
				t.Errorf("refused department changed the database (-before +after):\n%s", diff)
			}
			// Changing the existing department into the conflicting mapping is refused too.
			if r := put(t, b, "d3", map[string]any{"name": "Other shop", "pos_client_number": "8"}); r.Status != http.StatusOK {
				t.Fatalf("other shop: %d %s", r.Status, r.Body)
			}
			before = pgtest.Snapshot(t, b.pool, configservice.Schema)
			if r := put(t, b, "d3", tc.second); r.Status != http.StatusBadRequest || r.Field() != tc.wantField {
				t.Errorf("d3 moved onto the shop: %d field %q: %s", r.Status, r.Field(), r.Body)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, configservice.Schema)); diff != "" {
				t.Errorf("refused department changed the database (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("accepted mappings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, step := range []struct {
			dep  string
			body map[string]any
		}{
			{"d1", map[string]any{"name": "A", "pos_client_number": "7", "pos_terminal_numbers": []string{"71"}}},
			{"d2", map[string]any{"name": "B", "pos_client_number": "7", "pos_terminal_numbers": []string{"72"}}},
			{"d3", map[string]any{"name": "C", "pos_client_number": "8"}},
			{"d3", map[string]any{"name": "C again", "pos_client_number": "8"}},
			{"d4", map[string]any{"name": "Not mapped"}},
			{"d5", map[string]any{"name": "Not mapped either"}},
		} {
			if r := put(t, b, step.dep, step.body); r.Status != http.StatusOK {
				t.Errorf("%s %v: %d %s", step.dep, step.body, r.Status, r.Body)
			}
		}
		// The existing rule stands: a register belongs to one department.
		before := pgtest.Snapshot(t, b.pool, configservice.Schema)
		r := put(t, b, "d6", map[string]any{"name": "D", "pos_client_number": "7", "pos_terminal_numbers": []string{"73", "71"}})
		if r.Status != http.StatusBadRequest || r.Field() != "department.pos_terminal_numbers" || !strings.Contains(r.Message(), "71") {
			t.Errorf("register of another department: %d %s", r.Status, r.Body)
		}
		if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, configservice.Schema)); diff != "" {
			t.Errorf("refused department changed the database (-before +after):\n%s", diff)
		}
	})
}
