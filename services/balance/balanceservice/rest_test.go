package balanceservice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// TestRESTEqualsGRPC: the REST answers (in-process call, own JSON encoder) are byte for byte
// what protojson makes of the gRPC answers (over the network), on real data: a spring DST
// week with two registers, one day approved, one day only partly imported, days not imported.
func TestRESTEqualsGRPC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11", "12"}})
	wk := civil.Week{Year: 2026, Week: 13}
	for i, date := range wk.Days()[:5] {
		b.mustWrite(t, writeReq("d1", "11", date, copenhagen, dayValues(t, date, copenhagen, i)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
		if i%2 == 0 {
			b.mustWrite(t, writeReq("d1", "12", date, copenhagen, dayValues(t, date, copenhagen, 10+i)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
		}
	}
	sunday := wk.Days()[6] // 23 hours, nothing imported
	b.mustWrite(t, writeReq("d1", "11", sunday, copenhagen, dayValues(t, sunday, copenhagen, 7)[:2]), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup, map[string]any{"from_date": "2026-03-24", "until_date": "2026-03-24"}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	client := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, viewer))
	ctx := context.Background()
	for _, tc := range []struct {
		name, path string
		call       func() (proto.Message, error)
	}{
		{"week", "/v1/clients/c1/departments/d1/weeks/2026-W13", func() (proto.Message, error) {
			return client.GetWeeklyBalance(ctx, &posimportv1.GetWeeklyBalanceRequest{ClientId: "c1", DepartmentId: "d1", Week: "2026-W13"})
		}},
		{"approved day with two registers", "/v1/clients/c1/departments/d1/days/2026-03-24", func() (proto.Message, error) {
			return client.GetDay(ctx, &posimportv1.GetDayRequest{ClientId: "c1", DepartmentId: "d1", Date: "2026-03-24"})
		}},
		{"DST day, partly imported", "/v1/clients/c1/departments/d1/days/2026-03-29", func() (proto.Message, error) {
			return client.GetDay(ctx, &posimportv1.GetDayRequest{ClientId: "c1", DepartmentId: "d1", Date: "2026-03-29"})
		}},
		{"day not imported", "/v1/clients/c1/departments/d1/days/2026-03-28", func() (proto.Message, error) {
			return client.GetDay(ctx, &posimportv1.GetDayRequest{ClientId: "c1", DepartmentId: "d1", Date: "2026-03-28"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.svc.Do(t, "GET", tc.path, viewer, nil)
			if r.Status != 200 {
				t.Fatalf("GET %s: %d %s", tc.path, r.Status, r.Body)
			}
			m, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			want, err := server.GatewayJSONOptions().Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(compact.Bytes(), r.Body) {
				t.Errorf("REST answer differs from protojson of the gRPC answer\nREST: %s\ngRPC: %s", r.Body, compact.Bytes())
			}
		})
	}
}
