// Package servertest checks what services plug into pkg/platform/server: a JSON encoder
// registered for REST responses must write exactly what protojson writes.
package servertest

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/posimport/posimport/pkg/platform/server"
)

// CheckJSONEncoder fails t unless enc writes, for n random messages of sample's type, the
// bytes protojson writes with server.GatewayJSONOptions (its random spaces removed), and fails
// exactly where protojson fails. The messages set every field at some point, nested messages
// included, with unset, empty and extreme values, unknown enum numbers, strings that need
// escaping and, now and then, invalid UTF-8 or an out-of-range timestamp. A field added to
// the message that enc does not know about therefore fails the check.
func CheckJSONEncoder(t testing.TB, sample proto.Message, enc server.JSONEncoder, n int) {
	t.Helper()
	opts := server.GatewayJSONOptions()
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	seen := map[protoreflect.FullName]bool{}
	for i := range n {
		m := sample.ProtoReflect().New()
		if i > 0 { // the first message is empty
			f := filler{rng: rng, seen: seen}
			f.message(m, 0)
		}
		want, wantErr := opts.Marshal(m.Interface())
		got, gotErr := enc(nil, m.Interface())
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("message %d: protojson error %v, encoder error %v\nmessage: %v", i, wantErr, gotErr, m)
		}
		if wantErr != nil {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), got) {
			t.Fatalf("message %d: encoder differs from protojson\nprotojson: %s\nencoder:   %s", i, compact.Bytes(), got)
		}
	}
	if n > 1 {
		for _, name := range fieldNames(sample.ProtoReflect().Descriptor(), map[protoreflect.FullName]bool{}) {
			if !seen[name] {
				t.Errorf("field %s was never set in %d messages", name, n)
			}
		}
	}
}

// fieldNames lists the fields of md and of the messages it contains (well-known types apart).
func fieldNames(md protoreflect.MessageDescriptor, visited map[protoreflect.FullName]bool) []protoreflect.FullName {
	if visited[md.FullName()] || wellKnown(md) {
		return nil
	}
	visited[md.FullName()] = true
	var out []protoreflect.FullName
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		out = append(out, fd.FullName())
		if fd.Message() != nil {
			out = append(out, fieldNames(fd.Message(), visited)...)
		}
	}
	return out
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

// filler sets random values.
type filler struct {
	rng  *rand.Rand
	seen map[protoreflect.FullName]bool
}

const maxDepth = 4

func (f *filler) message(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	if md.FullName() == "google.protobuf.Timestamp" {
		f.timestamp(m)
		return
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if f.rng.IntN(4) == 0 || (fd.Message() != nil && depth >= maxDepth) {
			continue // unset
		}
		f.seen[fd.FullName()] = true
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range f.rng.IntN(3) {
				mp.Set(f.scalar(fd.MapKey()).MapKey(), f.value(m, fd.MapValue(), depth))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range f.rng.IntN(4) {
				if fd.Message() != nil {
					e := l.NewElement()
					f.message(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		default:
			m.Set(fd, f.value(m, fd, depth))
		}
	}
}

func (f *filler) value(m protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) protoreflect.Value {
	if fd.Message() == nil {
		return f.scalar(fd)
	}
	v := m.NewField(fd)
	f.message(v.Message(), depth+1)
	return v
}

// timestamp sets a valid timestamp, with 0, 3, 6 or 9 significant fraction digits, and now
// and then an invalid one.
func (f *filler) timestamp(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	const minSec, maxSec = -62135596800, 253402300799 // 0001-01-01, 9999-12-31T23:59:59
	sec := minSec + f.rng.Int64N(maxSec-minSec+1)
	if f.rng.IntN(3) == 0 {
		sec = 1_700_000_000 + f.rng.Int64N(100_000_000)
	}
	var nanos int32
	switch f.rng.IntN(5) {
	case 1:
		nanos = f.rng.Int32N(1000) * 1_000_000
	case 2:
		nanos = f.rng.Int32N(1_000_000) * 1000
	case 3:
		nanos = f.rng.Int32N(1_000_000_000)
	}
	switch f.rng.IntN(40) {
	case 0:
		sec = maxSec + 1
	case 1:
		nanos = -1
	}
	m.Set(fields.ByName("seconds"), protoreflect.ValueOfInt64(sec))
	m.Set(fields.ByName("nanos"), protoreflect.ValueOfInt32(nanos))
}

var stringPool = []string{
	"", "0", "1234.50", "-0.000001", "Gross sales", "02:00", "2026-W13", "Europe/Copenhagen",
	"æøå ÆØÅ", "€ 10", "😀", "\u2028\u2029", "<a href=\"x\">&amp;</a>", "tab\tnew\nline\r",
	"\x00\x01\x1f\x7f", `back\slash "quoted"`, "\ufffd",
}

func (f *filler) str() string {
	switch f.rng.IntN(60) {
	case 0:
		return "bad \xff utf-8"
	case 1, 2, 3:
		b := make([]rune, f.rng.IntN(12))
		for i := range b {
			b[i] = rune(f.rng.IntN(0x2100))
		}
		return string(b)
	}
	return stringPool[f.rng.IntN(len(stringPool))]
}

func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	r := f.rng
	pick64 := func() int64 {
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, r.Int64(), r.Int64N(1000)}[r.IntN(7)]
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32([]int32{0, 1, -1, math.MaxInt32, math.MinInt32, r.Int32N(100)}[r.IntN(6)])
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(pick64())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(r.NormFloat64()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.NormFloat64() * 1e6)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.str())
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(f.str()))
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		if r.IntN(10) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(1000 + r.IntN(1000))) // unknown
		}
		return protoreflect.ValueOfEnum(values.Get(r.IntN(values.Len())).Number())
	}
	panic("servertest: unsupported kind " + fd.Kind().String())
}
