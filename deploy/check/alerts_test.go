package check_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
)

// requestedMetrics are metrics the alerts use that no service exports yet; each is asked of
// its owners with this name, type and labels (deploy/README.md, "Open requests"). Remove an
// entry when the service registers it. None is open now.
var requestedMetrics = map[string]string{}

// externalMetrics come from the NATS exporter (chart promExporter, -jsz=all, prefix nats),
// kube-state-metrics and Prometheus itself.
var externalMetrics = map[string]bool{
	"up": true, "nats_consumer_num_pending": true, "nats_consumer_num_ack_pending": true,
	"kube_deployment_status_replicas": true,
}

// exportedMetrics are the metric names registered in the services' and pkg's Go code.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	out := map[string]bool{}
	name := regexp.MustCompile(`Name:\s*"(posimport_[a-z0-9_]+)"`)
	for _, dir := range []string{"services", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			for _, m := range name.FindAllSubmatch(b, -1) {
				out[string(m[1])] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkExpr parses a PromQL expression and checks each metric it selects is exported by a
// service, by a known exporter, or requested.
func checkExpr(t *testing.T, where, expr string, exported map[string]bool) {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	for _, vs := range parser.ExtractSelectors(e) {
		for _, m := range vs {
			if m.Name != "__name__" {
				continue
			}
			n := m.Value
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
			if !exported[n] && !exported[base] && !externalMetrics[n] && requestedMetrics[n] == "" {
				t.Errorf("%s: metric %s is exported by no service and not requested", where, n)
			}
		}
	}
}

// TestAlertRules: every rule parses, uses known metrics and says what to do; the alerts the
// operators asked for are all there.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	exported := exportedMetrics(t)
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var alerts []string
			for _, pr := range all[monitoringv1.PrometheusRule](overlay(t, name)) {
				for _, g := range pr.Spec.Groups {
					for _, rule := range g.Rules {
						alerts = append(alerts, rule.Alert)
						checkExpr(t, rule.Alert, rule.Expr.String(), exported)
						if rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
							t.Errorf("%s: want a severity label and a summary", rule.Alert)
						}
					}
				}
			}
			want := []string{
				"PosimportDepartmentDataStale", "PosimportNightlyRunMissing", "PosimportNightlyImportSlow",
				"PosimportJobsFailed", "PosimportJobBacklogOld", "PosimportJobConsumerStalled",
				"PosimportImportWorkerDown", "PosimportServiceDown", "PosimportClientsNeedReauth",
				"PosimportNightlySkippedClients", "PosimportLightspeedRateLimited", "PosimportAutoConfirmFailing",
				"PosimportRPCErrors",
			}
			if diff := cmp.Diff(want, alerts); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

// dashboard is the part of a Grafana dashboard the check reads.
type dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestDashboard: the import-flow dashboard's queries parse and use known metrics.
func TestDashboard(t *testing.T) {
	t.Parallel()
	var d dashboard
	readJSON(t, filepath.Join(repoRoot(t), "deploy", "k8s", "base", "monitoring", "dashboards", "import-flow.json"), &d)
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard uid %q with %d panels", d.UID, len(d.Panels))
	}
	exported := exportedMetrics(t)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			checkExpr(t, p.Title, target.Expr, exported)
		}
	}
}
