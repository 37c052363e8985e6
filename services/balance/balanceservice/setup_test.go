package balanceservice_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
	"github.com/posimport/posimport/services/config/configservice"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const copenhagen = "Europe/Copenhagen"

// The client's weekly-balance fields: one per POS data type, the last two kept per day.
var testFields = []struct {
	id    int64
	name  string
	kind  posimportv1.PosDataType
	split bool
}{
	{5261, "Gross sales", posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, true},
	{5262, "Net sales", posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES, true},
	{5263, "Discounts", posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS, true},
	{5264, "Returns", posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, true},
	{5265, "Transactions", posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS, true},
	{5266, "Goods sold", posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD, true},
	{5267, "Goods returned", posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED, false},
	{5268, "Visitors", posimportv1.PosDataType_POS_DATA_TYPE_VISITORS, false},
}

// clock is the services' injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type testBundle struct {
	keys    *servicetest.Keys
	pool    *pgxpool.Pool // balance schema
	config  *servicetest.Running
	svc     *servicetest.Running
	service *balanceservice.Service
	clock   *clock
	// balance is a gRPC client authenticated as a posimport service (the import worker).
	balance posimportv1.BalanceServiceClient
	dbURL   string
}

// setup starts the real config service and the balance service on one fresh database, with
// the clock at 2026-12-01 12:00 UTC.
func setup(t testing.TB) *testBundle {
	t.Helper()
	return setupPool(t, 20)
}

