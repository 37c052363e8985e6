package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/logging"
)

// TestGRPCLoggerWritesJSON: what grpc-gateway prints through grpclog becomes JSON lines of the
// service's logger, informational ones at debug.
func TestGRPCLoggerWritesJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logging.GRPCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Errorf("Failed to write response: %v", "write: broken pipe")
	l.Infof("channel %d is READY", 1)
	l.Warningln("dropped", 2, "headers")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (info is debug), got:\n%s", buf.String())
	}
	want := []struct{ level, msg string }{{"ERROR", "Failed to write response: write: broken pipe"}, {"WARN", "dropped 2 headers"}}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if m["level"] != want[i].level || m["msg"] != want[i].msg || m["component"] != "grpc" {
			t.Errorf("line %d = %v, want %v", i, m, want[i])
		}
	}
}
