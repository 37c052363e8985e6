package retail

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/pos"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds", value: "3", want: 3 * time.Second, wantOK: true},
		{name: "zero", value: "0", want: 0, wantOK: true},
		{name: "spaces", value: " 12 ", want: 12 * time.Second, wantOK: true},
		{name: "IMF date", value: "Thu, 01 Jan 2026 12:00:07 GMT", want: 7 * time.Second, wantOK: true},
		{name: "RFC 850 date", value: "Thursday, 01-Jan-26 12:01:00 GMT", want: time.Minute, wantOK: true},
		{name: "asctime date", value: "Thu Jan  1 12:00:30 2026", want: 30 * time.Second, wantOK: true},
		{name: "date in the past", value: "Thu, 01 Jan 2026 11:00:00 GMT", want: 0, wantOK: true},
		{name: "huge number saturates", value: "99999999999999999999999", want: maxDuration, wantOK: true},
		{name: "negative", value: "-3", wantOK: false},
		{name: "fraction", value: "1.5", wantOK: false},
		{name: "empty", value: "", wantOK: false},
		{name: "garbage", value: "soon", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseRetryAfter(tc.value, now)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

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
