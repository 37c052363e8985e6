package importservice_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// restaurantPipeline is the pipeline of pipelinetest.Start whose simulator also has Lightspeed
// Restaurant (K-Series) businesses, and whose auth service connects both Lightspeed products.
type restaurantPipeline struct {
	*pipelinetest.Env
	// salesRequests counts the K-Series sales requests that reached the simulator.
	salesRequests atomic.Int64
	// poisonDevice, when set, is a device whose receipts leave the simulator malformed (a
	// nbCovers that is not a number).
	poisonDevice atomic.Int64
}

// startRestaurantPipeline starts the pipeline without workers, swaps in a simulator with both
// products' data (R-Series shops in London, K-Series locations in London and Sydney, each
// with two devices; configure may change the K-Series data) and an auth service configured for
// both, then starts one import-worker.
func startRestaurantPipeline(t *testing.T, days int, configure ...func(*sim.RestaurantDataOptions)) *restaurantPipeline {
	t.Helper()
	e := pipelinetest.Start(t, pipelinetest.Options{NoWorker: true, Days: 1})
	yesterday := time.Now().AddDate(0, 0, -1)
	kdata := sim.RestaurantDataOptions{LocationsPerBusiness: 2, DevicesPerLocation: 2, SalesPerDay: 12,
		Zones: []string{"Europe/London", "Australia/Sydney"}, From: yesterday.AddDate(0, 0, -(days + 1)), Until: yesterday}
	for _, c := range configure {
		c(&kdata)
	}
	s, err := sim.New(sim.Options{
		Seed: 3, AutoConsent: true, RateLimit: sim.RateLimitOptions{Disabled: true},
		Data: sim.DataOptions{ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 6, Zones: []string{"Europe/London"},
			From: yesterday.AddDate(0, 0, -(days + 1)), Until: yesterday},
		Restaurant: sim.RestaurantOptions{Data: kdata},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &restaurantPipeline{Env: e}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/f/v2/business-location/") && strings.HasSuffix(r.URL.Path, "/sales") {
			p.salesRequests.Add(1)
			if dev := p.poisonDevice.Load(); dev != 0 {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, r)
				body := poisonReceipts(t, rec.Body.Bytes(), dev)
				maps.Copy(w.Header(), rec.Header())
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body)
				return
			}
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.Sim, e.SimURL = s, hs.URL
	e.Auth = startBothProductsAuth(t, e)
	r := e.StartImportWorker(t, "worker-k", func(c *importservice.Config) {
		c.API = true
		c.LightspeedRestaurantAPIURL = e.SimURL
	})
	e.Imports = append(e.Imports, r)
	return p
}

// poisonReceipts makes every receipt of device in a K-Series sales page malformed.
func poisonReceipts(t *testing.T, body []byte, device int64) []byte {
	var page map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // ids as written, not as floats
	if err := dec.Decode(&page); err != nil {
		return body // not a page (an error body): as it came
	}
	sales, _ := page["sales"].([]any)
	for _, s := range sales {
		if m, ok := s.(map[string]any); ok && fmt.Sprint(m["deviceId"]) == strconv.FormatInt(device, 10) {
			m["nbCovers"] = "many"
		}
	}
	out, err := json.Marshal(page)
	if err != nil {
		t.Error(err)
		return body
	}
	return out
}

