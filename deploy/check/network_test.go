package check_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/posimport/posimport/deploy/internal/netpol"
)

// TestNetworkFlows evaluates the rendered NetworkPolicies over the endpoints around posimport
// and compares every flow they let through with DESIGN.md §2 (plus DNS, Prometheus and the
// database operator). A flow missing breaks the product; an extra one is a hole.
func TestNetworkFlows(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			var policies []networkingv1.NetworkPolicy
			for _, p := range all[networkingv1.NetworkPolicy](r) {
				policies = append(policies, *p)
			}
			nsLabels := map[string]string{"kubernetes.io/metadata.name": r.namespace}
			var ours []netpol.Endpoint
			for _, d := range all[appsv1.Deployment](r) {
				ports := map[string]int32{}
				for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
					ports[p.Name] = p.ContainerPort
				}
				ours = append(ours, netpol.Endpoint{Name: d.Name, Pod: true, Namespace: r.namespace,
					NamespaceLabels: nsLabels, Labels: d.Spec.Template.Labels, NamedPorts: ports})
			}
			db := netpol.Endpoint{Name: "postgres", Pod: true, Namespace: r.namespace, NamespaceLabels: nsLabels,
				Labels: map[string]string{"cnpg.io/cluster": "posimport-db", "cnpg.io/instanceRole": "primary"}}
			ext := func(name, ns string, nsExtra map[string]string, podLabels map[string]string) netpol.Endpoint {
				l := map[string]string{"kubernetes.io/metadata.name": ns}
				for k, v := range nsExtra {
					l[k] = v
				}
				return netpol.Endpoint{Name: name, Pod: true, Namespace: ns, NamespaceLabels: l, Labels: podLabels}
			}
			outside := []netpol.Endpoint{
				ext("main-app", "webapp", map[string]string{"posimport.io/api-client": "true"}, map[string]string{"app": "main"}),
				ext("stranger", "other", nil, map[string]string{"app.kubernetes.io/name": "prometheus"}),
				ext("prometheus", "monitoring", nil, map[string]string{"app.kubernetes.io/name": "prometheus"}),
				ext("grafana", "monitoring", nil, map[string]string{"app.kubernetes.io/name": "grafana"}),
				ext("ingress", "ingress-nginx", nil, map[string]string{"app.kubernetes.io/name": "ingress-nginx"}),
				ext("nats", "nats", nil, map[string]string{"app.kubernetes.io/name": "nats"}),
				ext("dns", "kube-system", nil, map[string]string{"k8s-app": "kube-dns"}),
				ext("cnpg-operator", "cnpg-system", nil, map[string]string{"app.kubernetes.io/name": "cloudnative-pg"}),
				{Name: "internet", IP: netip.MustParseAddr("203.0.113.7")},
				{Name: "private-net", IP: netip.MustParseAddr("10.20.30.40")},
			}
			ports := []netpol.Port{
				{Protocol: corev1.ProtocolTCP, Number: 8080}, {Protocol: corev1.ProtocolTCP, Number: 9090},
				{Protocol: corev1.ProtocolTCP, Number: 5432}, {Protocol: corev1.ProtocolTCP, Number: 4222},
				{Protocol: corev1.ProtocolTCP, Number: 443}, {Protocol: corev1.ProtocolUDP, Number: 53},
				{Protocol: corev1.ProtocolTCP, Number: 53}, {Protocol: corev1.ProtocolTCP, Number: 8000},
				{Protocol: corev1.ProtocolTCP, Number: 9187}, {Protocol: corev1.ProtocolTCP, Number: 80},
			}
			// Sources: our services and everything outside; destinations: our services, the
			// database and everything outside. The database's own egress is the operator's.
			srcs := append(append([]netpol.Endpoint{}, ours...), outside...)
			dsts := append(append(append([]netpol.Endpoint{}, ours...), db), outside...)
			var got []string
			for _, s := range srcs {
				for _, d := range dsts {
					if !s.Pod || s.Namespace != r.namespace {
						if !d.Pod || d.Namespace != r.namespace {
							continue // neither end is ours
						}
					}
					for _, p := range ports {
						if netpol.Allowed(policies, s, d, p) {
							got = append(got, fmt.Sprintf("%s -> %s %d/%s", s.Name, d.Name, p.Number, p.Protocol))
						}
					}
				}
			}
			if diff := cmp.Diff(wantFlows(), got, cmp.Transformer("sort", sortStrings)); diff != "" {
				t.Errorf("allowed flows (-want +got):\n%s", diff)
			}
		})
	}
}

// wantFlows is DESIGN.md §2 as network flows.
func wantFlows() []string {
	var out []string
	add := func(src, dst string, port int, proto string) {
		out = append(out, fmt.Sprintf("%s -> %s %d/%s", src, dst, port, proto))
	}
	for _, s := range services {
		add("main-app", s, 8080, "TCP")   // REST through grpc-gateway
		add("prometheus", s, 8080, "TCP") // /metrics
		add(s, "postgres", 5432, "TCP")   // its own schema
		add(s, "dns", 53, "UDP")
		add(s, "dns", 53, "TCP")
	}
	add("ingress", "auth", 8080, "TCP") // the OAuth callback
	for _, s := range []string{"config", "auth", "balance"} {
		add("import-worker", s, 9090, "TCP")
	}
	add("balance", "config", 9090, "TCP")
	add("auth", "config", 9090, "TCP")
	add("import-worker", "nats", 4222, "TCP")
	add("auth", "internet", 443, "TCP") // Lightspeed OAuth
	add("import-worker", "internet", 443, "TCP")
	add("prometheus", "postgres", 9187, "TCP")
	add("cnpg-operator", "postgres", 8000, "TCP")
	add("cnpg-operator", "postgres", 5432, "TCP")
	return out
}
