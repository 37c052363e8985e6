// Package api implements the AuthService RPCs over the connection manager: it checks who may
// call what (the Policy role table), validates requests naming the field at fault, and turns
// connections into the contract's messages, which never hold a token except AccessToken's.
package api

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/connection"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// Policy is the AuthService role table. Supervisors start consents; the integration contact
// enables; both may disconnect; every role of the client reads the status. The import-worker
// reads a client's connection (StartImport's check), lists the enabled ones (the nightly
// schedule), takes access tokens (its jobs) and reports the registers its imports saw;
// re-encryption is the auth service's own
// maintenance, run with its identity when TOKEN_KEYS rotate.
var Policy = authn.Policy{
	posimportv1.AuthService_BeginConnect_FullMethodName:    {Roles: authn.Supervisors},
	posimportv1.AuthService_GetConnection_FullMethodName:   {Roles: authn.Readers, Services: importWorker},
	posimportv1.AuthService_ListConnections_FullMethodName: {Services: importWorker},
	posimportv1.AuthService_SetEnabled_FullMethodName:      {Roles: []authn.Role{authn.RoleIntegrationContact}},
	posimportv1.AuthService_Disconnect_FullMethodName: {Roles: []authn.Role{
		authn.RoleSupervisor, authn.RoleRegionalSupervisor, authn.RoleIntegrationContact,
	}},
	posimportv1.AuthService_AccessToken_FullMethodName:     {Services: importWorker},
	posimportv1.AuthService_ReencryptTokens_FullMethodName: {Services: []string{authn.ServiceAuth}},
	posimportv1.AuthService_ReportRegisters_FullMethodName: {Services: importWorker},
}

var importWorker = []string{authn.ServiceImportWorker}

// Server implements posimportv1.AuthServiceServer.
type Server struct {
	posimportv1.UnimplementedAuthServiceServer
	m *connection.Manager
}

var _ posimportv1.AuthServiceServer = (*Server)(nil)

// New returns the API over m.
func New(m *connection.Manager) *Server { return &Server{m: m} }

// BeginConnect implements posimportv1.AuthServiceServer.
func (s *Server) BeginConnect(ctx context.Context, req *posimportv1.BeginConnectRequest) (*posimportv1.BeginConnectResponse, error) {
	if err := validate.ID("client_id", req.GetClientId()); err != nil {
		return nil, err
	}
	p, _ := authn.FromContext(ctx)
	u, exp, err := s.m.Begin(ctx, req.GetClientId(), p.Subject, req.GetProvider())
	if err != nil {
		return nil, err
	}
	return &posimportv1.BeginConnectResponse{AuthorizeUrl: u, ExpireTime: timestamppb.New(exp)}, nil
}

// GetConnection implements posimportv1.AuthServiceServer.
func (s *Server) GetConnection(ctx context.Context, req *posimportv1.GetConnectionRequest) (*posimportv1.GetConnectionResponse, error) {
	var (
		c     store.Connection
		found bool
		chk   connection.Check
		err   error
	)
	if req.GetStatusOnly() {
		c, found, err = s.m.Status(ctx, req.GetClientId())
	} else {
		c, found, chk, err = s.m.Get(ctx, req.GetClientId())
	}
	if err != nil {
		return nil, err
	}
	out := s.toProto(req.GetClientId(), c, found)
	out.DepartmentCheckError = chk.Err
	for _, b := range chk.Businesses {
		pb := &posimportv1.PosBusiness{BusinessId: b.ID, Name: b.Name}
		for _, l := range b.Locations {
			pb.Locations = append(pb.Locations, &posimportv1.PosLocation{LocationId: l.ID, Name: l.Name, TimeZone: l.TimeZone, Archived: l.Archived})
		}
		out.Businesses = append(out.Businesses, pb)
	}
	for _, mm := range chk.Mismatches {
		out.DepartmentMismatches = append(out.DepartmentMismatches, &posimportv1.DepartmentMismatch{
			DepartmentId: mm.DepartmentID, PosClientNumber: mm.PosClientNumber, Reason: mm.Reason,
		})
	}
	if found && !req.GetStatusOnly() {
		regs, err := s.m.Registers(ctx, c)
		if err != nil {
			return nil, err
		}
		out.Registers = s.registers(regs)
	}
	return &posimportv1.GetConnectionResponse{Connection: out}, nil
}

