package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// TestWriteErrorKnowsOnlyTheStaleFence: of the balance's refusals (as they arrive, encoded by
// apierr as the balance's interceptor encodes them) only Aborted with the reason
// STALE_FENCING_TOKEN makes the job give up as a zombie; a constraint violation
// (FailedPrecondition), a serialization failure (Aborted without a reason) and the like are
// the write's own failures: retried, or permanent for bad input.
func TestWriteErrorKnowsOnlyTheStaleFence(t *testing.T) {
	t.Parallel()
	wire := func(err error) error {
		st, _ := apierr.ToStatus(err)
		return st.Err()
	}
	tests := []struct {
		name          string
		err           error
		wantLost      bool
		wantPermanent bool
	}{
		{name: "stale fencing token", err: wire(apierr.AbortedFor(apierr.ReasonStaleFencingToken, "stale fencing token 1: the job's attempt 2 has written already")),
			wantLost: true},
		{name: "constraint violation", err: wire(apierr.FailedPrecondition("register day violates a constraint (register_days_fk)"))},
		{name: "stale wording without the reason", err: wire(apierr.FailedPrecondition("stale fencing token 1: the job's attempt 2 has written already"))},
		{name: "serialization failure", err: wire(apierr.Aborted("register day: concurrent update, retry"))},
		{name: "another reason", err: wire(apierr.AbortedFor("SOMETHING_ELSE", "no"))},
		{name: "invalid day", err: wire(apierr.Invalid("days[0].date", "2026-13-01 is not a date")), wantPermanent: true},
		{name: "unavailable", err: wire(apierr.Unavailable(errors.New("dial"), "balance unavailable"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := writeError("write 2026-11-01 to 2026-11-02 to the balance", tc.err)
			if lost := errors.Is(got, store.ErrLeaseLost); lost != tc.wantLost {
				t.Errorf("lease lost = %v, want %v (%v)", lost, tc.wantLost, got)
			}
			var perm *PermanentError
			if errors.As(got, &perm) != tc.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", !tc.wantPermanent, tc.wantPermanent, got)
			}
		})
	}
}

