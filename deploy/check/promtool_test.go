package check_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// promtool returns the promtool binary: $PROMTOOL (make deploy-check passes the one make tools
// pinned), else the one on PATH. Without it the test fails: the alert rules' unit tests are
// part of deploy-check.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("PROMTOOL=%s: %v (run make tools)", p, err)
		}
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("no promtool: run make tools (or set PROMTOOL)")
	}
	return p
}

// TestAlertRuleUnitTests runs testdata/promtool/*_test.yaml with `promtool test rules` against
// each overlay's rendered alert rules, written as a Prometheus rule file
// (posimport.rules.yaml): the stale-data alert judged in Copenhagen, New York and Sydney.
func TestAlertRuleUnitTests(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	tests, err := filepath.Glob(filepath.Join("testdata", "promtool", "*_test.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool tests in testdata/promtool (%v)", err)
	}
	// The overlays render the same rules, as a rule; each distinct set is tested once.
	tested := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(overlays)) {
		var spec monitoringv1.PrometheusRuleSpec
		for _, pr := range all[monitoringv1.PrometheusRule](overlay(t, name)) {
			spec.Groups = append(spec.Groups, pr.Spec.Groups...)
		}
		if len(spec.Groups) == 0 {
			t.Fatalf("overlay %s: no alert rules rendered", name)
		}
		rules, err := yaml.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		if tested[string(rules)] {
			continue
		}
		tested[string(rules)] = true
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "posimport.rules.yaml"), rules, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"test", "rules"}
			for _, test := range tests {
				b, err := os.ReadFile(test)
				if err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(dir, filepath.Base(test))
				if err := os.WriteFile(dst, b, 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, dst)
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("promtool %v: %v\n%s", args, err, out)
			}
			t.Logf("%s", out)
		})
	}
}
