package authservice_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

// report sends a register report as the import-worker.
func (b *testBundle) report(t *testing.T, req *posimportv1.ReportRegistersRequest) *posimportv1.ReportRegistersResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := b.svcAuth.ReportRegisters(ctx, req)
	if err != nil {
		t.Fatalf("report registers: %v", err)
	}
	return resp
}

// unmappedMetric scrapes the auth service and returns posimport_auth_unmapped_registers per
// client.
func (b *testBundle) unmappedMetric(t *testing.T) map[string]string {
	t.Helper()
	resp, err := http.Get(b.auth.HTTPBase + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^posimport_auth_unmapped_registers\{client_id="([^"]+)"\} (\S+)$`).FindAllStringSubmatch(string(body), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// registerJSON is a PosRegister as REST answers it.
type registerJSON struct {
	LocationID        string  `json:"location_id"`
	RegisterID        string  `json:"register_id"`
	Mapped            bool    `json:"mapped"`
	SalesCount        string  `json:"sales_count"`
	GrossSales        string  `json:"gross_sales"`
	FirstSaleDate     string  `json:"first_sale_date"`
	LastSaleDate      string  `json:"last_sale_date"`
	FirstSeenTime     *string `json:"first_seen_time"`
	LastSeenTime      *string `json:"last_seen_time"`
	FirstSeenRecently bool    `json:"first_seen_recently"`
}

func (b *testBundle) registers(t *testing.T, client string) []registerJSON {
	t.Helper()
	r := b.auth.Do(t, "GET", "/v1/clients/"+client+"/connection", b.keys.Token(t, authn.RoleViewer, client), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get connection: %d %s", r.Status, r.Body)
	}
	var resp struct {
		Connection struct {
			Registers []registerJSON `json:"registers"`
		} `json:"connection"`
	}
	r.JSON(t, &resp)
	for i := range resp.Connection.Registers {
		reg := &resp.Connection.Registers[i]
		if reg.FirstSeenTime == nil || reg.LastSeenTime == nil {
			t.Errorf("register %s without its seen times", reg.RegisterID)
		}
		reg.FirstSeenTime, reg.LastSeenTime = nil, nil
	}
	return resp.Connection.Registers
}

func sighting(location, register string, mapped bool, days ...*posimportv1.RegisterDaySales) *posimportv1.RegisterSighting {
	return &posimportv1.RegisterSighting{LocationId: location, RegisterId: register, Mapped: mapped, Days: days}
}

func day(date string, count int64, gross string) *posimportv1.RegisterDaySales {
	return &posimportv1.RegisterDaySales{Date: date, SalesCount: count, GrossSales: gross}
}

// brief is a PosRegister without its times, for comparisons.
func brief(regs []*posimportv1.PosRegister) []*posimportv1.PosRegister {
	out := make([]*posimportv1.PosRegister, len(regs))
	for i, r := range regs {
		out[i] = &posimportv1.PosRegister{LocationId: r.GetLocationId(), RegisterId: r.GetRegisterId(), Mapped: r.GetMapped(),
			SalesCount: r.GetSalesCount(), GrossSales: r.GetGrossSales(), FirstSaleDate: r.GetFirstSaleDate(),
			LastSaleDate: r.GetLastSaleDate(), FirstSeenRecently: r.GetFirstSeenRecently()}
	}
	return out
}

// TestReportRegisters follows registers through reports: an import sees two mapped registers
// and an unmapped one with sales; its report repeated counts nothing twice; a later import
// sees more of the unmapped register's sales and a new register; GetConnection, the metric and
// the answers say which are unmapped, with their sales, and which are new; new ones stop being
// new after 7 days; a register stops being reported once a report says a department maps it;
// and a consent to another account shows none of the old account's.
func TestReportRegisters(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", true)
	b.connected(t, "c2", true)
	account, _ := b.account(0)

	first := &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: account, ImportId: "imp-1", Registers: []*posimportv1.RegisterSighting{
		sighting("1", "1", true), sighting("1", "2", true),
		sighting("2", "5", false, day("2025-12-30", 3, "120.50"), day("2025-12-31", 1, "10")),
	}}
	resp := b.report(t, first)
	wantUnmapped := []*posimportv1.PosRegister{{LocationId: "2", RegisterId: "5", SalesCount: 4, GrossSales: "130.5",
		FirstSaleDate: "2025-12-30", LastSaleDate: "2025-12-31", FirstSeenRecently: true}}
	wantFirst := []*posimportv1.PosRegister{
		{LocationId: "1", RegisterId: "1", Mapped: true, GrossSales: "0", FirstSeenRecently: true},
		{LocationId: "1", RegisterId: "2", Mapped: true, GrossSales: "0", FirstSeenRecently: true},
		wantUnmapped[0],
	}
	if diff := cmp.Diff(wantFirst, brief(resp.GetFirstSeen()), protocmp.Transform()); diff != "" {
		t.Errorf("first report, first seen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantUnmapped, brief(resp.GetUnmapped()), protocmp.Transform()); diff != "" {
		t.Errorf("first report, unmapped (-want +got):\n%s", diff)
	}
	// The same report again (a retried call): the same answer, nothing counted twice.
	again := b.report(t, first)
	if diff := cmp.Diff(brief(resp.GetFirstSeen()), brief(again.GetFirstSeen()), protocmp.Transform()); diff != "" {
		t.Errorf("repeated report, first seen (-first +again):\n%s", diff)
	}
	if diff := cmp.Diff(wantUnmapped, brief(again.GetUnmapped()), protocmp.Transform()); diff != "" {
		t.Errorf("repeated report, unmapped (-want +got):\n%s", diff)
	}

	// A later import: more days of register 5 (12-31 again, replaced), and a new register 6.
	b.clock.Advance(24 * time.Hour)
	resp = b.report(t, &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: account, ImportId: "imp-2", Registers: []*posimportv1.RegisterSighting{
		sighting("1", "1", true),
		sighting("2", "5", false, day("2025-12-31", 2, "25"), day("2026-01-01", 1, "5.000")),
		sighting("2", "6", false),
	}})
	wantUnmapped = []*posimportv1.PosRegister{
		{LocationId: "2", RegisterId: "5", SalesCount: 6, GrossSales: "150.5", FirstSaleDate: "2025-12-30", LastSaleDate: "2026-01-01", FirstSeenRecently: true},
		{LocationId: "2", RegisterId: "6", GrossSales: "0", FirstSeenRecently: true},
	}
	if diff := cmp.Diff(wantUnmapped[1:], brief(resp.GetFirstSeen()), protocmp.Transform()); diff != "" {
		t.Errorf("second report, first seen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantUnmapped, brief(resp.GetUnmapped()), protocmp.Transform()); diff != "" {
		t.Errorf("second report, unmapped (-want +got):\n%s", diff)
	}
	got := b.registers(t, "c1")
	want := []registerJSON{
		{LocationID: "1", RegisterID: "1", Mapped: true, SalesCount: "0", GrossSales: "0", FirstSeenRecently: true},
		{LocationID: "1", RegisterID: "2", Mapped: true, SalesCount: "0", GrossSales: "0", FirstSeenRecently: true},
		{LocationID: "2", RegisterID: "5", SalesCount: "6", GrossSales: "150.5", FirstSaleDate: "2025-12-30", LastSaleDate: "2026-01-01", FirstSeenRecently: true},
		{LocationID: "2", RegisterID: "6", SalesCount: "0", GrossSales: "0", FirstSeenRecently: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetConnection registers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"c1": "2"}, b.unmappedMetric(t)); diff != "" {
		t.Errorf("metric (-want +got):\n%s", diff)
	}

	// Eight days on, nothing is new: only the unmapped registers remain listed.
	b.clock.Advance(8 * 24 * time.Hour)
	got = b.registers(t, "c1")
	if len(got) != 2 || got[0].RegisterID != "5" || got[1].RegisterID != "6" || got[0].FirstSeenRecently || got[1].FirstSeenRecently {
		t.Errorf("after 8 days: %+v", got)
	}

	// A department maps register 5: the next report says so, and it is no longer reported. Its
	// sales while unmapped are forgotten: unmapped again, it starts from nothing.
	resp = b.report(t, &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: account, ImportId: "imp-3",
		Registers: []*posimportv1.RegisterSighting{sighting("2", "5", true)}})
	if len(resp.GetFirstSeen()) != 0 || len(resp.GetUnmapped()) != 1 || resp.GetUnmapped()[0].GetRegisterId() != "6" {
		t.Errorf("after mapping 5: %v", resp)
	}
	if got := b.registers(t, "c1"); len(got) != 1 || got[0].RegisterID != "6" {
		t.Errorf("GetConnection after mapping 5: %+v", got)
	}
	if diff := cmp.Diff(map[string]string{"c1": "1"}, b.unmappedMetric(t)); diff != "" {
		t.Errorf("metric after mapping 5 (-want +got):\n%s", diff)
	}
	resp = b.report(t, &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: account, ImportId: "imp-4",
		Registers: []*posimportv1.RegisterSighting{sighting("2", "5", false)}})
	if u := resp.GetUnmapped(); len(u) != 2 || u[0].GetRegisterId() != "5" || u[0].GetSalesCount() != 0 || u[0].GetGrossSales() != "0" {
		t.Errorf("5 unmapped again: %v", u)
	}

	// The other client's registers are its own.
	if got := b.registers(t, "c2"); len(got) != 0 {
		t.Errorf("c2 shows c1's registers: %+v", got)
	}

	// A consent to another account: the old account's registers are not shown or counted.
	if q := b.consent(t, "c1", "100002"); q.Get("result") != "connected" {
		t.Fatalf("consent to 100002: %v", q)
	}
	if got := b.registers(t, "c1"); len(got) != 0 {
		t.Errorf("after a consent to another account: %+v", got)
	}
	if got := b.unmappedMetric(t); len(got) != 0 {
		t.Errorf("metric after a consent to another account: %v", got)
	}
}

