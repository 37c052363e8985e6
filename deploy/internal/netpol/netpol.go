// Package netpol evaluates Kubernetes NetworkPolicies the way the API documents them, so a
// test can list which flows a set of policies lets through: a pod selected by no policy of a
// direction is open in that direction; a selected pod accepts only what some rule of a
// selecting policy allows; traffic needs both the source's egress and the destination's
// ingress. ipBlock peers match addresses outside the cluster only.
package netpol

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Endpoint is a pod, or an address outside the cluster (Pod false), at one end of a flow.
type Endpoint struct {
	// Name identifies the endpoint in reports.
	Name string
	// Pod is true for a pod in the cluster; policies apply only to pods.
	Pod bool
	// Namespace and NamespaceLabels are the pod's namespace.
	Namespace       string
	NamespaceLabels map[string]string
	// Labels are the pod's labels.
	Labels map[string]string
	// NamedPorts resolves a policy's named port on this pod.
	NamedPorts map[string]int32
	// IP is an external endpoint's address, matched by ipBlock peers.
	IP netip.Addr
}

// Port is a destination port.
type Port struct {
	Protocol corev1.Protocol
	Number   int32
}

// Allowed reports whether policies let src open a connection to dst on port.
func Allowed(policies []networkingv1.NetworkPolicy, src, dst Endpoint, port Port) bool {
	return allowed(policies, src, dst, port, networkingv1.PolicyTypeEgress) &&
		allowed(policies, dst, src, port, networkingv1.PolicyTypeIngress)
}

// allowed applies the policies of self's namespace in one direction; peer is the other end,
// and port is always the destination's.
func allowed(policies []networkingv1.NetworkPolicy, self, peer Endpoint, port Port, dir networkingv1.PolicyType) bool {
	if !self.Pod {
		return true
	}
	selected := false
	dst := peer
	if dir == networkingv1.PolicyTypeIngress {
		dst = self
	}
	for _, p := range policies {
		if p.Namespace != self.Namespace || !hasType(p, dir) || !matches(&p.Spec.PodSelector, self.Labels) {
			continue
		}
		selected = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range p.Spec.Ingress {
				if peersMatch(r.From, p.Namespace, peer) && portsMatch(r.Ports, dst, port) {
					return true
				}
			}
			continue
		}
		for _, r := range p.Spec.Egress {
			if peersMatch(r.To, p.Namespace, peer) && portsMatch(r.Ports, dst, port) {
				return true
			}
		}
	}
	return !selected
}

// hasType follows the API default: Ingress always, Egress when the policy has egress rules.
func hasType(p networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) > 0 {
		return slices.Contains(p.Spec.PolicyTypes, dir)
	}
	return dir == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNamespace string, e Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peerMatches(peer, policyNamespace, e) {
			return true
		}
	}
	return false
}

func peerMatches(peer networkingv1.NetworkPolicyPeer, policyNamespace string, e Endpoint) bool {
	if peer.IPBlock != nil {
		return !e.Pod && inBlock(peer.IPBlock, e.IP)
	}
	if !e.Pod {
		return false
	}
	if peer.NamespaceSelector == nil {
		return e.Namespace == policyNamespace && matches(peer.PodSelector, e.Labels)
	}
	if !matches(peer.NamespaceSelector, e.NamespaceLabels) {
		return false
	}
	return peer.PodSelector == nil || matches(peer.PodSelector, e.Labels)
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !ip.IsValid() || !cidr.Contains(ip) {
		return false
	}
	for _, ex := range b.Except {
		if p, err := netip.ParsePrefix(ex); err == nil && p.Contains(ip) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst Endpoint, port Port) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != port.Protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		n := p.Port.IntVal
		if p.Port.Type == intstr.String {
			var ok bool
			if n, ok = dst.NamedPorts[p.Port.StrVal]; !ok {
				continue
			}
		}
		end := n
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port.Number >= n && port.Number <= end {
			return true
		}
	}
	return false
}

// matches applies a label selector; nil selects nothing and an empty one everything, as in
// the API.
func matches(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(set))
}
