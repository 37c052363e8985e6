package app

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/logging/logtest"
)

// TestExitLine: a service's fatal line is one JSON object with each key once, naming the
// service and the error; a clean end writes nothing.
func TestExitLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if code := exit(&buf, "balance", nil); code != 0 || buf.Len() != 0 {
		t.Errorf("clean exit: code %d, wrote %q", code, buf.String())
	}
	if code := exit(&buf, "balance", errors.New("DATABASE_URL: required")); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	lines, errs := logtest.Parse(buf.Bytes())
	if len(errs) > 0 || len(lines) != 1 {
		t.Fatalf("%d lines, errors %v:\n%s", len(lines), errs, buf.String())
	}
	got := lines[0]
	if _, ok := got["time"].(string); !ok {
		t.Errorf("no time in %s", buf.String())
	}
	delete(got, "time")
	want := logtest.Line{"level": "ERROR", "msg": "exiting", "service": "balance", "component": "main", "error": "DATABASE_URL: required"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fatal line (-want +got):\n%s", diff)
	}
}
