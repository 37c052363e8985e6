// Package authn authenticates and authorises every RPC: it verifies bearer JWTs (audience,
// expiry, lifetime, keys from configuration), checks the caller against one explicit per-RPC
// table (deny by default), and checks the request's client_id against the clients the token
// may act for. One interceptor serves gRPC and REST, because grpc-gateway forwards the
// Authorization header to the gRPC server.
//
// Every verification key is bound to an issuer. The main app's keys (JWT_APP_KEYS) vouch for
// people: a person's role, for named clients. Each posimport service's key (JWT_SERVICE_KEYS,
// and a service's own JWT_SIGNING_KEY) vouches for that one service only: the role service,
// the subject "service:<name>", and possibly all clients. A key claiming anything else is
// refused, so no key can mint another's identity, and a service-only RPC names the services
// that may call it.
package authn

import (
	"context"
	"slices"
)

// Role is what a caller may do. The main app issues the people's roles; services use RoleService.
type Role string

// The roles.
const (
	RoleSupervisor         Role = "supervisor"
	RoleRegionalSupervisor Role = "regional_supervisor"
	RoleIntegrationContact Role = "integration_contact"
	// RoleViewer may read a client's data and change nothing.
	RoleViewer Role = "viewer"
	// RoleService is a posimport service calling another one.
	RoleService Role = "service"
)

// Role groups used in the services' policies.
var (
	// Supervisors may change a client's configuration and balance.
	Supervisors = []Role{RoleSupervisor, RoleRegionalSupervisor}
	// Readers may read a client's data: every person with access to the client.
	Readers = []Role{RoleSupervisor, RoleRegionalSupervisor, RoleIntegrationContact, RoleViewer}
)

// AllClients in a token's clients claim lets a service act for every client.
const AllClients = "*"

// Principal is the authenticated caller.
type Principal struct {
	Subject string
	Role    Role
	Clients []string
	// Service is the identity of a posimport service, set only for tokens a service key
	// verified (the key is bound to it); empty for people.
	Service string
}

// CanActFor reports whether the caller may act for client.
func (p Principal) CanActFor(client string) bool {
	if client == "" {
		return false
	}
	return slices.Contains(p.Clients, client) || (p.IsService() && slices.Contains(p.Clients, AllClients))
}

// IsService reports whether the caller is a posimport service, as its key says.
func (p Principal) IsService() bool { return p.Service != "" && p.Role == RoleService }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller of the current request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
