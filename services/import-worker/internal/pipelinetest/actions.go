package pipelinetest

import (
	"context"
	"net/http"
	"testing"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// StartImport starts an import over gRPC as a supervisor and returns its id.
func (e *Env) StartImport(t testing.TB, client string, deps []Department, from, until civil.Date, overwrite bool) string {
	t.Helper()
	var ids []string
	for _, d := range deps {
		ids = append(ids, d.ID)
	}
	resp, err := e.ImportClient(t, client).StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: client, DepartmentIds: ids, FromDate: from.String(), UntilDate: until.String(), OverwriteApproved: overwrite,
	})
	if err != nil {
		t.Fatalf("start import: %v", err)
	}
	return resp.GetImport().GetImportId()
}

// Days reads a department's days from the balance, by date.
func (e *Env) Days(t testing.TB, client, dep string, from, until civil.Date) map[string]*posimportv1.GetDayResponse {
	t.Helper()
	out := map[string]*posimportv1.GetDayResponse{}
	for d := from; !d.After(until); d = d.AddDays(1) {
		resp, err := e.BalanceClient.GetDay(context.Background(), &posimportv1.GetDayRequest{ClientId: client, DepartmentId: dep, Date: d.String()})
		if err != nil {
			t.Fatalf("GetDay %s %s: %v", dep, d, err)
		}
		out[d.String()] = resp
	}
	return out
}

// Approve approves a department's days as a supervisor, through balance's REST API.
func (e *Env) Approve(t testing.TB, client, dep string, from, until civil.Date) {
	t.Helper()
	r := e.Balance.Do(t, "POST", "/v1/clients/"+client+"/departments/"+dep+"/days:approve", e.Keys.Token(t, authn.RoleSupervisor, client),
		map[string]any{"from_date": from.String(), "until_date": until.String()})
	if r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
}

// ConfigClient and AuthClient call the config and auth services as the import-worker does.
func (e *Env) ConfigClient(t testing.TB) posimportv1.ConfigServiceClient {
	return posimportv1.NewConfigServiceClient(e.dial(t, e.Config.GRPCAddr, authn.ServiceImportWorker))
}

// AuthClient calls the auth service as the import-worker does.
func (e *Env) AuthClient(t testing.TB) posimportv1.AuthServiceClient {
	return posimportv1.NewAuthServiceClient(e.dial(t, e.Auth.GRPCAddr, authn.ServiceImportWorker))
}
