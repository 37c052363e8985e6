package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/posimport/posimport/services/posimport/internal/view"
)

// WriteTable writes the report as a table under a line naming the machine and the command.
func (r *Report) WriteTable(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "posimport bench: %s\n", r.Command)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %.1f GiB, %s, %s; PostgreSQL %s\n", m.CPUs, m.CPU, m.MemGiB, m.OS, m.Go, m.Postgres)
	fmt.Fprintf(w, "load average (1, 5, 15 min): %s before, %s after; %s in all\n", m.LoadBefore, m.LoadAfter, seconds(r.Duration))
	fmt.Fprintf(w, "simulator: %d sales per register and day; Lightspeed API latency %s\n\n", r.SalesPerDay, r.POSLatency)
	t := &view.Table{
		Header: []string{"", "scenario", "measured", "floor / bound", "ratio", "target", "result", "raw"},
		Right:  map[int]bool{2: true, 3: true, 4: true, 5: true},
	}
	for i, row := range r.Rows {
		result := "pass"
		if !row.Pass {
			result = "MISS"
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), row.Scenario, figure(row.Measured, row.Unit), figure(row.Floor, row.Unit),
			strconv.FormatFloat(row.Ratio, 'f', 3, 64), "≤ " + strconv.FormatFloat(row.Target, 'f', -1, 64), result, row.Raw.String()})
	}
	if err := t.Render(w); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for i, row := range r.Rows {
		fmt.Fprintf(w, "%d. %s %s\n", i+1, row.Scenario, row.What)
	}
	return nil
}

func figure(v float64, unit string) string {
	switch unit {
	case "s":
		return seconds(v)
	case "MB":
		return strconv.FormatFloat(v, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func seconds(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " s" }

// String lists the raw numbers that were measured.
func (r Raw) String() string {
	var p []string
	add := func(ok bool, format string, args ...any) {
		if ok {
			p = append(p, fmt.Sprintf(format, args...))
		}
	}
	add(r.Requests > 0, "requests %d", r.Requests)
	add(r.Requests > 0 && r.Bucket > 0, "429s %d", r.RateLimited)
	add(r.Sales > 0, "sales %d", r.Sales)
	add(r.Jobs > 0, "jobs %d", r.Jobs)
	add(r.Days > 0, "register-days %d", r.Days)
	add(r.WallSeconds > 0, "wall %s", seconds(r.WallSeconds))
	if len(r.FetchSeconds) == 2 {
		add(true, "fetch-only %s before, %s after", seconds(r.FetchSeconds[0]), seconds(r.FetchSeconds[1]))
	}
	add(r.Bucket > 0, "bucket %g, drip %g/s", r.Bucket, r.Drip)
	add(r.RateFloorSeconds > 0 || (len(r.FetchSeconds) > 0 && r.Bucket > 0), "rate floor %s", seconds(r.RateFloorSeconds))
	add(r.Slots > 0, "%d slots", r.Slots)
	add(r.Scale > 0, "time scale %g", r.Scale)
	add(r.PeakMB > 0, "peak %.1f MB, now %.1f MB", r.PeakMB, r.CurrentMB)
	add(r.CPU != nil, "%s", r.CPU)
	add(r.Note != "", "%s", r.Note)
	return strings.Join(p, ", ")
}
