package server

import (
	"reflect"
	"sync/atomic"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// JSONEncoder appends the JSON of one message type to dst. It must write what protojson
// writes with GatewayJSONOptions (proto field names, unpopulated fields included, enums as
// names, 64-bit integers as strings, timestamps in RFC 3339), apart from the insignificant
// spaces protojson adds at random, and fail where protojson fails (invalid UTF-8).
// servertest.CheckJSONEncoder compares one with protojson on random messages.
type JSONEncoder func(dst []byte, m proto.Message) ([]byte, error)

// GatewayJSONOptions are the options REST responses are written with.
func GatewayJSONOptions() protojson.MarshalOptions {
	return protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
}

// RegisterJSONEncoder makes the gateway write REST responses of m's type with enc instead of
// protojson, whose reflection dominates the cost of large answers. Register before Run.
func (s *Server) RegisterJSONEncoder(m proto.Message, enc JSONEncoder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jsonEncoders[reflect.TypeOf(m)] = &jsonEncoder{encode: enc}
}

type jsonEncoder struct {
	encode JSONEncoder
	// lastSize sizes the next buffer, so that a large answer is written without regrowing.
	lastSize atomic.Int64
}

// marshaler is the gateway's marshaler: protojson, except for the types with a registered
// encoder.
type marshaler struct {
	*runtime.JSONPb
	encoders map[reflect.Type]*jsonEncoder
}

// gatewayMarshaler returns the gateway's marshaler; s.mu must be held.
func (s *Server) gatewayMarshaler() runtime.Marshaler {
	jsonPb := &runtime.JSONPb{
		MarshalOptions:   GatewayJSONOptions(),
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	if len(s.jsonEncoders) == 0 {
		return jsonPb
	}
	encoders := make(map[reflect.Type]*jsonEncoder, len(s.jsonEncoders))
	for t, e := range s.jsonEncoders {
		encoders[t] = e
	}
	return &marshaler{JSONPb: jsonPb, encoders: encoders}
}

// Marshal implements runtime.Marshaler.
func (m *marshaler) Marshal(v any) ([]byte, error) {
	e := m.encoders[reflect.TypeOf(v)]
	if e == nil {
		return m.JSONPb.Marshal(v)
	}
	n := e.lastSize.Load()
	out, err := e.encode(make([]byte, 0, n+n/8), v.(proto.Message))
	if err != nil {
		return nil, err
	}
	e.lastSize.Store(int64(len(out)))
	return out, nil
}