func TestMapFields(t *testing.T) {
	t.Parallel()
	retail := []pos.DataType{pos.GrossSales, pos.NetSales, pos.Discounts, pos.Returns, pos.Transactions, pos.GoodsSold, pos.GoodsReturned}
	def := func(id int64, dt posimportv1.PosDataType, split bool) *posimportv1.BalanceField {
		return &posimportv1.BalanceField{FieldId: id, PosDataType: dt, SplitIntoIntervals: split}
	}
	tests := []struct {
		name         string
		defs         []*posimportv1.BalanceField
		wantFields   []field
		wantUnmapped []pos.DataType
	}{
		{
			name: "visitors field is not written for a provider without visitors",
			defs: []*posimportv1.BalanceField{
				def(1, posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, true),
				def(2, posimportv1.PosDataType_POS_DATA_TYPE_VISITORS, true),
			},
			wantFields:   []field{{id: 1, dt: pos.GrossSales, split: true}},
			wantUnmapped: []pos.DataType{pos.NetSales, pos.Discounts, pos.Returns, pos.Transactions, pos.GoodsSold, pos.GoodsReturned},
		},
		{
			name:         "fields without POS data are ignored",
			defs:         []*posimportv1.BalanceField{def(9, posimportv1.PosDataType_POS_DATA_TYPE_UNSPECIFIED, false)},
			wantUnmapped: retail,
		},
		{
			name: "every type mapped leaves nothing unmapped",
			defs: []*posimportv1.BalanceField{
				def(1, 1, true), def(2, 2, false), def(3, 3, true), def(4, 4, true), def(5, 5, true), def(6, 6, false), def(7, 7, true),
			},
			wantFields: []field{{1, pos.GrossSales, true}, {2, pos.NetSales, false}, {3, pos.Discounts, true}, {4, pos.Returns, true},
				{5, pos.Transactions, true}, {6, pos.GoodsSold, false}, {7, pos.GoodsReturned, true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fields, unmapped := mapFields(tc.defs, retail)
			if diff := cmp.Diff(tc.wantFields, fields, cmp.AllowUnexported(field{})); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUnmapped, unmapped); diff != "" {
				t.Errorf("unmapped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFieldValuesAutumnDay renders the 25-hour autumn day in Copenhagen: a sale in each of the
// two 02:00 hours stays in its own hour, other hours are zeros, the total is exact.
func TestFieldValuesAutumnDay(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	day := civil.Date{Year: 2026, Month: time.October, Day: 25}
	s, err := aggregate.New(loc, day, day)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)  // 02:30 CEST
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC) // 02:30 CET
	for _, f := range []pos.SaleFigures{
		{SaleID: "1", CompletedAt: first, Metrics: pos.Metrics{GrossSales: decimal.RequireFromString("10.10"), Transactions: decimal.NewFromInt(1)}},
		{SaleID: "2", CompletedAt: second, Metrics: pos.Metrics{GrossSales: decimal.RequireFromString("0.005"), Transactions: decimal.NewFromInt(1)}},
	} {
		if err := s.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	got := fieldValues(s.Days()[0], []field{{id: 1, dt: pos.GrossSales, split: true}, {id: 5, dt: pos.Transactions, split: false}})
	hours := make([]string, 25)
	for i := range hours {
		hours[i] = "0"
	}
	hours[2], hours[3] = "10.1", "0.005"
	want := []*posimportv1.FieldValues{{FieldId: 1, Hours: hours, Total: "10.105"}, {FieldId: 5, Total: "2"}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *posimportv1.FieldValues) bool {
		return a.GetFieldId() == b.GetFieldId() && a.GetTotal() == b.GetTotal() && cmp.Equal(a.GetHours(), b.GetHours())
	})); diff != "" {
		t.Errorf("field values (-want +got):\n%s", diff)
	}
}

// TestStreams: a group's units are read per location, except that a POS filtering by register
// across shops (Retail) reads every unit with a register at once over every shop; a unit of a
// whole department keeps its location's read, and a failed unit is read by none.
func TestStreams(t *testing.T) {
	t.Parallel()
	d1, d2 := civil.Date{Year: 2026, Month: 3, Day: 1}, civil.Date{Year: 2026, Month: 3, Day: 2}
	mk := func(location, register string, failed bool) *unit {
		series, err := aggregate.New(time.UTC, d1, d2)
		if err != nil {
			t.Fatal(err)
		}
		u := &unit{lease: store.Lease{Job: store.Job{LocationID: location, RegisterID: register, From: d1, Until: d2}}, loc: time.UTC, series: series}
		if failed {
			u.res.Failure = "malformed"
		}
		return u
	}
	units := []*unit{mk("1", "11", false), mk("1", "12", false), mk("2", "21", false), mk("3", "", false), mk("2", "22", true)}
	type read struct {
		Location  string
		Registers []string
		Units     int
	}
	summary := func(ss []*stream) []read {
		var out []read
		for _, s := range ss {
			if !s.q.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !s.q.Until.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("read of %q covers %v to %v, want the two days", s.q.LocationID, s.q.From, s.q.Until)
			}
			out = append(out, read{s.q.LocationID, s.q.RegisterIDs, len(s.units)})
		}
		return out
	}
	tests := []struct {
		name       string
		byLocation bool
		want       []read
	}{
		{"by register, every shop at once", false, []read{{"", []string{"11", "12", "21"}, 3}, {"3", nil, 1}}},
		{"by location", true, []read{{"1", []string{"11", "12"}, 2}, {"2", []string{"21"}, 1}, {"3", nil, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summary(streams(units, tt.byLocation))); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
		})
	}
}
