package allinone_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

var (
	supervisors = []authn.Role{authn.RoleSupervisor, authn.RoleRegionalSupervisor}
	readers     = []authn.Role{authn.RoleSupervisor, authn.RoleRegionalSupervisor, authn.RoleIntegrationContact, authn.RoleViewer}
	people      = readers
)

// callers is who should get through each RPC: people by role, posimport's services by name.
// It is written out here, apart from the services' own tables, so that widening a table
// takes a second, deliberate change.
var callers = map[string]struct {
	roles    []authn.Role
	services []string
}{
	"ConfigService/GetClientSettings":    {roles: readers, services: []string{"auth"}},
	"ConfigService/UpdateClientSettings": {roles: supervisors},
	"ConfigService/ListClients":          {roles: readers, services: []string{"balance", "import-worker"}},
	"ConfigService/ListDepartments":      {roles: readers, services: []string{"auth"}},
	"ConfigService/GetDepartment":        {roles: readers},
	"ConfigService/PutDepartment":        {roles: supervisors},
	"ConfigService/DeleteDepartment":     {roles: supervisors},
	"ConfigService/ListFields":           {roles: readers},
	"ConfigService/PutField":             {roles: supervisors},
	"ConfigService/DeleteField":          {roles: supervisors},
	"ConfigService/GetClientConfig":      {roles: readers, services: []string{"balance", "import-worker"}},

	"AuthService/BeginConnect":    {roles: supervisors},
	"AuthService/GetConnection":   {roles: readers, services: []string{"import-worker"}},
	"AuthService/ListConnections": {services: []string{"import-worker"}},
	"AuthService/SetEnabled":      {roles: []authn.Role{authn.RoleIntegrationContact}},
	"AuthService/Disconnect":      {roles: []authn.Role{authn.RoleSupervisor, authn.RoleRegionalSupervisor, authn.RoleIntegrationContact}},
	"AuthService/AccessToken":     {services: []string{"import-worker"}},
	"AuthService/ReencryptTokens": {services: []string{"auth"}},
	"AuthService/ReportRegisters": {services: []string{"import-worker"}},

	"BalanceService/WriteDay":              {services: []string{"import-worker"}},
	"BalanceService/WriteDays":             {services: []string{"import-worker"}},
	"BalanceService/MarkDaysImported":      {services: []string{"import-worker"}},
	"BalanceService/WriteDaysBatch":        {services: []string{"import-worker"}},
	"BalanceService/MarkDaysImportedBatch": {services: []string{"import-worker"}},
	"BalanceService/GetWeeklyBalance":      {roles: readers},
	"BalanceService/GetDay":                {roles: readers},
	"BalanceService/ApproveDays":           {roles: supervisors},
	"BalanceService/ReopenDays":            {roles: supervisors},
	"BalanceService/ListCorrections":       {roles: readers},
	"BalanceService/ApplyCorrection":       {roles: supervisors},
	"BalanceService/DismissCorrection":     {roles: supervisors},
	"BalanceService/ListAuditRecords":      {roles: readers},

	"ImportService/StartImport":  {roles: supervisors},
	"ImportService/GetImport":    {roles: readers},
	"ImportService/ListImports":  {roles: readers},
	"ImportService/CancelImport": {roles: supervisors},
	"ImportService/WatchImport":  {roles: readers},
}

// signer is one kind of token: a person of the main app, a posimport service, or a forgery.
type signer struct {
	name    string
	token   string
	role    authn.Role
	service string
	forged  bool
}

