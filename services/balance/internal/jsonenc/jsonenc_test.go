package jsonenc_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/server/servertest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/jsonenc"
)

// TestSameAsProtojson: on random messages (every field set at some point, escapes, unknown
// enum numbers, extreme integers, invalid UTF-8 and timestamps), the encoders write exactly
// what protojson writes with the gateway's options, and fail where it fails.
func TestSameAsProtojson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		sample proto.Message
		enc    server.JSONEncoder
	}{
		{"GetWeeklyBalanceResponse", &posimportv1.GetWeeklyBalanceResponse{}, jsonenc.WeeklyBalance},
		{"GetDayResponse", &posimportv1.GetDayResponse{}, jsonenc.Day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			servertest.CheckJSONEncoder(t, tc.sample, tc.enc, 3000)
		})
	}
}