// startBothProductsAuth starts an auth service on the pipeline's database that connects
// Lightspeed Retail and Lightspeed Restaurant, both at the pipeline's simulator.
func startBothProductsAuth(t *testing.T, e *pipelinetest.Env) *servicetest.Running {
	t.Helper()
	pool := pgtest.MigratedPool(t, e.DBURL, authservice.Schema, authservice.Migrations(), 8)
	conn := e.Keys.Dial(t, e.Config.GRPCAddr, authn.ServiceAuth)
	return servicetest.Start(t, e.Keys, authservice.Policy, nil, func(srv *server.Server) error {
		svc, err := authservice.New(authservice.Config{
			Lightspeed: authservice.LightspeedConfig{
				ClientID: sim.DefaultClientID, ClientSecret: secret.New(sim.DefaultClientSecret),
				AuthorizeURL: e.SimURL + "/auth/oauth/authorize", TokenURL: e.SimURL + "/auth/oauth/token",
				RevokeURL: e.SimURL + "/auth/oauth/revoke", APIBaseURL: e.SimURL, Scopes: []string{"employee:register"},
			},
			Restaurant: authservice.RestaurantConfig{
				ClientID: sim.DefaultClientID, ClientSecret: secret.New(sim.DefaultClientSecret),
				AuthorizeURL: e.SimURL + "/oauth/authorize", TokenURL: e.SimURL + "/oauth/token",
				RevokeURL: e.SimURL + "/oauth/revoke", APIBaseURL: e.SimURL, Scopes: []string{sim.FinancialScope},
			},
			CallbackURL: "http://" + srv.HTTPAddr() + "/oauth/callback", ReturnURL: "https://app.example/pos",
			TokenKeys: secret.New(newTokenKey(t)), RefreshMargin: 30 * time.Second, ProviderTimeout: 10 * time.Second,
			DepartmentCheckTTL: time.Minute,
		}, authservice.Deps{Pool: pool, Config: posimportv1.NewConfigServiceClient(conn)})
		if err != nil {
			return err
		}
		return svc.Register(srv)
	})
}

// newTokenKey is a fresh key (kid=base64 of 32 bytes) for the auth service's token encryption.
func newTokenKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "k1=" + base64.StdEncoding.EncodeToString(b)
}

// restaurantDepartment maps a department to a K-Series business location and its devices.
type restaurantDepartment struct {
	ID       string
	Business int64
	Location sim.BusinessLocation
}

func (d restaurantDepartment) devices() []string {
	var out []string
	for _, dev := range d.Location.Devices {
		out = append(out, strconv.FormatInt(dev.ID, 10))
	}
	return out
}

// restaurantDepartments maps the locations of business 300001 to departments k1, k2, …
func (p *restaurantPipeline) restaurantDepartments() []restaurantDepartment {
	var out []restaurantDepartment
	for i, l := range p.Sim.Businesses()[0].Locations {
		out = append(out, restaurantDepartment{ID: "k" + strconv.Itoa(i+1), Business: 300001, Location: l})
	}
	return out
}

// configureRestaurant stores a client's settings (provider Lightspeed Restaurant), its
// departments (POS client number = business location, terminals = devices) and the fields,
// through config's REST API as a supervisor would.
func (p *restaurantPipeline) configureRestaurant(t *testing.T, client string, deps []restaurantDepartment) {
	t.Helper()
	sup := p.Keys.Token(t, authn.RoleSupervisor, client)
	put := func(path string, body map[string]any) {
		t.Helper()
		if r := p.Config.Do(t, "PUT", path, sup, body); r.Status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/clients/"+client+"/settings", map[string]any{"multi_cash_registers": true, "pos_import_enabled": true,
		"pos_provider": "POS_PROVIDER_LIGHTSPEED_RESTAURANT", "time_zone": "Europe/London"})
	for _, d := range deps {
		put("/v1/clients/"+client+"/departments/"+d.ID, map[string]any{"name": d.ID,
			"pos_client_number": strconv.FormatInt(d.Location.ID, 10), "pos_terminal_numbers": d.devices(), "time_zone": d.Location.TimeZone})
	}
	for _, f := range pipelinetest.Fields {
		put("/v1/clients/"+client+"/fields/"+strconv.FormatInt(f.ID, 10), map[string]any{
			"name": f.Type.String(), "pos_data_type": f.Type.String(), "split_into_intervals": f.Split})
	}
}

// oracleValue picks a data type's value from the oracle's hour; K-Series has all eight.
func oracleValue(h sim.ExpectedHour, t posimportv1.PosDataType) decimal.Decimal {
	return map[posimportv1.PosDataType]decimal.Decimal{
		posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES: h.GrossSales, posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES: h.NetSales,
		posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS: h.Discounts, posimportv1.PosDataType_POS_DATA_TYPE_RETURNS: h.Returns,
		posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS: h.Transactions, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD: h.GoodsSold,
		posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED: h.GoodsReturned, posimportv1.PosDataType_POS_DATA_TYPE_VISITORS: h.Visitors,
	}[t]
}

