package retry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After header value: delay-seconds (Lightspeed R- and K-Series)
// or an HTTP date (X-Series), as RFC 9110 §10.2.3 allows. It returns the wait from now, zero
// for a date in the past, and false for a value that is neither.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		// NOTE: a number too large for int64 or for a Duration is still a valid "wait very
		// long"; it saturates rather than failing.
		if err != nil || n > int64(maxDuration/time.Second) {
			return maxDuration, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

const maxDuration = time.Duration(1<<63 - 1)

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
