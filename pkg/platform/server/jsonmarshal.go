package server

import (
	"io"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// JSONEncoder appends the JSON of one message type to dst. It must write what protojson
// writes with GatewayJSONOptions (proto field names, scalars and lists included when empty,
// unset messages left out, enums as names, 64-bit integers as strings, timestamps in RFC 3339),
// apart from the insignificant
// spaces protojson adds at random, and fail where protojson fails (invalid UTF-8).
// servertest.CheckJSONEncoder compares one with protojson on random messages.
type JSONEncoder func(dst []byte, m proto.Message) ([]byte, error)

// GatewayJSONOptions are the options REST responses are written with. Zeros, empty strings and
// empty lists are written, so a client sees every field it knows; an unset message (a
// timestamp not set yet) is left out rather than written null, which the OpenAPI schema's
// types (a timestamp is a string) do not allow.
func GatewayJSONOptions() protojson.MarshalOptions {
	return protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}
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
// encoder, and REST bodies decoded by decodeBody.
type marshaler struct {
	*runtime.JSONPb
	encoders map[reflect.Type]*jsonEncoder
	buffers  buffers
}

// gatewayMarshaler returns the gateway's marshaler; s.mu must be held.
func (s *Server) gatewayMarshaler() runtime.Marshaler {
	jsonPb := &runtime.JSONPb{
		MarshalOptions:   GatewayJSONOptions(),
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	encoders := make(map[reflect.Type]*jsonEncoder, len(s.jsonEncoders))
	for t, e := range s.jsonEncoders {
		encoders[t] = e
	}
	return &marshaler{JSONPb: jsonPb, encoders: encoders}
}

// NewDecoder implements runtime.Marshaler: REST bodies are decoded by decodeBody, which
// refuses an empty body as gRPC refuses a missing required message.
func (m *marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error { return decodeBody(r, m.UnmarshalOptions, v) })
}

// Marshal implements runtime.Marshaler.
func (m *marshaler) Marshal(v any) ([]byte, error) {
	e := m.encoders[reflect.TypeOf(v)]
	if e == nil {
		return m.JSONPb.Marshal(v)
	}
	n := int(e.lastSize.Load())
	out, err := e.encode(m.buffers.borrow(n+n/8), v.(proto.Message))
	if err != nil {
		return nil, err
	}
	e.lastSize.Store(int64(len(out)))
	m.buffers.lend(out)
	return out, nil
}

// buffers lends the encoders' output buffers and takes them back once the gateway has written
// them (recyclingWriter): a week is a 30 KB answer, and allocating it anew for each request
// cost about a tenth of the request's CPU in allocation, zeroing and garbage collection.
type buffers struct {
	pool sync.Pool // *[]byte
	// lent maps the first byte of each answer given to the gateway to the answer.
	lent        sync.Map
	outstanding atomic.Int64
}

// Answers are only lent while few are outstanding (a path that never writes one would
// otherwise keep them), and only up to a size worth keeping.
const (
	maxLent       = 64
	maxPooledSize = 256 << 10
)

// borrow returns an empty buffer of at least size bytes.
func (b *buffers) borrow(size int) []byte {
	if p, ok := b.pool.Get().(*[]byte); ok && cap(*p) >= size {
		return (*p)[:0]
	}
	return make([]byte, 0, size)
}

// lend records out as given to the gateway.
func (b *buffers) lend(out []byte) {
	if cap(out) == 0 || cap(out) > maxPooledSize || b.outstanding.Load() >= maxLent {
		return
	}
	b.outstanding.Add(1)
	b.lent.Store(unsafe.SliceData(out), &out)
}

// written takes back p if it is a whole lent answer that has just been written (a Writer
// never keeps what it was given).
func (b *buffers) written(p []byte) {
	if len(p) == 0 {
		return
	}
	v, ok := b.lent.Load(unsafe.SliceData(p))
	if !ok || len(*v.(*[]byte)) != len(p) {
		return
	}
	b.lent.Delete(unsafe.SliceData(p))
	b.outstanding.Add(-1)
	b.pool.Put(v)
}

// recyclingWriter hands answers the gateway wrote back to the marshaler's buffers.
type recyclingWriter struct {
	http.ResponseWriter
	buffers *buffers
}

func (w *recyclingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.buffers.written(p)
	return n, err
}

// Flush lets streaming answers through (the gateway flushes each message).
func (w *recyclingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (w *recyclingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recycling wraps the gateway so that the answers written with registered encoders go back to
// their buffers; without encoders it is the gateway itself.
func recycling(gw http.Handler, m runtime.Marshaler) http.Handler {
	mm, ok := m.(*marshaler)
	if !ok || len(mm.encoders) == 0 {
		return gw
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw.ServeHTTP(&recyclingWriter{ResponseWriter: w, buffers: &mm.buffers}, r)
	})
}
