package netpol_test

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/posimport/posimport/deploy/internal/netpol"
)

func sel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func tcp(port intstr.IntOrString) []networkingv1.NetworkPolicyPort {
	proto := corev1.ProtocolTCP
	return []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &port}}
}

func policy(name string, pods *metav1.LabelSelector, types []networkingv1.PolicyType, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: *pods, PolicyTypes: types, Ingress: in, Egress: out},
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	pod := func(name, ns string, nsLabels map[string]string, kv ...string) netpol.Endpoint {
		return netpol.Endpoint{Name: name, Pod: true, Namespace: ns, NamespaceLabels: nsLabels,
			Labels: sel(kv...).MatchLabels, NamedPorts: map[string]int32{"http": 8080}}
	}
	appNS := map[string]string{"kubernetes.io/metadata.name": "app"}
	web := pod("web", "app", appNS, "name", "web")
	api := pod("api", "app", appNS, "name", "api")
	other := pod("other", "elsewhere", map[string]string{"team": "x"}, "name", "web")
	trusted := pod("trusted", "front", map[string]string{"trusted": "true"}, "name", "proxy")
	internet := netpol.Endpoint{Name: "internet", IP: netip.MustParseAddr("203.0.113.7")}
	private := netpol.Endpoint{Name: "private", IP: netip.MustParseAddr("10.1.2.3")}
	denyAll := policy("deny", &metav1.LabelSelector{}, both, nil, nil)
	apiFromWeb := policy("api", sel("name", "api"), []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("name", "web")}}, Ports: tcp(intstr.FromString("http"))}}, nil)
	apiFromTrustedNS := policy("trusted", sel("name", "api"), nil,
		[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("trusted", "true")}}}}, nil)
	webOut := policy("web-out", sel("name", "web"), []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, nil,
		[]networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("name", "api")}}, Ports: tcp(intstr.FromInt32(8080))},
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}}}, Ports: tcp(intstr.FromInt32(443))},
		})
	http := netpol.Port{Protocol: corev1.ProtocolTCP, Number: 8080}
	https := netpol.Port{Protocol: corev1.ProtocolTCP, Number: 443}
	tests := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		src, dst netpol.Endpoint
		port     netpol.Port
		want     bool
	}{
		{"no policy: open", nil, web, api, http, true},
		{"deny all", []networkingv1.NetworkPolicy{denyAll}, web, api, http, false},
		{"named port allowed from web", []networkingv1.NetworkPolicy{apiFromWeb}, web, api, http, true},
		{"other port refused", []networkingv1.NetworkPolicy{apiFromWeb}, web, api, https, false},
		{"same labels in another namespace refused", []networkingv1.NetworkPolicy{apiFromWeb}, other, api, http, false},
		{"namespace selector admits any pod of it", []networkingv1.NetworkPolicy{apiFromTrustedNS}, trusted, api, https, true},
		{"namespace selector refuses others", []networkingv1.NetworkPolicy{apiFromTrustedNS}, other, api, http, false},
		{"egress needed too", []networkingv1.NetworkPolicy{denyAll, apiFromWeb}, web, api, http, false},
		{"egress and ingress both open", []networkingv1.NetworkPolicy{denyAll, apiFromWeb, webOut}, web, api, http, true},
		{"ipBlock admits a public address", []networkingv1.NetworkPolicy{denyAll, webOut}, web, internet, https, true},
		{"ipBlock except refuses", []networkingv1.NetworkPolicy{denyAll, webOut}, web, private, https, false},
		{"ipBlock never matches a pod", []networkingv1.NetworkPolicy{denyAll, webOut}, web, trusted, https, false},
		{"external source needs an ingress rule", []networkingv1.NetworkPolicy{apiFromWeb}, internet, api, http, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := netpol.Allowed(tc.policies, tc.src, tc.dst, tc.port); got != tc.want {
				t.Errorf("Allowed(%s -> %s:%d) = %v, want %v", tc.src.Name, tc.dst.Name, tc.port.Number, got, tc.want)
			}
		})
	}
}
