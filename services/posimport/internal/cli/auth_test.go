package cli

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// TestPrintConnectionBusinesses: the status of a Lightspeed Restaurant consent covering two
// businesses shows the account, each business and its locations (archived ones marked).
func TestPrintConnectionBusinesses(t *testing.T) {
	t.Parallel()
	c := &posimportv1.Connection{ClientId: "acme", Status: posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED,
		Provider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT, AccountId: "300001,300002",
		Businesses: []*posimportv1.PosBusiness{
			{BusinessId: "300001", Name: "North Group", Locations: []*posimportv1.PosLocation{{LocationId: "300001001", Name: "Soho", TimeZone: "Europe/London"}}},
			{BusinessId: "300002", Name: "South Group", Locations: []*posimportv1.PosLocation{
				{LocationId: "300002001", Name: "Brooklyn", TimeZone: "America/New_York"},
				{LocationId: "300002002", Name: "Old pier", TimeZone: "America/New_York", Archived: true}}},
		}}
	var out bytes.Buffer
	if err := printConnection(&out, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`POS account\s+300001,300002`,
		`business 300001\s+North Group\n\s+location 300001001\s+Soho, Europe/London\n`,
		`business 300002\s+South Group\n\s+location 300002001\s+Brooklyn, America/New_York\n\s+location 300002002\s+Old pier, America/New_York, archived`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %s in\n%s", want, out.String())
		}
	}
}

// TestPrintConnectionRegisters: registers no department maps are shown with their sales that
// are not imported; new ones say when they were first seen.
func TestPrintConnectionRegisters(t *testing.T) {
	t.Parallel()
	seen := timestamppb.New(time.Date(2026, 1, 2, 9, 30, 0, 0, time.Local))
	c := &posimportv1.Connection{ClientId: "acme", Status: posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED,
		Registers: []*posimportv1.PosRegister{
			{LocationId: "1", RegisterId: "2", Mapped: true, GrossSales: "0", FirstSeenTime: seen, FirstSeenRecently: true},
			{LocationId: "2", RegisterId: "5", SalesCount: 6, GrossSales: "150.5", FirstSaleDate: "2025-12-30", LastSaleDate: "2026-01-01", FirstSeenTime: seen},
			{LocationId: "2", RegisterId: "6", GrossSales: "0", FirstSeenTime: seen, FirstSeenRecently: true},
		}}
	var out bytes.Buffer
	if err := printConnection(&out, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`register 2\s+location 1, mapped, new: first seen 2026-01-02 09:30:00\n`,
		`register 5\s+location 2, NO DEPARTMENT, not imported: 6 sales, gross 150.5, 2025-12-30 to 2026-01-01\n`,
		`register 6\s+location 2, NO DEPARTMENT, not imported: 0 sales, gross 0, new: first seen 2026-01-02 09:30:00\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %s in\n%s", want, out.String())
		}
	}
}
