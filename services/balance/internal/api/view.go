package api

import (
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/configcache"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// buildDays turns the rows of a range (ordered by date and field) into one BalanceDay per
// date and the range's total per field. The fields shown are the client's POS-fed fields and
// any other field with stored values; a field without a value on a day is "not imported",
// which stays different from "0". Amounts are written in canonical form.
func buildDays(cl *configcache.Client, dept *configcache.Department, dates []civil.Date, rows []store.BalanceRow, ivs *intervalCache) ([]*posimportv1.BalanceDay, []*posimportv1.FieldTotal) {
	fields := shownFields(cl, rows)
	totals := make([]*posimportv1.FieldTotal, len(fields))
	pos := make(map[int64]int, len(fields))
	for i, f := range fields {
		pos[f.GetFieldId()] = i
		totals[i] = &posimportv1.FieldTotal{FieldId: f.GetFieldId()}
	}
	days := make([]*posimportv1.BalanceDay, len(dates))
	r := 0
	for i, date := range dates {
		day := &posimportv1.BalanceDay{
			Date:      date.String(),
			Status:    posimportv1.DayStatus_DAY_STATUS_OPEN,
			Intervals: ivs.of(date, dept.Location),
			Fields:    make([]*posimportv1.FieldDay, len(fields)),
		}
		for j, f := range fields {
			day.Fields[j] = fieldDay(f)
		}
		for ; r < len(rows) && !rows[r].Date.After(date); r++ {
			row := &rows[r]
			if row.Date != date {
				continue
			}
			day.Status = posimportv1.DayStatus(row.Status)
			day.ApprovedBy = row.ApprovedBy
			day.ApproveTime = timestamp(row.ApproveTime)
			day.ImportFinished = row.ImportFinished
			day.AutoConfirmed = row.AutoConfirmed
			day.RegistersImported = row.RegistersImported
			day.Partial = row.Partial
			day.CorrectionsPending = row.CorrectionsPending
			if row.FieldID == 0 {
				continue
			}
			j := pos[row.FieldID]
			fd := day.Fields[j]
			fd.Imported, fd.Hours, fd.Total = true, canonicalAll(store.SplitHours(row.Hours)), canonical(row.Total)
			totals[j].Total, totals[j].DaysImported = canonical(row.PeriodTotal), int32(row.PeriodDays)
		}
		days[i] = day
	}
	return days, totals
}

// shownFields returns the client's POS-fed fields in id order, then fields that have values in
// rows but are no longer configured or POS-fed.
func shownFields(cl *configcache.Client, rows []store.BalanceRow) []*posimportv1.BalanceField {
	out := make([]*posimportv1.BalanceField, 0, len(cl.Fields))
	shown := make(map[int64]bool, len(cl.Fields))
	for _, f := range cl.Fields {
		if f.GetPosDataType() != posimportv1.PosDataType_POS_DATA_TYPE_UNSPECIFIED {
			out = append(out, f)
			shown[f.GetFieldId()] = true
		}
	}
	for i := range rows {
		if id := rows[i].FieldID; id != 0 && !shown[id] {
			shown[id] = true
			if def := cl.FieldByID[id]; def != nil {
				out = append(out, def)
			} else {
				out = append(out, &posimportv1.BalanceField{FieldId: id})
			}
		}
	}
	return out
}

func fieldDay(f *posimportv1.BalanceField) *posimportv1.FieldDay {
	return &posimportv1.FieldDay{
		FieldId:            f.GetFieldId(),
		Name:               f.GetName(),
		PosDataType:        f.GetPosDataType(),
		SplitIntoIntervals: f.GetSplitIntoIntervals(),
	}
}

// intervalCache keeps the intervals of the days read recently. A week's 168 intervals cost as
// much to build as the rest of the answer; they depend only on the zone and the date, and the
// messages are shared by the answers, which only read them.
type intervalCache struct {
	mu   sync.Mutex
	days map[zoneDate][]*posimportv1.Interval
}

type zoneDate struct {
	zone string
	date civil.Date
}

// maxCachedDays bounds the cache (about 2.5 KB a day): eleven years of one zone.
const maxCachedDays = 4096

// of returns a date's intervals in loc.
func (c *intervalCache) of(d civil.Date, loc *time.Location) []*posimportv1.Interval {
	key := zoneDate{zone: loc.String(), date: d}
	c.mu.Lock()
	ivs, ok := c.days[key]
	c.mu.Unlock()
	if ok {
		return ivs
	}
	ivs = intervals(d, loc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil || len(c.days) >= maxCachedDays {
		c.days = make(map[zoneDate][]*posimportv1.Interval)
	}
	c.days[key] = ivs
	return ivs
}

// intervals returns a date's local clock hours in loc: 23, 24 or 25, each with its local start
// and UTC offset, so the two 02:00 hours of an autumn DST day stay apart.
func intervals(d civil.Date, loc *time.Location) []*posimportv1.Interval {
	hours := d.Hours(loc)
	out := make([]*posimportv1.Interval, len(hours))
	for i, h := range hours {
		_, offset := h.Zone()
		out[i] = &posimportv1.Interval{
			Index:            int32(i),
			LocalStart:       h.Format("15:04"),
			UtcOffsetSeconds: int32(offset),
		}
	}
	return out
}

// buildRegisters returns a day's per-register breakdown.
func buildRegisters(cl *configcache.Client, d store.Day) []*posimportv1.RegisterDay {
	out := make([]*posimportv1.RegisterDay, 0, len(d.Registers))
	byID := make(map[string]*posimportv1.RegisterDay, len(d.Registers))
	for _, r := range d.Registers {
		rd := &posimportv1.RegisterDay{
			RegisterId:   r.RegisterID,
			ImportId:     r.ImportID,
			JobId:        r.JobID,
			WriteTime:    timestamp(r.WriteTime),
			Version:      r.Version,
			Partial:      r.Partial,
			CorrectionId: r.CorrectionID,
			Fields:       []*posimportv1.FieldDay{},
		}
		byID[r.RegisterID] = rd
		out = append(out, rd)
	}
	for _, v := range d.Values {
		rd := byID[v.RegisterID]
		if rd == nil {
			continue // not possible under the foreign key; the snapshot holds both
		}
		def := cl.FieldByID[v.FieldID]
		if def == nil {
			def = &posimportv1.BalanceField{FieldId: v.FieldID}
		}
		fd := fieldDay(def)
		fd.Imported, fd.Hours, fd.Total = true, canonicalAll(v.Hours), canonical(v.Total)
		rd.Fields = append(rd.Fields, fd)
	}
	return out
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// freshness is a department's freshness as the API answers it.
func freshness(f store.Freshness) *posimportv1.DepartmentFreshness {
	out := &posimportv1.DepartmentFreshness{LastImportTime: timestamp(f.LastImport)}
	if f.HasComplete {
		out.CompleteThrough = f.CompleteThrough.String()
	}
	return out
}