// restaurantMismatches compares the balance with the simulator's K-Series oracle for every
// department, device, day, hour and field (Visitors included), and describes each difference.
func (p *restaurantPipeline) restaurantMismatches(t *testing.T, client string, deps []restaurantDepartment, from, until civil.Date) []string {
	t.Helper()
	var out []string
	visitors := decimal.Zero
	for _, d := range deps {
		for _, dev := range d.Location.Devices {
			exp, err := p.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: d.Business, LocationID: d.Location.ID, DeviceID: dev.ID,
				From: from.String(), Until: until.String()})
			if err != nil {
				t.Fatal(err)
			}
			for _, day := range p.Days(t, client, d.ID, from, until) {
				out = append(out, compareRegisterDay(day, strconv.FormatInt(dev.ID, 10), exp, &visitors)...)
			}
		}
	}
	if visitors.IsZero() {
		out = append(out, "no visitors anywhere: the check would not see them missing")
	}
	return out
}

func compareRegisterDay(day *posimportv1.GetDayResponse, register string, exp []sim.ExpectedDay, visitors *decimal.Decimal) []string {
	date := day.GetDay().GetDate()
	var want sim.ExpectedDay
	for _, e := range exp {
		if e.Date == date {
			want = e
		}
	}
	var rd *posimportv1.RegisterDay
	for _, r := range day.GetRegisters() {
		if r.GetRegisterId() == register {
			rd = r
		}
	}
	if rd == nil {
		return []string{fmt.Sprintf("%s/%s: not imported", register, date)}
	}
	var out []string
	byID := map[int64]*posimportv1.FieldDay{}
	for _, f := range rd.GetFields() {
		byID[f.GetFieldId()] = f
	}
	for _, f := range pipelinetest.Fields {
		fd := byID[f.ID]
		if fd == nil || !fd.GetImported() {
			out = append(out, fmt.Sprintf("%s/%s field %s not imported", register, date, f.Type))
			continue
		}
		sum := decimal.Zero
		for _, h := range want.Hours {
			sum = sum.Add(oracleValue(h, f.Type))
		}
		if f.Type == posimportv1.PosDataType_POS_DATA_TYPE_VISITORS {
			*visitors = visitors.Add(sum)
		}
		if tot, err := decimal.NewFromString(fd.GetTotal()); err != nil || !tot.Equal(sum) {
			out = append(out, fmt.Sprintf("%s/%s field %s total %q, want %s", register, date, f.Type, fd.GetTotal(), sum))
		}
		if !f.Split {
			continue
		}
		if len(fd.GetHours()) != len(want.Hours) {
			out = append(out, fmt.Sprintf("%s/%s field %s: %d hours, want %d", register, date, f.Type, len(fd.GetHours()), len(want.Hours)))
			continue
		}
		for i, h := range fd.GetHours() {
			if v, err := decimal.NewFromString(h); err != nil || !v.Equal(oracleValue(want.Hours[i], f.Type)) {
				out = append(out, fmt.Sprintf("%s/%s field %s hour %s = %q, want %s", register, date, f.Type, want.Hours[i].Clock, h, oracleValue(want.Hours[i], f.Type)))
			}
		}
	}
	return out
}

