package server

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestAnswerBuffersAreReused: an answer the gateway has written goes back to the buffers and
// serves a later answer; one not written, or written in part, stays lent and is not reused.
func TestAnswerBuffersAreReused(t *testing.T) {
	t.Parallel()
	m := &marshaler{encoders: map[reflect.Type]*jsonEncoder{}}
	m.encoders[reflect.TypeOf(&wrapperspb.StringValue{})] = &jsonEncoder{encode: func(dst []byte, msg proto.Message) ([]byte, error) {
		return append(dst, `"`+msg.(*wrapperspb.StringValue).GetValue()+`"`...), nil
	}}
	marshal := func(s string) []byte {
		t.Helper()
		out, err := m.Marshal(wrapperspb.String(s))
		if err != nil || string(out) != `"`+s+`"` {
			t.Fatalf("Marshal(%q) = %q, %v", s, out, err)
		}
		return out
	}
	// The pool may drop an item at any time (and does at random under the race detector), so
	// reuse is required to happen, not to happen every time.
	reused := 0
	prev := marshal("answer 0")
	for i := range 50 {
		m.buffers.written(prev)
		next := marshal(fmt.Sprintf("answer %d", i+1))
		if unsafe.SliceData(next) == unsafe.SliceData(prev) {
			reused++
		}
		prev = next
	}
	if reused == 0 {
		t.Error("written answers' buffers were never reused")
	}
	m.buffers.written(prev[:3]) // part of it only: still lent
	for range 20 {
		if next := marshal("other"); unsafe.SliceData(next) == unsafe.SliceData(prev) {
			t.Fatal("a buffer written in part was reused while lent")
		}
	}
	if got := m.buffers.outstanding.Load(); got != 21 {
		t.Errorf("outstanding = %d, want 21 (the part-written answer and 20 unwritten ones)", got)
	}
}