// TestEveryRPCAgainstEverySigner calls every RPC of the four services through the all-in-one
// process's role table with a token of every kind of signer: each posimport service's own key,
// the main app's key with each person's role, and forgeries — the main app's key claiming the
// service role, a service subject and every client (the probe's reproduction), a service's key
// claiming another service, keys with the wrong issuer, and a key nobody trusts. Only the
// intended callers get through; forgeries are Unauthenticated, everyone else PermissionDenied.
func TestEveryRPCAgainstEverySigner(t *testing.T) {
	t.Parallel()
	keys := servicetest.NewKeys(t)
	v, err := authn.NewVerifier(keys.Config)
	if err != nil {
		t.Fatal(err)
	}
	az := authn.NewAuthorizer(v, allinone.Policy)

	var signers []signer
	for _, role := range people {
		signers = append(signers, signer{name: "main app " + string(role), token: keys.Token(t, role, "c1"), role: role})
	}
	for _, name := range servicetest.Services {
		signers = append(signers, signer{name: "service " + name, token: keys.ServiceToken(t, name), service: name})
	}
	app, svc := servicetest.MainAppIssuer, authn.ServiceIssuer
	for name, f := range map[string]servicetest.Forgery{
		"main app as service:anything, all clients": {Key: "app", Issuer: app, Subject: "service:anything", Role: authn.RoleService, Clients: []string{"*"}},
		"main app as the import-worker":             {Key: "app", Issuer: app, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"main app with posimport's issuer":          {Key: "app", Issuer: svc, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"main app supervisor of all clients":        {Key: "app", Issuer: app, Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"*"}},
		"balance as the import-worker":              {Key: "balance", Issuer: svc, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"import-worker as a supervisor":             {Key: "import-worker", Issuer: svc, Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}},
		"import-worker with the app's issuer":       {Key: "import-worker", Issuer: app, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"unknown key as the import-worker":          {Issuer: svc, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"unknown key as a supervisor":               {Issuer: app, Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}},
		"100-year supervisor":                       {Key: "app", Issuer: app, Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}, TTL: 100 * 365 * 24 * time.Hour},
	} {
		signers = append(signers, signer{name: "forged: " + name, token: keys.Forge(t, f), forged: true})
	}

	seen := 0
	for _, sd := range allinone.Services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(sd.ServiceName))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			short := strings.TrimPrefix(sd.ServiceName, "posimport.v1.") + "/" + string(m.Name())
			want, ok := callers[short]
			if !ok {
				t.Errorf("%s: not in the test's table of intended callers", short)
				continue
			}
			seen++
			for _, s := range signers {
				t.Run(short+"/"+s.name, func(t *testing.T) {
					t.Parallel()
					called, err := call(az, "/"+sd.ServiceName+"/"+string(m.Name()), m, s.token)
					st, _ := apierr.ToStatus(err)
					var wantCode codes.Code
					switch {
					case s.forged:
						wantCode = codes.Unauthenticated
					case s.service != "" && slices.Contains(want.services, s.service),
						s.service == "" && slices.Contains(want.roles, s.role):
						wantCode = codes.OK
					default:
						wantCode = codes.PermissionDenied
					}
					if st.Code() != wantCode || called != (wantCode == codes.OK) {
						t.Errorf("code %v (%v), handler called %v; want %v", st.Code(), err, called, wantCode)
					}
				})
			}
		}
	}
	if seen != len(callers) {
		t.Errorf("the table names %d RPCs, the services have %d", len(callers), seen)
	}
}

// call runs the all-in-one process's interceptor for method with token, on a request for
// client c1, and reports whether the handler ran.
func call(az *authn.Authorizer, method string, m protoreflect.MethodDescriptor, token string) (bool, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		return false, err
	}
	req := mt.New().Interface()
	if fd := m.Input().Fields().ByName("client_id"); fd != nil {
		req.ProtoReflect().Set(fd, protoreflect.ValueOfString("c1"))
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	called := false
	if !m.IsStreamingServer() && !m.IsStreamingClient() {
		_, err := az.UnaryInterceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
			called = true
			return nil, nil
		})
		return called, err
	}
	err = az.StreamInterceptor()(nil, &stream{ctx: ctx, req: req}, &grpc.StreamServerInfo{FullMethod: method}, func(_ any, ss grpc.ServerStream) error {
		in := mt.New().Interface()
		if err := ss.RecvMsg(in); err != nil {
			return err
		}
		called = true
		return nil
	})
	return called, err
}

// stream is a server stream whose one message is req.
type stream struct {
	grpc.ServerStream
	ctx context.Context
	req proto.Message
}

func (s *stream) Context() context.Context { return s.ctx }

func (s *stream) RecvMsg(m any) error {
	proto.Merge(m.(proto.Message), s.req)
	return nil
}

// TestREADMERoleTableIsThePolicy: the role table in the README says what the code enforces,
// row for row.
func TestREADMERoleTableIsThePolicy(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]string{"config": "ConfigService", "auth": "AuthService", "balance": "BalanceService", "import-worker": "ImportService"}
	list := func(cell string) []string {
		if cell == "—" {
			return nil
		}
		var out []string
		for _, v := range strings.Split(cell, ",") {
			out = append(out, strings.TrimSpace(v))
		}
		slices.Sort(out)
		return out
	}
	roles := func(cell string) []string {
		switch cell {
		case "readers":
			cell = "supervisor, regional_supervisor, integration_contact, viewer"
		case "supervisors":
			cell = "supervisor, regional_supervisor"
		}
		return list(cell)
	}
	inTable, rows := false, 0
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "| service | RPC | people | posimport services |" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 4 || services[cells[0]] == "" {
			t.Fatalf("README role table row %q", line)
		}
		rows++
		method := "/posimport.v1." + services[cells[0]] + "/" + cells[1]
		rule, ok := allinone.Policy[method]
		if !ok {
			t.Errorf("README names %s, which has no rule", method)
			continue
		}
		var codeRoles []string
		for _, r := range rule.Roles {
			codeRoles = append(codeRoles, string(r))
		}
		slices.Sort(codeRoles)
		codeServices := slices.Sorted(slices.Values(rule.Services))
		if !slices.Equal(roles(cells[2]), codeRoles) || !slices.Equal(list(cells[3]), codeServices) {
			t.Errorf("%s: README says people %v, services %v; the code %v, %v", method, roles(cells[2]), list(cells[3]), codeRoles, codeServices)
		}
	}
	if rows != len(allinone.Policy) {
		t.Errorf("README's role table has %d rows, the policy %d rules", rows, len(allinone.Policy))
	}
}
