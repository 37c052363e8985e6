package servertest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/server/servertest"
)

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// check runs CheckJSONEncoder on its own goroutine (Fatalf ends it) and returns its failures.
func check(t *testing.T, enc server.JSONEncoder) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		servertest.CheckJSONEncoder(r, &testpb.SimpleResponse{}, enc, 500)
	}()
	<-done
	return r.failures
}

func withOptions(opts protojson.MarshalOptions) server.JSONEncoder {
	return func(dst []byte, m proto.Message) ([]byte, error) {
		b, err := opts.Marshal(m)
		if err != nil {
			return dst, err
		}
		// protojson inserts random spaces on purpose; an encoder writes the compact form.
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return dst, err
		}
		return append(dst, buf.Bytes()...), nil
	}
}

// TestCheckJSONEncoder: protojson with the gateway's options passes; encoders that differ in
// names, unpopulated fields or UTF-8 checking fail.
func TestCheckJSONEncoder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		enc      server.JSONEncoder
		wantFail bool
	}{
		{"gateway options", withOptions(server.GatewayJSONOptions()), false},
		{"JSON names", withOptions(protojson.MarshalOptions{EmitUnpopulated: true}), true},
		{"unpopulated fields left out", withOptions(protojson.MarshalOptions{UseProtoNames: true}), true},
		{"enums as numbers", withOptions(protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true, UseEnumNumbers: true}), true},
		{"never fails", func(dst []byte, m proto.Message) ([]byte, error) {
			b, _ := withOptions(server.GatewayJSONOptions())(dst, m)
			return b, nil
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failures := check(t, tc.enc)
			if (len(failures) > 0) != tc.wantFail {
				t.Errorf("failures = %q, want failing: %v", failures, tc.wantFail)
			}
		})
	}
}
