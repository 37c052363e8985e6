// Package authn authenticates and authorises every RPC: it verifies bearer JWTs (issuer,
// audience, expiry, keys from configuration), checks the caller's role against one explicit
// per-RPC table (deny by default), and checks the request's client_id against the clients the
// token may act for. One interceptor serves gRPC and REST, because grpc-gateway forwards the
// Authorization header to the gRPC server.
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
	// Readers may read a client's data.
	Readers = []Role{RoleSupervisor, RoleRegionalSupervisor, RoleIntegrationContact, RoleViewer, RoleService}
	// Services are posimport's own components.
	Services = []Role{RoleService}
)

// AllClients in a token's clients claim lets a service act for every client.
const AllClients = "*"

// Principal is the authenticated caller.
type Principal struct {
	Subject string
	Role    Role
	Clients []string
}

// CanActFor reports whether the caller may act for client.
func (p Principal) CanActFor(client string) bool {
	if client == "" {
		return false
	}
	return slices.Contains(p.Clients, client) || (p.Role == RoleService && slices.Contains(p.Clients, AllClients))
}

// IsService reports whether the caller is a posimport service.
func (p Principal) IsService() bool { return p.Role == RoleService }

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
