package cli

import (
	"bytes"
	"regexp"
	"testing"

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
