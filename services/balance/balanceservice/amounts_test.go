package balanceservice_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// canonicalAmount is an amount's one form: no trailing zeros after the point, no point
// without decimals, no exponent, no negative zero.
var canonicalAmount = regexp.MustCompile(`^(0|-?[1-9][0-9]*|-?(0|[1-9][0-9]*)\.[0-9]*[1-9])$`)

// TestAmountsCanonical: amounts written with trailing zeros (as Lightspeed's decimals and sums
// of them come) are answered in canonical form everywhere the balance answers them (the week's
// hours, day totals and week totals, the day's per-register values, over REST and gRPC), so a
// value is always the same string: "1.50" + "1.50" is "3", not "3.00".
func TestAmountsCanonical(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11", "12"}})
	mon, tue := mustDate(t, "2026-11-02"), mustDate(t, "2026-11-03")
	hours := func(first ...string) []string {
		h := slices.Repeat([]string{"0.00"}, 24)
		copy(h, first)
		return h
	}
	write := func(register string, day string, gross []string, grossTotal, returned string) {
		t.Helper()
		b.mustWrite(t, writeReq("d1", register, mustDate(t, day), copenhagen, []*posimportv1.FieldValues{
			{FieldId: 5261, Hours: gross, Total: grossTotal}, {FieldId: 5267, Total: returned},
		}), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	}
	write("11", "2026-11-02", hours("1.50", "0.250", "0.000"), "1.750", "10.10")
	write("12", "2026-11-02", hours("1.50", "2", "0.0"), "3.50", "9.90")
	write("11", "2026-11-03", hours(), "0.00", "5.5000")

	zeros := slices.Repeat([]string{"0"}, 24)
	canon := func(first ...string) []string {
		h := slices.Clone(zeros)
		copy(h, first)
		return h
	}
	type field struct {
		Hours []string
		Total string
	}
	wantDays := map[string]map[int64]field{
		mon.String(): {5261: {canon("3", "2.25"), "5.25"}, 5267: {nil, "20"}},
		tue.String(): {5261: {zeros, "0"}, 5267: {nil, "5.5"}},
	}
	wantTotals := map[int64]string{5261: "5.25", 5267: "25.5"}
	wantRegisters := map[string]map[int64]field{
		"11": {5261: {canon("1.5", "0.25"), "1.75"}, 5267: {nil, "10.1"}},
		"12": {5261: {canon("1.5", "2"), "3.5"}, 5267: {nil, "9.9"}},
	}

	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	reader := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, viewer))
	grpcWeek, err := reader.GetWeeklyBalance(context.Background(), &posimportv1.GetWeeklyBalanceRequest{ClientId: "c1", DepartmentId: "d1", Week: "2026-W45"})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*posimportv1.WeeklyBalance{"REST": b.week(t, viewer, "c1", "d1", "2026-W45"), "gRPC": grpcWeek.GetBalance()} {
		gotDays := map[string]map[int64]field{}
		for _, d := range w.GetDays() {
			for _, f := range d.GetFields() {
				if !f.GetImported() {
					continue
				}
				if gotDays[d.GetDate()] == nil {
					gotDays[d.GetDate()] = map[int64]field{}
				}
				gotDays[d.GetDate()][f.GetFieldId()] = field{f.GetHours(), f.GetTotal()}
			}
		}
		if diff := cmp.Diff(wantDays, gotDays); diff != "" {
			t.Errorf("%s week's days (-want +got):\n%s", name, diff)
		}
		gotTotals := map[int64]string{}
		for _, ft := range w.GetTotals() {
			if ft.GetTotal() != "" {
				gotTotals[ft.GetFieldId()] = ft.GetTotal()
			}
		}
		if diff := cmp.Diff(wantTotals, gotTotals); diff != "" {
			t.Errorf("%s week's totals (-want +got):\n%s", name, diff)
		}
	}

	gotRegisters := map[string]map[int64]field{}
	for _, r := range b.day(t, viewer, "c1", "d1", mon).GetRegisters() {
		gotRegisters[r.GetRegisterId()] = map[int64]field{}
		for _, f := range r.GetFields() {
			gotRegisters[r.GetRegisterId()][f.GetFieldId()] = field{f.GetHours(), f.GetTotal()}
		}
	}
	if diff := cmp.Diff(wantRegisters, gotRegisters); diff != "" {
		t.Errorf("day's registers (-want +got):\n%s", diff)
	}

	// Every amount of the REST answers, as written on the wire.
	for _, path := range []string{"/weeks/2026-W45", "/days/" + mon.String()} {
		r := b.svc.Do(t, "GET", "/v1/clients/c1/departments/d1"+path, viewer, nil)
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatal(err)
		}
		n := 0
		walkAmounts(v, func(a string) {
			n++
			if a != "" && !canonicalAmount.MatchString(a) {
				t.Errorf("GET %s: amount %q is not canonical", path, a)
			}
		})
		if n == 0 {
			t.Errorf("GET %s: no amounts in %s", path, r.Body)
		}
	}
}

// walkAmounts calls f with each string under a "hours" or "total" member of v.
func walkAmounts(v any, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, m := range x {
			switch {
			case k == "total":
				if s, ok := m.(string); ok {
					f(s)
				}
			case k == "hours":
				hs, _ := m.([]any)
				for _, h := range hs {
					if s, ok := h.(string); ok {
						f(s)
					}
				}
			default:
				walkAmounts(m, f)
			}
		}
	case []any:
		for _, m := range x {
			walkAmounts(m, f)
		}
	}
}