// TestRestaurantImportMatchesOracle is the end-to-end import of the pipeline for a Lightspeed
// Restaurant client: two business locations (London and Sydney, each over its autumn or spring
// DST change) with two devices each, imported through the whole pipeline and compared with the
// simulator's K-Series oracle for every department, device, day, hour and field, Visitors
// included.
func TestRestaurantImportMatchesOracle(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_RESTAURANT_DAYS", 62)
	p := startRestaurantPipeline(t, days)
	deps := p.restaurantDepartments()
	p.configureRestaurant(t, "c1", deps)
	p.Connect(t, "c1", 300001, true)

	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	ids := []string{deps[0].ID, deps[1].ID}
	resp, err := p.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: ids, FromDate: from.String(), UntilDate: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	imp := p.WaitImport(t, "c1", resp.GetImport().GetImportId(), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	pr := imp.GetProgress()
	if want := int64(2 * 2 * days); pr.GetDaysWritten() != want || len(pr.GetUnmappedTypes()) != 0 {
		t.Errorf("days written %d (want %d), unmapped types %v", pr.GetDaysWritten(), want, pr.GetUnmappedTypes())
	}
	t.Logf("%d days of 2 locations × 2 devices: %+v", days, pr)
	if diffs := p.restaurantMismatches(t, "c1", deps, from, until); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle (%d differences):\n%v", len(diffs), diffs[:min(len(diffs), 20)])
	}
}

