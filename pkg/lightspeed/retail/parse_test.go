package retail

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/pos"
)

func TestParseBucketState(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   pos.BucketState
		wantOK bool
	}{
		{name: "documented casing", header: http.Header{
			"X-LS-Api-Bucket-Level": {"92.57/90"}, "X-LS-API-Burst-Level": {"3/20"}, "X-LS-Api-Drip-Rate": {"1.5"},
		}, want: pos.BucketState{Level: 92.57, Size: 90, DripRate: 1.5, Burst: 3, BurstMax: 20, At: at}, wantOK: true},
		{name: "canonical casing", header: http.Header{"X-Ls-Api-Bucket-Level": {"1/110"}, "X-Ls-Api-Drip-Rate": {"2"}},
			want: pos.BucketState{Level: 1, Size: 110, DripRate: 2, At: at}, wantOK: true},
		{name: "missing", header: http.Header{}, want: pos.BucketState{At: at}},
		{name: "malformed level", header: http.Header{"X-Ls-Api-Bucket-Level": {"lots"}, "X-Ls-Api-Drip-Rate": {"NaN"}}, want: pos.BucketState{At: at}},
		{name: "zero size", header: http.Header{"X-Ls-Api-Bucket-Level": {"1/0"}}, want: pos.BucketState{At: at}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseBucketState(tc.header, at)
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}