// TestReportRegistersRefusals: only the import-worker may report; bad reports are refused
// naming the field; a report for a client without a connection, or about an account the
// client is no longer connected to, is FAILED_PRECONDITION; and nothing is written.
func TestReportRegistersRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", true)
	account, _ := b.account(0)
	ok := func() *posimportv1.ReportRegistersRequest {
		return &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: account, ImportId: "imp-1",
			Registers: []*posimportv1.RegisterSighting{sighting("1", "7", false, day("2025-12-30", 1, "5"))}}
	}
	with := func(f func(r *posimportv1.ReportRegistersRequest)) *posimportv1.ReportRegistersRequest {
		r := ok()
		f(r)
		return r
	}
	many := make([]*posimportv1.RegisterSighting, 1001)
	for i := range many {
		many[i] = sighting("1", strings.Repeat("9", 1+i%9)+string(rune('a'+i/26%26))+string(rune('a'+i%26)), true)
	}
	person := posimportv1.NewAuthServiceClient(b.keys.DialPerson(t, b.auth.GRPCAddr, authn.RoleSupervisor))
	balance := posimportv1.NewAuthServiceClient(b.keys.Dial(t, b.auth.GRPCAddr, authn.ServiceBalance))
	tests := []struct {
		name      string
		client    posimportv1.AuthServiceClient
		req       *posimportv1.ReportRegistersRequest
		wantCode  codes.Code
		wantField string
	}{
		{name: "a person", client: person, req: ok(), wantCode: codes.PermissionDenied},
		{name: "another service", client: balance, req: ok(), wantCode: codes.PermissionDenied},
		{name: "no client", req: with(func(r *posimportv1.ReportRegistersRequest) { r.ClientId = "" }), wantCode: codes.InvalidArgument, wantField: "client_id"},
		{name: "no account", req: with(func(r *posimportv1.ReportRegistersRequest) { r.AccountId = "" }), wantCode: codes.InvalidArgument, wantField: "account_id"},
		{name: "no import", req: with(func(r *posimportv1.ReportRegistersRequest) { r.ImportId = "" }), wantCode: codes.InvalidArgument, wantField: "import_id"},
		{name: "bad location", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].LocationId = "a b" }), wantCode: codes.InvalidArgument, wantField: "registers[0].location_id"},
		{name: "no register", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].RegisterId = "" }), wantCode: codes.InvalidArgument, wantField: "registers[0].register_id"},
		{name: "register twice", wantCode: codes.InvalidArgument, wantField: "registers[1].register_id",
			req: with(func(r *posimportv1.ReportRegistersRequest) {
				r.Registers = append(r.Registers, sighting("1", "7", true))
			})},
		{name: "days of a mapped register", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Mapped = true }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days"},
		{name: "bad date", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Days[0].Date = "2025-12-32" }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days[0].date"},
		{name: "date out of range", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Days[0].Date = "1999-12-31" }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days[0].date"},
		{name: "date twice", req: with(func(r *posimportv1.ReportRegistersRequest) {
			r.Registers[0].Days = append(r.Registers[0].Days, day("2025-12-30", 2, "1"))
		}), wantCode: codes.InvalidArgument, wantField: "registers[0].days[1].date"},
		{name: "negative count", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Days[0].SalesCount = -1 }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days[0].sales_count"},
		{name: "negative gross", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Days[0].GrossSales = "-1" }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days[0].gross_sales"},
		{name: "gross with an exponent", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers[0].Days[0].GrossSales = "1e9" }),
			wantCode: codes.InvalidArgument, wantField: "registers[0].days[0].gross_sales"},
		{name: "too many registers", req: with(func(r *posimportv1.ReportRegistersRequest) { r.Registers = many }),
			wantCode: codes.InvalidArgument, wantField: "registers"},
		{name: "client without a connection", req: with(func(r *posimportv1.ReportRegistersRequest) { r.ClientId = "c9" }), wantCode: codes.FailedPrecondition},
		{name: "another account", req: with(func(r *posimportv1.ReportRegistersRequest) { r.AccountId = "100002" }), wantCode: codes.FailedPrecondition},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client
			if client == nil {
				client = b.svcAuth
			}
			before := pgtest.Snapshot(t, b.pool, authservice.Schema)
			_, err := client.ReportRegisters(context.Background(), tc.req)
			if status.Code(err) != tc.wantCode {
				t.Errorf("got %v, want %s", err, tc.wantCode)
			}
			if tc.wantField != "" && apierr.FieldOf(err) != tc.wantField {
				t.Errorf("field = %q, want %q (%v)", apierr.FieldOf(err), tc.wantField, err)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, authservice.Schema)); diff != "" {
				t.Errorf("refused report changed the database (-before +after):\n%s", diff)
			}
		})
	}
	// The good report is accepted after all that.
	if resp := b.report(t, ok()); len(resp.GetUnmapped()) != 1 {
		t.Errorf("the good report: %v", resp)
	}
}

// TestReportRegistersConcurrently: reports of the same registers in opposite orders, at once,
// all succeed (one lock order, no deadlock) and leave each date's figures as last set.
func TestReportRegistersConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", true)
	account, _ := b.account(0)
	var regs []*posimportv1.RegisterSighting
	for i := range 20 {
		regs = append(regs, sighting("1", strconv.Itoa(100+i), false, day("2026-01-01", 2, "7.5")))
	}
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			mine := slices.Clone(regs)
			if w%2 == 1 {
				slices.Reverse(mine)
			}
			_, err := b.svcAuth.ReportRegisters(context.Background(), &posimportv1.ReportRegistersRequest{
				ClientId: "c1", AccountId: account, ImportId: "imp-" + strconv.Itoa(w), Registers: mine})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent report: %v", err)
		}
	}
	got := b.registers(t, "c1")
	if len(got) != 20 {
		t.Fatalf("%d registers, want 20", len(got))
	}
	for _, r := range got {
		if r.SalesCount != "2" || r.GrossSales != "7.5" {
			t.Errorf("register %s: %s sales, %s gross; want 2 and 7.5", r.RegisterID, r.SalesCount, r.GrossSales)
		}
	}
}
