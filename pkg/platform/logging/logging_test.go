package logging_test

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/logging/logtest"
)

// TestOneKeyEach: whatever the loggers' parents and the records add, a line has each key once,
// the innermost value of each, and durations in milliseconds under a key that says so.
func TestOneKeyEach(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
		want logtest.Line
	}{
		{"defaults", func(l *slog.Logger) { l.Info("m") },
			logtest.Line{"service": "svc", "component": "main"}},
		{"a child names its component", func(l *slog.Logger) {
			l.With("component", "import-worker").With("component", "worker", "owner", "a").Info("m")
		}, logtest.Line{"service": "svc", "component": "worker", "owner": "a"}},
		{"another service", func(l *slog.Logger) { l.With("service", "balance").With("component", "autoconfirm").Info("m") },
			logtest.Line{"service": "balance", "component": "autoconfirm"}},
		{"the record wins", func(l *slog.Logger) { l.With("component", "worker", "n", 1).Info("m", "component", "fetch", "n", 2) },
			logtest.Line{"service": "svc", "component": "fetch", "n": 2.0}},
		{"durations", func(l *slog.Logger) {
			l.Info("m", "duration", 1500*time.Microsecond, "fetch_ms", 2*time.Second, slog.Duration("wait", 0))
		}, logtest.Line{"service": "svc", "component": "main", "duration_ms": 1.5, "fetch_ms": 2000.0, "wait_ms": 0.0}},
		{"a duration replaces its key in ms", func(l *slog.Logger) { l.With("fetch", time.Second).Info("m", "fetch_ms", time.Millisecond) },
			logtest.Line{"service": "svc", "component": "main", "fetch_ms": 1.0}},
		{"reserved keys", func(l *slog.Logger) { l.Error("m", "time", "noon", "msg", "x", "level", 3) },
			logtest.Line{"service": "svc", "component": "main", "time_attr": "noon", "msg_attr": "x", "level_attr": 3.0}},
		{"groups keep their own keys", func(l *slog.Logger) {
			l.With("component", "api").WithGroup("req").With("component", "x", "id", 1).Info("m", "id", 2, "took", time.Millisecond)
		}, logtest.Line{"service": "svc", "component": "api", "req": map[string]any{"component": "x", "id": 2.0, "took_ms": 1.0}}},
		{"group values", func(l *slog.Logger) {
			l.Info("m", slog.Group("g", "a", 1, "a", 2, "time", "t"), slog.Group("", "component", "inline"), slog.Group("empty"))
		}, logtest.Line{"service": "svc", "component": "inline", "g": map[string]any{"a": 2.0, "time": "t"}}},
		{"errors", func(l *slog.Logger) { l.Warn("m", "error", errors.New("boom")) },
			logtest.Line{"service": "svc", "component": "main", "error": "boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l, err := logging.New(&buf, "debug", "svc")
			if err != nil {
				t.Fatal(err)
			}
			tc.log(l)
			lines, errs := logtest.Parse(buf.Bytes())
			if len(errs) > 0 || len(lines) != 1 {
				t.Fatalf("%d lines, errors %v:\n%s", len(lines), errs, buf.String())
			}
			got := lines[0]
			for _, k := range []string{"time", "level", "msg"} {
				if _, ok := got[k]; !ok {
					t.Errorf("no %q in %s", k, buf.String())
				}
				delete(got, k)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRefusesRepeatedKeys: the check the services' log tests rely on finds a repeated key
// at any depth, which encoding/json would let through.
func TestParseRefusesRepeatedKeys(t *testing.T) {
	t.Parallel()
	lines, errs := logtest.Parse([]byte(`{"a":1}

{"component":"x","component":"y"}
{"a":{"b":1,"b":2}}
not json
`))
	if len(lines) != 1 || len(errs) != 3 {
		t.Fatalf("%d lines, errors %v; want 1 line and 3 errors", len(lines), errs)
	}
}

func TestNewRefusesUnknownLevel(t *testing.T) {
	t.Parallel()
	if _, err := logging.New(&bytes.Buffer{}, "loud", "svc"); err == nil {
		t.Error("level loud accepted")
	}
}

// BenchmarkHandler is one line of the worker's shape (a child logger with a component and an
// owner, a record of nine attributes).
func BenchmarkHandler(b *testing.B) {
	var buf bytes.Buffer
	l := logging.JSON(&buf, slog.LevelInfo, "import-worker").With("component", "worker", "owner", "host:1")
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		l.Info("import job finished", "job_id", "914e5621-7a42-4be7-a015-2dd8afe78707", "attempt", 1, "state", "DONE",
			"days_written", 14, "days_skipped_approved", 0, "sales", 886, "requests", 9,
			"fetch_ms", 146*time.Millisecond, "write_ms", 18*time.Millisecond)
	}
}
