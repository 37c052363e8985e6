package retry

import (
	"testing"
	"time"
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

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"3", "0", "Thu, 01 Jan 2026 12:00:07 GMT", "Thursday, 01-Jan-26 12:01:00 GMT", "Thu Jan  1 12:00:30 2026", "-1", "1.5", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, negative", v, d)
		}
		if !ok && d != 0 {
			t.Errorf("ParseRetryAfter(%q) = %v with ok false", v, d)
		}
	})
}