// ListConnections implements posimportv1.AuthServiceServer.
func (s *Server) ListConnections(ctx context.Context, req *posimportv1.ListConnectionsRequest) (*posimportv1.ListConnectionsResponse, error) {
	if err := requireService(ctx, authn.ServiceImportWorker, true); err != nil {
		return nil, err
	}
	st := req.GetStatus()
	if _, ok := posimportv1.ConnectionStatus_name[int32(st)]; !ok {
		return nil, apierr.Invalid("status", "unknown status %d", st)
	}
	if st == posimportv1.ConnectionStatus_CONNECTION_STATUS_NOT_CONNECTED {
		return nil, apierr.Invalid("status", "clients that never connected have no connection; list clients with the config service")
	}
	size := req.GetPageSize()
	switch {
	case size < 0 || size > 1000:
		return nil, apierr.Invalid("page_size", "must be between 0 and 1000")
	case size == 0:
		size = 100
	}
	rows, err := s.m.List(ctx, st, req.GetPageToken(), size+1)
	if err != nil {
		return nil, err
	}
	resp := &posimportv1.ListConnectionsResponse{}
	if len(rows) > int(size) {
		rows = rows[:size]
		resp.NextPageToken = rows[len(rows)-1].ClientID
	}
	for _, c := range rows {
		resp.Connections = append(resp.Connections, s.toProto(c.ClientID, c, true))
	}
	return resp, nil
}

// SetEnabled implements posimportv1.AuthServiceServer.
func (s *Server) SetEnabled(ctx context.Context, req *posimportv1.SetEnabledRequest) (*posimportv1.SetEnabledResponse, error) {
	if err := validate.ID("client_id", req.GetClientId()); err != nil {
		return nil, err
	}
	c, err := s.m.SetEnabled(ctx, req.GetClientId(), req.GetEnabled())
	if err != nil {
		return nil, err
	}
	return &posimportv1.SetEnabledResponse{Connection: s.toProto(req.GetClientId(), c, true)}, nil
}

// Disconnect implements posimportv1.AuthServiceServer.
func (s *Server) Disconnect(ctx context.Context, req *posimportv1.DisconnectRequest) (*posimportv1.DisconnectResponse, error) {
	c, err := s.m.Disconnect(ctx, req.GetClientId())
	if err != nil {
		return nil, err
	}
	return &posimportv1.DisconnectResponse{Connection: s.toProto(req.GetClientId(), c, true)}, nil
}

// requireService is a second line behind the policy for the services-only RPCs: the caller
// must be the service named service, as its key says (authn binds a service's identity to its
// key), and, for RPCs that span every client, act for all clients.
func requireService(ctx context.Context, service string, allClients bool) error {
	p, _ := authn.FromContext(ctx)
	if !p.IsService() || p.Service != service || p.Subject != authn.ServiceSubject(service) {
		return apierr.PermissionDenied("only posimport's %s service may call this", service)
	}
	if allClients && !slices.Contains(p.Clients, authn.AllClients) {
		return apierr.PermissionDenied("this spans every client: the caller must act for all clients")
	}
	return nil
}

// AccessToken implements posimportv1.AuthServiceServer.
func (s *Server) AccessToken(ctx context.Context, req *posimportv1.AccessTokenRequest) (*posimportv1.AccessTokenResponse, error) {
	if err := requireService(ctx, authn.ServiceImportWorker, false); err != nil {
		return nil, err
	}
	tok, err := s.m.AccessToken(ctx, req.GetClientId(), req.GetForceRefresh())
	if err != nil {
		return nil, err
	}
	return &posimportv1.AccessTokenResponse{
		AccessToken: tok.Access.Reveal(), ExpireTime: timestamppb.New(tok.Expiry),
		AccountId: tok.AccountID, Provider: tok.Provider, Status: tok.Status,
	}, nil
}

// ReencryptTokens implements posimportv1.AuthServiceServer.
func (s *Server) ReencryptTokens(ctx context.Context, _ *posimportv1.ReencryptTokensRequest) (*posimportv1.ReencryptTokensResponse, error) {
	if err := requireService(ctx, authn.ServiceAuth, true); err != nil {
		return nil, err
	}
	conns, states, kid, err := s.m.Reencrypt(ctx)
	if err != nil {
		return nil, err
	}
	return &posimportv1.ReencryptTokensResponse{Reencrypted: int32(conns), ReencryptedStates: int32(states), KeyId: kid}, nil
}

func (s *Server) toProto(clientID string, c store.Connection, found bool) *posimportv1.Connection {
	if !found {
		return &posimportv1.Connection{
			ClientId: clientID, Status: posimportv1.ConnectionStatus_CONNECTION_STATUS_NOT_CONNECTED,
			ReconnectUrl: s.m.ReconnectURL(clientID),
		}
	}
	out := &posimportv1.Connection{
		ClientId: c.ClientID, Status: c.Status, Provider: c.Provider, AccountId: c.AccountID,
		ConsentTime: ts(c.ConsentTime), LastRefreshTime: ts(c.LastRefreshTime),
		LastError: c.LastError, LastErrorTime: ts(c.LastErrorTime), EnableTime: ts(c.EnableTime),
	}
	if c.Status == posimportv1.ConnectionStatus_CONNECTION_STATUS_NEEDS_REAUTH ||
		c.Status == posimportv1.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED {
		out.ReconnectUrl = s.m.ReconnectURL(c.ClientID)
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
