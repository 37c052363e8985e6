package cli

import (
	"context"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/logging/logtest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
)

// TestDemo runs "posimport demo" (smaller than make demo's, on the test's database): it
// prints each department's week and an hourly curve, and checks them against the oracle
// itself. Its log, at debug, is what a log pipeline accepts (checkDemoLog).
func TestDemo(t *testing.T) {
	t.Parallel()
	var out, stderr strings.Builder
	err := Execute(context.Background(), []string{"demo", "--weeks", "2", "--sim-sales-per-day", "10", "--database-url", pgtest.NewDatabase(t),
		"--log-level", "debug", "--keep"}, &out, &stderr)
	if m := regexp.MustCompile(`kept (\S+) \(logs in (\S+)\)`).FindStringSubmatch(stderr.String()); m != nil {
		t.Cleanup(func() { _ = os.RemoveAll(m[1]) })
		checkDemoLog(t, m[2])
	} else {
		t.Errorf("the demo did not say where it kept its log:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`\[1/8\] posimport is up`,
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
		`\[7/8\] every figure above, and every day and hour of the 2 weeks, matches the simulator's oracle`,
		`\[8/8\] the approved day kept its values; the re-import recorded a pending correction for d1 register 1 on \d{4}-\d\d-\d\d`,
		`note: 1 approved register-days differ from the POS now: kept as pending corrections`,
		`cause: import started by a person re-read the day`,
		`Gross sales\s+12:00\s+[\d.]+ → [\d.]+`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %s in the demo's output:\n%s", want, out.String())
		}
	}
}

// checkDemoLog reads the demo's log as a log pipeline would: every line one JSON object with
// each key once (encoding/json/v2 semantics), naming its service and its component, with
// durations only under keys that name their unit.
func checkDemoLog(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines, errs := logtest.Parse(b)
	for _, err := range errs {
		t.Errorf("log: %v", err)
	}
	services := map[string]int{}
	components := map[string]int{}
	for _, l := range lines {
		svc, comp := l.String("service"), l.String("component")
		if svc == "" || comp == "" {
			t.Errorf("log line without a service or component: %v", l)
		}
		services[svc]++
		components[comp]++
		for k := range l {
			if k == "duration" || strings.HasSuffix(k, "_time") {
				t.Errorf("log key %q: a duration's key names its unit (_ms): %v", k, l)
			}
		}
	}
	t.Logf("demo log: %d lines, %d rejected; services %v; components %v", len(lines)+len(errs), len(errs), services, components)
	for _, want := range []string{"posimport", "config", "auth", "balance", "import-worker"} {
		if services[want] == 0 {
			t.Errorf("no log line of service %q (%v)", want, services)
		}
	}
	for _, want := range []string{"server", "worker", "migrate"} {
		if components[want] == 0 {
			t.Errorf("no log line of component %q (%v)", want, slices.Sorted(maps.Keys(components)))
		}
	}
}
