package authn

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// Rule says who may call one RPC: people by role, posimport's services by identity. Anyone
// else gets PermissionDenied.
type Rule struct {
	// Public RPCs need no token (health checks, reflection).
	Public bool
	// Roles are the people's roles allowed (tokens of the main app's keys).
	Roles []Role
	// Services are the service identities allowed (tokens of those services' own keys), e.g.
	// ServiceImportWorker.
	Services []string
}

// allows reports whether the rule lets p call.
func (r Rule) allows(p Principal) bool {
	if p.IsService() {
		return slices.Contains(r.Services, p.Service)
	}
	return p.Service == "" && p.Role != RoleService && slices.Contains(r.Roles, p.Role)
}

// Policy maps full method names ("/posimport.v1.ConfigService/GetClientSettings") to rules.
// An RPC missing from it is refused: deny by default.
type Policy map[string]Rule

// PublicRPCs are the standard health and reflection services, open to all.
var PublicRPCs = Policy{
	"/grpc.health.v1.Health/Check":                                   {Public: true},
	"/grpc.health.v1.Health/Watch":                                   {Public: true},
	"/grpc.health.v1.Health/List":                                    {Public: true},
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      {Public: true},
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {Public: true},
}

// Merge returns one policy holding all of ps; a method defined twice is a programming error.
func Merge(ps ...Policy) Policy {
	out := Policy{}
	for _, p := range ps {
		for m, r := range p {
			if _, dup := out[m]; dup {
				panic("authn: method in two policies: " + m)
			}
			out[m] = r
		}
	}
	return out
}

// Missing returns the methods of the services that the policy does not cover, sorted. Each
// service's tests assert it is empty, so a new RPC cannot ship without a rule.
func (p Policy) Missing(services ...grpc.ServiceDesc) []string {
	var missing []string
	for _, sd := range services {
		for _, m := range sd.Methods {
			if _, ok := p["/"+sd.ServiceName+"/"+m.MethodName]; !ok {
				missing = append(missing, "/"+sd.ServiceName+"/"+m.MethodName)
			}
		}
		for _, s := range sd.Streams {
			if _, ok := p["/"+sd.ServiceName+"/"+s.StreamName]; !ok {
				missing = append(missing, "/"+sd.ServiceName+"/"+s.StreamName)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// Authorizer applies a policy with a verifier.
type Authorizer struct {
	verifier *Verifier
	policy   Policy
}

// NewAuthorizer returns an authorizer; the public health and reflection RPCs are added.
func NewAuthorizer(v *Verifier, p Policy) *Authorizer {
	return &Authorizer{verifier: v, policy: Merge(PublicRPCs, p)}
}

// authenticate checks the token and the role for method and returns the caller.
func (a *Authorizer) authenticate(ctx context.Context, method string) (context.Context, *Rule, error) {
	rule, ok := a.policy[method]
	if !ok {
		return nil, nil, apierr.PermissionDenied("method %s is not allowed", method)
	}
	if rule.Public {
		return ctx, &rule, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var header string
	if vals := md.Get("authorization"); len(vals) > 0 {
		header = vals[0]
	}
	p, err := a.AuthenticateHeader(header)
	if err != nil {
		return nil, nil, err
	}
	if !rule.allows(p) {
		if p.IsService() {
			return nil, nil, apierr.PermissionDenied("service %q may not call %s", p.Service, shortMethod(method))
		}
		return nil, nil, apierr.PermissionDenied("role %q may not call %s", p.Role, shortMethod(method))
	}
	return WithPrincipal(ctx, p), &rule, nil
}

// AuthenticateHeader verifies an Authorization header's value ("Bearer <token>") as every
// RPC does, and returns the caller. REST checks it before reading a request's body, so an
// unauthenticated caller cannot make the server read or parse one.
func (a *Authorizer) AuthenticateHeader(value string) (Principal, error) {
	if value == "" {
		return Principal{}, apierr.Unauthenticated("missing bearer token")
	}
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return Principal{}, apierr.Unauthenticated("authorization must be \"Bearer <token>\"")
	}
	return a.verifier.Verify(token)
}

// CheckClient refuses a request whose client_id field the caller may not act for. Requests
// without such a field are checked by their handler (e.g. list RPCs filter by the caller).
func CheckClient(ctx context.Context, req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	fd := m.ProtoReflect().Descriptor().Fields().ByName("client_id")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil
	}
	client := m.ProtoReflect().Get(fd).String()
	if client == "" {
		return apierr.Invalid("client_id", "required")
	}
	p, ok := FromContext(ctx)
	if !ok {
		return apierr.Unauthenticated("no caller")
	}
	if !p.CanActFor(client) {
		return apierr.PermissionDenied("caller may not act for client %q", client)
	}
	return nil
}

// UnaryInterceptor authenticates, authorises and checks the client of unary RPCs.
func (a *Authorizer) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, rule, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		if !rule.Public {
			if err := CheckClient(ctx, req); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor does the same for streaming RPCs; the client check runs on each
// received message.
func (a *Authorizer) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, rule, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &checkedStream{ServerStream: ss, ctx: ctx, check: !rule.Public})
	}
}

type checkedStream struct {
	grpc.ServerStream
	ctx   context.Context
	check bool
}

func (s *checkedStream) Context() context.Context { return s.ctx }

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.check {
		return CheckClient(s.ctx, m)
	}
	return nil
}

func shortMethod(full string) string {
	if i := strings.LastIndex(full, "/"); i >= 0 {
		return full[i+1:]
	}
	return full
}

// String describes a rule for error messages and docs.
func (r Rule) String() string {
	if r.Public {
		return "public"
	}
	return fmt.Sprintf("roles %v, services %v", r.Roles, r.Services)
}
