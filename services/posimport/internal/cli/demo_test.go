package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/pgtest"
)

// TestDemo runs "posimport demo" (smaller than make demo's, on the test's database): it
// prints each department's week and an hourly curve, and checks them against the oracle itself.
func TestDemo(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := Execute(context.Background(), []string{"demo", "--weeks", "2", "--sim-sales-per-day", "10", "--database-url", pgtest.NewDatabase(t),
		"--log-level", "warn"}, &out, &strings.Builder{})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`\[1/7\] posimport is up`,
		`client "demo" \(Europe/Copenhagen\): POS import with Lightspeed Retail, 3 departments, 8 fields mapped`,
		`d1\s+Shop 1\s+shop 1, Europe/Copenhagen, registers 1, 2, 3`,
		`d2\s+Shop 2\s+shop 2, Europe/Copenhagen, registers 4, 5, 6`,
		`d3\s+Shop 3\s+shop 3, America/New_York, as one unit`,
		`status connected`, `status enabled`,
		`import \S+ succeeded: 98 register-days written`,
		`d1\s+\[=+\] 3 / 3 jobs`,
		`d3  Shop 3 \(America/New_York, the whole shop as one unit, 3 registers\)`,
		`Sat \d{4}-\d\d-\d\d\s+[\d,]+\.\d\d\s+[\d,]+\.\d\d.*not imported`,
		`Gross sales per hour on Sat`,
		`\[7/7\] every figure above, and every day and hour of the 2 weeks, matches the simulator's oracle`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %s in the demo's output:\n%s", want, out.String())
		}
	}
}