// TestSwitchProviderByReconnect: a client importing from Lightspeed Retail switches to
// Lightspeed Restaurant. Changing the setting alone makes StartImport refuse (the connection is
// still Retail's) and writes nothing; after a new consent with Lightspeed Restaurant and the
// integration contact's enable, imports use Restaurant, and Visitors appear.
func TestSwitchProviderByReconnect(t *testing.T) {
	t.Parallel()
	p := startRestaurantPipeline(t, 3)
	until := yesterday().AddDays(-1)
	from := until.AddDays(-1)

	// Retail first: departments mapped to the shops.
	retailDeps := p.Departments(0, false)[:1]
	p.Configure(t, "c1", retailDeps)
	p.Connect(t, "c1", p.AccountID(0), true)
	id := p.StartImport(t, "c1", retailDeps, from, until, false)
	if imp := p.WaitImport(t, "c1", id, time.Minute); imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("Retail import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := p.Mismatches(t, "c1", 0, retailDeps, from, until, 5); len(diffs) > 0 {
		t.Fatalf("Retail import differs from the oracle: %v", diffs)
	}

	// The supervisor switches the setting (and maps a department to a K-Series location):
	// the connection is still Retail's, so the import is refused and nothing is written.
	deps := p.restaurantDepartments()[:1]
	p.configureRestaurant(t, "c1", deps)
	var before int
	if err := p.Pool.QueryRow(context.Background(), "SELECT count(*) FROM imports").Scan(&before); err != nil {
		t.Fatal(err)
	}
	_, err := p.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: []string{deps[0].ID}, FromDate: from.String(), UntilDate: until.String()})
	if status.Code(err) != codes.FailedPrecondition || !containsAll(status.Convert(err).Message(), "reconnect", "LIGHTSPEED_RESTAURANT") {
		t.Fatalf("StartImport after the setting changed: %v, want FailedPrecondition asking to reconnect", err)
	}
	var after int
	if err := p.Pool.QueryRow(context.Background(), "SELECT count(*) FROM imports").Scan(&after); err != nil || after != before {
		t.Errorf("the refused import wrote %d imports (%v)", after-before, err)
	}

	// Reconnect with Lightspeed Restaurant consent: imports now use it.
	p.Connect(t, "c1", 300001, true)
	id = p.StartImport(t, "c1", []pipelinetest.Department{{ID: deps[0].ID}}, from, until, false)
	if imp := p.WaitImport(t, "c1", id, time.Minute); imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("Restaurant import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := p.restaurantMismatches(t, "c1", deps, from, until); len(diffs) > 0 {
		t.Errorf("Restaurant import differs from the oracle: %v", diffs[:min(len(diffs), 20)])
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestRestaurantSeveralBusinessesMatchesOracle: a Lightspeed Restaurant user of a restaurant
// group consents once for two businesses. The connection covers both; departments on a
// location of each (London, and New York, which is tax-exclusive) import through the whole
// pipeline under the one consent and equal the simulator's oracle for every device, day, hour
// and field; both departments' requests share the consent's one rate budget.
func TestRestaurantSeveralBusinessesMatchesOracle(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_RESTAURANT_DAYS", 62) / 4
	p := startRestaurantPipeline(t, days, func(o *sim.RestaurantDataOptions) {
		o.Businesses, o.Zones = 2, []string{"Europe/London", "America/New_York"}
	})
	bs := p.Sim.Businesses()
	deps := []restaurantDepartment{
		{ID: "north", Business: bs[0].ID, Location: bs[0].Locations[0]},
		{ID: "south", Business: bs[1].ID, Location: bs[1].Locations[1]},
	}
	if !deps[1].Location.TaxExclusive || deps[0].Location.TaxExclusive {
		t.Fatalf("want London with VAT included and New York tax-exclusive: %+v", deps)
	}
	p.configureRestaurant(t, "c1", deps)
	p.ConnectAccounts(t, "c1", "300001,300002", true)

	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	resp, err := p.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: []string{"north", "south"}, FromDate: from.String(), UntilDate: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	imp := p.WaitImport(t, "c1", resp.GetImport().GetImportId(), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if want := int64(2 * 2 * days); imp.GetProgress().GetDaysWritten() != want {
		t.Errorf("days written %d, want %d", imp.GetProgress().GetDaysWritten(), want)
	}
	if diffs := p.restaurantMismatches(t, "c1", deps, from, until); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle (%d differences):\n%v", len(diffs), diffs[:min(len(diffs), 20)])
	}
	// One consent, one token, one budget: the rate budget has one row for both businesses.
	var keys []string
	rows, err := p.Pool.Query(context.Background(), "SELECT account_key FROM rate_budgets ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if rows.Err() != nil || !slices.Equal(keys, []string{"lightspeed_restaurant:300001,300002"}) {
		t.Errorf("rate budgets %v (%v), want the consent's one", keys, rows.Err())
	}
}

// TestRestaurantLocationFetchedOnce: Lightspeed Restaurant filters sales by business location,
// not by device. A year of one location is imported for a client with one department covering
// the whole location (no terminal numbers: one job per chunk, one pass over the location), and
// for a client with two departments splitting its two devices (a job per device and chunk, one
// location group per chunk): the split makes no more requests at the simulator than the whole,
// and equals the oracle for every device, day, hour and field.
func TestRestaurantLocationFetchedOnce(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_RESTAURANT_LOCATION_DAYS", 365)
	p := startRestaurantPipeline(t, days)
	loc := p.Sim.Businesses()[0].Locations[0]
	if len(loc.Devices) != 2 {
		t.Fatalf("location %d has %d devices, want 2", loc.ID, len(loc.Devices))
	}
	all := loc
	all.Devices = nil // no terminal numbers: the department is the whole location
	whole := []restaurantDepartment{{ID: "restaurant", Business: 300001, Location: all}}
	bar, kitchen := loc, loc
	bar.Devices, kitchen.Devices = loc.Devices[:1], loc.Devices[1:]
	split := []restaurantDepartment{{ID: "bar", Business: 300001, Location: bar}, {ID: "kitchen", Business: 300001, Location: kitchen}}

	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	run := func(client string, deps []restaurantDepartment, registerDays int) int64 {
		t.Helper()
		p.configureRestaurant(t, client, deps)
		p.Connect(t, client, 300001, true)
		var ids []string
		for _, d := range deps {
			ids = append(ids, d.ID)
		}
		before := p.salesRequests.Load()
		resp, err := p.ImportClient(t, client).StartImport(context.Background(), &posimportv1.StartImportRequest{
			ClientId: client, DepartmentIds: ids, FromDate: from.String(), UntilDate: until.String()})
		if err != nil {
			t.Fatal(err)
		}
		imp := p.WaitImport(t, client, resp.GetImport().GetImportId(), 5*time.Minute)
		if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
			t.Fatalf("%s: import ended %s: %v", client, imp.GetState(), firstErrors(imp, 3))
		}
		requests := p.salesRequests.Load() - before
		if want := int64(registerDays); imp.GetProgress().GetDaysWritten() != want {
			t.Errorf("%s: days written %d, want %d", client, imp.GetProgress().GetDaysWritten(), want)
		}
		if got := imp.GetProgress().GetRequestsMade(); got != requests {
			t.Errorf("%s: the import counts %d requests, the simulator saw %d", client, got, requests)
		}
		if len(deps) == 1 {
			return requests // the oracle is per device; the split's check covers the location
		}
		if diffs := p.restaurantMismatches(t, client, deps, from, until); len(diffs) > 0 {
			t.Errorf("%s: balance differs from the oracle (%d differences):\n%v", client, len(diffs), diffs[:min(len(diffs), 20)])
		}
		return requests
	}
	wholeRequests := run("c1", whole, days)
	splitRequests := run("c2", split, 2*days)
	t.Logf("a year (%d days) of one location, 2 devices: one department without terminals %d sales requests, two departments splitting the devices %d",
		days, wholeRequests, splitRequests)
	if wholeRequests == 0 || splitRequests > wholeRequests {
		t.Errorf("two departments made %d requests, one department covering the location %d: want no more", splitRequests, wholeRequests)
	}
}

