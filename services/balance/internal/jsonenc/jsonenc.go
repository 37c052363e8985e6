// Package jsonenc writes the read path's REST answers (GetWeeklyBalanceResponse,
// GetDayResponse) as JSON without reflection: the bytes protojson writes with the gateway's
// options (server.GatewayJSONOptions), at a fraction of the cost. A week is ~29 KB of JSON and
// protojson spent more CPU on it than the rest of the request; the tests compare these
// encoders with protojson on random messages, so a field added to balance.proto that is not
// written here fails them.
package jsonenc

import (
	"errors"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// errInvalidUTF8 is protojson's refusal of a string that is not UTF-8.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// WeeklyBalance appends the JSON of a *posimportv1.GetWeeklyBalanceResponse.
func WeeklyBalance(dst []byte, m proto.Message) ([]byte, error) {
	e := encoder{b: dst}
	r := m.(*posimportv1.GetWeeklyBalanceResponse)
	e.raw(`{`)
	if w := r.GetBalance(); w != nil {
		e.raw(`"balance":{"client_id":`)
		e.str(w.GetClientId())
		e.raw(`,"department_id":`)
		e.str(w.GetDepartmentId())
		e.raw(`,"week":`)
		e.str(w.GetWeek())
		e.raw(`,"time_zone":`)
		e.str(w.GetTimeZone())
		e.raw(`,"days":[`)
		for i, d := range w.GetDays() {
			e.comma(i)
			e.day(d)
		}
		e.raw(`],"totals":[`)
		for i, t := range w.GetTotals() {
			e.comma(i)
			e.raw(`{"field_id":`)
			e.int64(t.GetFieldId())
			e.raw(`,"total":`)
			e.str(t.GetTotal())
			e.raw(`,"days_imported":`)
			e.int32(t.GetDaysImported())
			e.raw("}")
		}
		e.raw("]")
		e.freshness(w.GetFreshness())
		e.raw("}")
	}
	e.raw("}")
	return e.b, e.err
}

// Day appends the JSON of a *posimportv1.GetDayResponse.
func Day(dst []byte, m proto.Message) ([]byte, error) {
	e := encoder{b: dst}
	r := m.(*posimportv1.GetDayResponse)
	e.raw(`{`)
	if d := r.GetDay(); d != nil {
		e.raw(`"day":`)
		e.day(d)
		e.raw(`,`)
	}
	e.raw(`"registers":[`)
	for i, rd := range r.GetRegisters() {
		e.comma(i)
		e.raw(`{"register_id":`)
		e.str(rd.GetRegisterId())
		e.raw(`,"fields":`)
		e.fields(rd.GetFields())
		e.raw(`,"import_id":`)
		e.str(rd.GetImportId())
		e.timestamp("write_time", rd.GetWriteTime())
		e.raw(`,"version":`)
		e.int64(rd.GetVersion())
		e.raw(`,"job_id":`)
		e.str(rd.GetJobId())
		e.raw(`,"partial":`)
		e.bool(rd.GetPartial())
		e.raw(`,"correction_id":`)
		e.str(rd.GetCorrectionId())
		e.raw("}")
	}
	e.raw(`],"time_zone":`)
	e.str(r.GetTimeZone())
	e.freshness(r.GetFreshness())
	e.raw("}")
	return e.b, e.err
}

// freshness writes a member after others, `,"freshness":{...}`, or nothing when unset.
func (e *encoder) freshness(f *posimportv1.DepartmentFreshness) {
	if f == nil {
		return
	}
	e.raw(`,"freshness":{"complete_through":`)
	e.str(f.GetCompleteThrough())
	e.timestamp("last_import_time", f.GetLastImportTime())
	e.raw("}")
}

// encoder appends to b and keeps the first error.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) raw(s string) { e.b = append(e.b, s...) }

func (e *encoder) comma(i int) {
	if i > 0 {
		e.b = append(e.b, ',')
	}
}

func (e *encoder) day(d *posimportv1.BalanceDay) {
	if d == nil {
		e.raw("null")
		return
	}
	e.raw(`{"date":`)
	e.str(d.GetDate())
	e.raw(`,"status":`)
	e.enum(d.GetStatus())
	e.timestamp("approve_time", d.GetApproveTime())
	e.raw(`,"approved_by":`)
	e.str(d.GetApprovedBy())
	e.raw(`,"intervals":[`)
	for i, iv := range d.GetIntervals() {
		e.comma(i)
		e.raw(`{"index":`)
		e.int32(iv.GetIndex())
		e.raw(`,"local_start":`)
		e.str(iv.GetLocalStart())
		e.raw(`,"utc_offset_seconds":`)
		e.int32(iv.GetUtcOffsetSeconds())
		e.raw("}")
	}
	e.raw(`],"fields":`)
	e.fields(d.GetFields())
	e.raw(`,"registers_imported":`)
	e.int32(d.GetRegistersImported())
	e.raw(`,"import_finished":`)
	e.bool(d.GetImportFinished())
	e.raw(`,"auto_confirmed":`)
	e.bool(d.GetAutoConfirmed())
	e.raw(`,"partial":`)
	e.bool(d.GetPartial())
	e.raw(`,"corrections_pending":`)
	e.int32(d.GetCorrectionsPending())
	e.raw("}")
}

func (e *encoder) fields(fs []*posimportv1.FieldDay) {
	e.raw("[")
	for i, f := range fs {
		e.comma(i)
		e.raw(`{"field_id":`)
		e.int64(f.GetFieldId())
		e.raw(`,"name":`)
		e.str(f.GetName())
		e.raw(`,"pos_data_type":`)
		e.enum(f.GetPosDataType())
		e.raw(`,"split_into_intervals":`)
		e.bool(f.GetSplitIntoIntervals())
		e.raw(`,"imported":`)
		e.bool(f.GetImported())
		e.raw(`,"hours":[`)
		for j, h := range f.GetHours() {
			e.comma(j)
			e.str(h)
		}
		e.raw(`],"total":`)
		e.str(f.GetTotal())
		e.raw("}")
	}
	e.raw("]")
}

func (e *encoder) bool(v bool) { e.b = strconv.AppendBool(e.b, v) }

func (e *encoder) int32(v int32) { e.b = strconv.AppendInt(e.b, int64(v), 10) }

// int64 is written as a string, as protojson does (JavaScript numbers lose precision above 2^53).
func (e *encoder) int64(v int64) {
	e.b = append(e.b, '"')
	e.b = strconv.AppendInt(e.b, v, 10)
	e.b = append(e.b, '"')
}

// enum writes the value's name, or its number when it has none.
func (e *encoder) enum(v protoreflect.Enum) {
	n := v.Number()
	if d := v.Descriptor().Values().ByNumber(n); d != nil {
		e.b = append(e.b, '"')
		e.b = append(e.b, d.Name()...)
		e.b = append(e.b, '"')
		return
	}
	e.b = strconv.AppendInt(e.b, int64(n), 10)
}

// The range protojson accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// timestamp writes a member after others, `,"key":` and t in RFC 3339 in UTC with 0, 3, 6 or
// 9 fraction digits, or nothing when t is unset: the gateway leaves unset fields out rather
// than writing null.
func (e *encoder) timestamp(key string, t *timestamppb.Timestamp) {
	if t == nil {
		return
	}
	secs, nanos := t.GetSeconds(), t.GetNanos()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds {
		e.fail(errors.New("google.protobuf.Timestamp: seconds out of range"))
		return
	}
	if nanos < 0 || nanos > 999_999_999 {
		e.fail(errors.New("google.protobuf.Timestamp: nanos out of range"))
		return
	}
	e.raw(`,"`)
	e.raw(key)
	e.raw(`":"`)
	e.b = time.Unix(secs, 0).UTC().AppendFormat(e.b, "2006-01-02T15:04:05")
	if nanos != 0 {
		var frac [10]byte
		f := strconv.AppendInt(frac[:0], 1_000_000_000+int64(nanos), 10)[1:] // nine digits
		switch {
		case nanos%1_000_000 == 0:
			f = f[:3]
		case nanos%1000 == 0:
			f = f[:6]
		}
		e.b = append(e.b, '.')
		e.b = append(e.b, f...)
	}
	e.raw(`Z"`)
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// str writes a JSON string escaped as protojson escapes it: '"', '\\' and control characters
// only, refusing invalid UTF-8. The amounts, dates and ids this package mostly writes are
// plain ASCII and are copied as they are.
func (e *encoder) str(s string) {
	e.b = append(e.b, '"')
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		e.b = append(e.b, s[:i]...)
		s = s[i:]
		i = 0
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n == 1 {
				e.fail(errInvalidUTF8)
				return
			}
			e.b = append(e.b, s[:n]...)
			s = s[n:]
			continue
		}
		e.b = append(e.b, '\\')
		switch c {
		case '"', '\\':
			e.b = append(e.b, c)
		case '\b':
			e.b = append(e.b, 'b')
		case '\f':
			e.b = append(e.b, 'f')
		case '\n':
			e.b = append(e.b, 'n')
		case '\r':
			e.b = append(e.b, 'r')
		case '\t':
			e.b = append(e.b, 't')
		default:
			e.b = append(e.b, 'u')
			e.b = append(e.b, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			e.b = strconv.AppendUint(e.b, uint64(c), 16)
		}
		s = s[1:]
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}