// setupPool is setup with the balance service's pool of at most maxConns connections.
func setupPool(t testing.TB, maxConns int32) *testBundle {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	configPool := pgtest.MigratedPool(t, dbURL, configservice.Schema, configservice.Migrations(), 4)
	pool := pgtest.MigratedPool(t, dbURL, balanceservice.Schema, balanceservice.Migrations(), maxConns)
	b := &testBundle{keys: servicetest.NewKeys(t), pool: pool, clock: &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}, dbURL: dbURL}
	t.Cleanup(func() { valuesHaveParents(t, pool) })
	b.config = servicetest.Start(t, b.keys, configservice.Policy, nil, func(s *server.Server) error {
		svc, err := configservice.New(configservice.Config{}, configservice.Deps{Pool: configPool, Logger: logging.Discard()})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	b.service = b.newService(t)
	b.svc = servicetest.Start(t, b.keys, balanceservice.Policy, nil, b.service.Register)
	b.balance = posimportv1.NewBalanceServiceClient(b.keys.Dial(t, b.svc.GRPCAddr, authn.ServiceImportWorker))
	return b
}

// valuesHaveParents checks, at the end of every test, what the values tables' foreign keys
// checked before they were dropped (migration 004): every value row has its register-day, and
// every day sum its day.
func valuesHaveParents(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	var registers, days int
	if err := pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM register_values v WHERE NOT EXISTS (SELECT 1 FROM register_days r
		            WHERE (r.client_id, r.department_id, r.business_date, r.register_id) = (v.client_id, v.department_id, v.business_date, v.register_id))),
		       (SELECT count(*) FROM day_values v WHERE NOT EXISTS (SELECT 1 FROM day_status d
		            WHERE (d.client_id, d.department_id, d.business_date) = (v.client_id, v.department_id, v.business_date)))`).
		Scan(&registers, &days); err != nil {
		t.Errorf("check the values' parents: %v", err)
		return
	}
	if registers != 0 || days != 0 {
		t.Errorf("%d register values without their register-day, %d day sums without their day", registers, days)
	}
}

// newService builds a balance service (a replica) on the bundle's database and clock.
func (b *testBundle) newService(t testing.TB) *balanceservice.Service {
	t.Helper()
	svc, err := balanceservice.New(balanceservice.Config{ConfigCacheTTL: time.Minute}, balanceservice.Deps{
		Pool: b.pool, Config: posimportv1.NewConfigServiceClient(b.keys.Dial(t, b.config.GRPCAddr, authn.ServiceBalance)),
		Logger: logging.Discard(), NowFunc: b.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// department is a department to configure.
type department struct {
	id        string
	registers []string
	zone      string
}

// configure stores a client's settings, departments and the test fields in the config
// service, as a supervisor of the client would.
func (b *testBundle) configure(t testing.TB, client string, autoConfirm bool, confirmTime string, depts ...department) {
	t.Helper()
	ctx := context.Background()
	cfg := posimportv1.NewConfigServiceClient(servicetest.DialAs(t, b.config.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, client)))
	if _, err := cfg.UpdateClientSettings(ctx, &posimportv1.UpdateClientSettingsRequest{ClientId: client, Settings: &posimportv1.ClientSettings{
		MultiCashRegisters: true, PosImportEnabled: true, PosProvider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL,
		AutoConfirmWeeklyBalance: autoConfirm, ConfirmTime: confirmTime, TimeZone: copenhagen,
	}}); err != nil {
		t.Fatal(err)
	}
	for i, d := range depts {
		if _, err := cfg.PutDepartment(ctx, &posimportv1.PutDepartmentRequest{ClientId: client, DepartmentId: d.id, Department: &posimportv1.Department{
			Name: "Department " + d.id, PosClientNumber: fmt.Sprint(100 + i), PosTerminalNumbers: d.registers, TimeZone: d.zone,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range testFields {
		if _, err := cfg.PutField(ctx, &posimportv1.PutFieldRequest{ClientId: client, FieldId: f.id, Field: &posimportv1.BalanceField{
			Name: f.name, PosDataType: f.kind, SplitIntoIntervals: f.split,
		}}); err != nil {
			t.Fatal(err)
		}
	}
}

// dayValues returns values for every test field on date in zone, varied by seed: split fields
// get one value per local clock hour, and each total is the exact sum. Amounts are in
// canonical form, as the balance answers them (TestAmountsCanonical writes others).
func dayValues(t testing.TB, date civil.Date, zone string, seed int) []*posimportv1.FieldValues {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	n := len(date.Hours(loc))
	out := make([]*posimportv1.FieldValues, 0, len(testFields))
	for k, f := range testFields {
		count := f.kind == posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS || f.kind == posimportv1.PosDataType_POS_DATA_TYPE_VISITORS
		amount := func(i int) string {
			v := (seed*31 + k*17 + i*7) % 997
			if count {
				return fmt.Sprint(v % 40)
			}
			// In canonical form (no trailing zeros), as the balance answers them.
			return decimal.RequireFromString(fmt.Sprintf("%d.%02d", v, (seed+i*13+k)%100)).String()
		}
		fv := &posimportv1.FieldValues{FieldId: f.id}
		if !f.split {
			fv.Total = amount(0)
			out = append(out, fv)
			continue
		}
		sum := decimal.Zero
		for i := range n {
			fv.Hours = append(fv.Hours, amount(i))
			sum = sum.Add(decimal.RequireFromString(fv.Hours[i]))
		}
		fv.Total = sum.String()
		out = append(out, fv)
	}
	return out
}

// writeReq is a WriteDay request of job "job-1", attempt 1, for client c1.
func writeReq(dept, register string, date civil.Date, zone string, fields []*posimportv1.FieldValues) *posimportv1.WriteDayRequest {
	return &posimportv1.WriteDayRequest{
		ClientId: "c1", DepartmentId: dept, RegisterId: register, Date: date.String(), TimeZone: zone,
		Fields: fields, ImportId: "imp-1", JobId: "job-1", FencingToken: 1,
	}
}

// mustWrite calls WriteDay and fails the test unless the outcome is want.
func (b *testBundle) mustWrite(t testing.TB, req *posimportv1.WriteDayRequest, want posimportv1.WriteOutcome) *posimportv1.WriteDayResponse {
	t.Helper()
	resp, err := b.balance.WriteDay(context.Background(), req)
	if err != nil {
		t.Fatalf("WriteDay %s %s/%s: %v", req.GetDate(), req.GetDepartmentId(), req.GetRegisterId(), err)
	}
	if resp.GetOutcome() != want {
		t.Fatalf("WriteDay %s: outcome %v, want %v", req.GetDate(), resp.GetOutcome(), want)
	}
	return resp
}

// week reads a week over REST with token and decodes it.
func (b *testBundle) week(t testing.TB, token, client, dept, week string) *posimportv1.WeeklyBalance {
	t.Helper()
	r := b.svc.Do(t, "GET", "/v1/clients/"+client+"/departments/"+dept+"/weeks/"+week, token, nil)
	if r.Status != 200 {
		t.Fatalf("GET week %s: %d %s", week, r.Status, r.Body)
	}
	var resp posimportv1.GetWeeklyBalanceResponse
	decode(t, r.Body, &resp)
	return resp.GetBalance()
}

// day reads a day over REST with token and decodes it.
func (b *testBundle) day(t testing.TB, token, client, dept string, date civil.Date) *posimportv1.GetDayResponse {
	t.Helper()
	r := b.svc.Do(t, "GET", "/v1/clients/"+client+"/departments/"+dept+"/days/"+date.String(), token, nil)
	if r.Status != 200 {
		t.Fatalf("GET day %s: %d %s", date, r.Status, r.Body)
	}
	var resp posimportv1.GetDayResponse
	decode(t, r.Body, &resp)
	return &resp
}

func decode(t testing.TB, body []byte, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal(body, m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func fieldOf(fields []*posimportv1.FieldDay, id int64) *posimportv1.FieldDay {
	for _, f := range fields {
		if f.GetFieldId() == id {
			return f
		}
	}
	return nil
}

func mustDate(t testing.TB, s string) civil.Date {
	t.Helper()
	d, err := civil.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sum adds decimal strings exactly.
func sum(t testing.TB, values []string) decimal.Decimal {
	t.Helper()
	total := decimal.Zero
	for _, v := range values {
		d, err := decimal.NewFromString(v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		total = total.Add(d)
	}
	return total
}