// TestRestaurantPoisonReceiptFailsOnlyItsDevice: two departments split a location's devices,
// and every receipt of one device arrives malformed. The location is still fetched once per
// chunk; the poisoned device's jobs end FAILED with the reason and none of its days is
// imported, while the other device's jobs end DONE and its days equal the oracle.
func TestRestaurantPoisonReceiptFailsOnlyItsDevice(t *testing.T) {
	t.Parallel()
	days := 40 // two chunks
	p := startRestaurantPipeline(t, days)
	loc := p.Sim.Businesses()[0].Locations[0]
	bar, kitchen := loc, loc
	bar.Devices, kitchen.Devices = loc.Devices[:1], loc.Devices[1:]
	deps := []restaurantDepartment{{ID: "bar", Business: 300001, Location: bar}, {ID: "kitchen", Business: 300001, Location: kitchen}}
	p.configureRestaurant(t, "c1", deps)
	p.Connect(t, "c1", 300001, true)
	p.poisonDevice.Store(bar.Devices[0].ID)

	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	resp, err := p.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: []string{"bar", "kitchen"}, FromDate: from.String(), UntilDate: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	imp := p.WaitImport(t, "c1", resp.GetImport().GetImportId(), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_FAILED {
		t.Errorf("import ended %s, want FAILED (one device's data is malformed)", imp.GetState())
	}
	rows, err := p.Pool.Query(context.Background(), "SELECT register_id, state, last_error FROM jobs ORDER BY register_id, from_date")
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for rows.Next() {
		var reg, state, reason string
		if err := rows.Scan(&reg, &state, &reason); err != nil {
			t.Fatal(err)
		}
		jobs++
		switch reg {
		case strconv.FormatInt(bar.Devices[0].ID, 10):
			if state != "FAILED" || !containsAll(reason, "malformed", "nbCovers") {
				t.Errorf("poisoned device's job %s (%q), want FAILED naming the malformed field", state, reason)
			}
		default:
			if state != "DONE" || reason != "" {
				t.Errorf("device %s's job %s (%q), want DONE", reg, state, reason)
			}
		}
	}
	if rows.Err() != nil || jobs != 4 {
		t.Fatalf("%d jobs (%v), want 2 devices × 2 chunks", jobs, rows.Err())
	}
	for date, day := range p.Days(t, "c1", "bar", from, until) {
		for _, rd := range day.GetRegisters() {
			for _, f := range rd.GetFields() {
				if f.GetImported() {
					t.Errorf("poisoned device %s has %s imported", rd.GetRegisterId(), date)
				}
			}
		}
	}
	if diffs := p.restaurantMismatches(t, "c1", deps[1:], from, until); len(diffs) > 0 {
		t.Errorf("the other device differs from the oracle (%d differences):\n%v", len(diffs), diffs[:min(len(diffs), 20)])
	}
	if got, want := p.salesRequests.Load(), imp.GetProgress().GetRequestsMade(); got != want || got == 0 {
		t.Errorf("the simulator saw %d sales requests, the import counts %d", got, want)
	}
}
