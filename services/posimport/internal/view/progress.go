package view

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// ImportProgress draws an import's progress live: a bar per department (its jobs ended of
// planned) and, when the register-days to write are known, a bar of days written with the
// sales counted. On a terminal the bars redraw in place; elsewhere (a pipe, a CI log) a line
// is written at every tenth of the way and the bars are drawn once when the import ends.
type ImportProgress struct {
	p *mpb.Progress
	// plain is the output when it is not a terminal (p is nil then).
	plain     io.Writer
	lastTenth int64
	imp       *posimportv1.Import

	mu    sync.Mutex
	deps  map[string]*mpb.Bar
	total *mpb.Bar
	days  int64
	sales int64
	// registerDays is the total bar's total.
	registerDays int64
	state        string
}

// NewImportProgress starts drawing imp on w. registerDays is the number of register-days the
// import writes (0 when unknown: then only the departments' bars are drawn).
func NewImportProgress(ctx context.Context, w io.Writer, imp *posimportv1.Import, registerDays int64) *ImportProgress {
	ip := &ImportProgress{deps: map[string]*mpb.Bar{}, registerDays: registerDays, lastTenth: -1}
	if !isTerminal(w) {
		ip.plain = w
		ip.Update(imp)
		return ip
	}
	ip.p = mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(40))
	name := func(s string) decor.Decorator { return decor.Name(s, decor.WC{W: 16, C: decor.DindentRight}) }
	if registerDays > 0 {
		ip.total = ip.p.AddBar(registerDays,
			mpb.PrependDecorators(name("register-days"), decor.CountersNoUnit("%d / %d", decor.WC{W: 14})),
			mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}), decor.Any(func(decor.Statistics) string {
				ip.mu.Lock()
				defer ip.mu.Unlock()
				return fmt.Sprintf("  %d sales  %s", ip.sales, ip.state)
			})),
		)
	}
	for _, d := range imp.GetProgress().GetDepartments() {
		ip.deps[d.GetDepartmentId()] = ip.p.AddBar(max(int64(d.GetJobsTotal()), 1),
			mpb.PrependDecorators(name(d.GetDepartmentId()), decor.CountersNoUnit("%d / %d jobs", decor.WC{W: 14})),
			mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5})),
		)
	}
	ip.Update(imp)
	return ip
}

// Update moves the bars to imp's progress.
func (ip *ImportProgress) Update(imp *posimportv1.Import) {
	p := imp.GetProgress()
	ip.mu.Lock()
	ip.days = p.GetDaysWritten() + p.GetDaysSkippedApproved()
	ip.sales = p.GetSalesCounted()
	ip.state = strings.ToLower(strings.TrimPrefix(imp.GetState().String(), "IMPORT_STATE_"))
	ip.imp = imp
	ip.mu.Unlock()
	if ip.plain != nil {
		ip.line()
		return
	}
	for _, d := range p.GetDepartments() {
		if b := ip.deps[d.GetDepartmentId()]; b != nil {
			b.SetTotal(max(int64(d.GetJobsTotal()), 1), false)
			b.SetCurrent(int64(d.GetJobsEnded()))
		}
	}
	if ip.total != nil {
		ip.total.SetCurrent(min(ip.days, ip.registerDays))
	}
}

// Finish draws imp's final state and stops drawing: the bars of an import that succeeded are
// completed, the others stop where they are.
func (ip *ImportProgress) Finish(imp *posimportv1.Import) {
	ip.Update(imp)
	if ip.plain != nil {
		ip.bars()
		return
	}
	ok := imp.GetState() == posimportv1.ImportState_IMPORT_STATE_SUCCEEDED
	for _, b := range ip.deps {
		if ok {
			b.SetTotal(-1, true)
		} else {
			b.Abort(false)
		}
	}
	if ip.total != nil {
		if ok {
			ip.total.SetTotal(-1, true)
		} else {
			ip.total.Abort(false)
		}
	}
	ip.p.Wait()
}

// Abort stops drawing where the bars are (the watch was interrupted).
func (ip *ImportProgress) Abort() {
	if ip.plain != nil {
		ip.bars()
		return
	}
	for _, b := range ip.deps {
		b.Abort(false)
	}
	if ip.total != nil {
		ip.total.Abort(false)
	}
	ip.p.Wait()
}

// isTerminal reports whether w is a character device (a terminal), where bars redraw in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// line writes a progress line in plain mode at every tenth of the register-days.
func (ip *ImportProgress) line() {
	if ip.registerDays <= 0 {
		return
	}
	tenth := min(ip.days, ip.registerDays) * 10 / ip.registerDays
	if tenth == ip.lastTenth {
		return
	}
	ip.lastTenth = tenth
	_, _ = fmt.Fprintf(ip.plain, "  %3d%%  %d / %d register-days  %d sales  %s\n", tenth*10, ip.days, ip.registerDays, ip.sales, ip.state)
}

// bars draws every department's bar once, in plain mode.
func (ip *ImportProgress) bars() {
	var b strings.Builder
	for _, d := range ip.imp.GetProgress().GetDepartments() {
		total, ended := max(int64(d.GetJobsTotal()), 1), int64(d.GetJobsEnded())
		filled := ended * plainBarWidth / total
		fmt.Fprintf(&b, "  %-14s [%s%s] %d / %d jobs", d.GetDepartmentId(), strings.Repeat("=", int(filled)),
			strings.Repeat(" ", int(plainBarWidth-filled)), ended, d.GetJobsTotal())
		if d.GetJobsFailed() > 0 {
			fmt.Fprintf(&b, ", %d failed", d.GetJobsFailed())
		}
		b.WriteString("\n")
	}
	_, _ = io.WriteString(ip.plain, b.String())
}

// plainBarWidth is the width of a department's bar in plain mode.
const plainBarWidth = 30
