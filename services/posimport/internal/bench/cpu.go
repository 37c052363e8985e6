package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc's CPU times (USER_HZ): 100 on every Linux Go runs on.
const userHZ = 100

// cpuClock is a reading of CPU time used so far: by the whole machine, by this process and by
// a worker process. Where /proc cannot be read (not Linux), ok is false and no CPU figures are
// reported: the wall times still are.
type cpuClock struct {
	at                    time.Time
	machine, self, worker time.Duration
	ok                    bool
}

// readCPU reads the clocks; worker may be nil.
func readCPU(worker *process) cpuClock {
	c := cpuClock{at: time.Now()}
	var err error
	if c.machine, err = machineBusy(); err != nil {
		return c
	}
	if c.self, err = processCPU(os.Getpid()); err != nil {
		return c
	}
	if worker != nil {
		if c.worker, err = processCPU(worker.cmd.Process.Pid); err != nil {
			return c
		}
	}
	c.ok = true
	return c
}

// cpuSpan is the CPU time used between two readings, and the wall time between them.
type cpuSpan struct {
	wall, machine, self, worker time.Duration
	ok                          bool
}

// since is the CPU time used between start and c.
func (c cpuClock) since(start cpuClock) cpuSpan {
	return cpuSpan{wall: c.at.Sub(start.at), machine: c.machine - start.machine, self: c.self - start.self,
		worker: c.worker - start.worker, ok: c.ok && start.ok}
}

// busyShare is the share of the machine's cores the span kept busy.
func (s cpuSpan) busyShare() float64 {
	return s.machine.Seconds() / (s.wall.Seconds() * float64(runtime.NumCPU()))
}

// machineBusy is the machine's CPU time spent on anything but idling and waiting for I/O, from
// /proc/stat's first line. Steal time is left out: it went to other machines.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return ticks(busy), nil
}

// processCPU is a live process's user and system time, from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: the fields start after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state) of proc(5); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", path, len(f)+2)
	}
	var t int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		t += n
	}
	return ticks(t), nil
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// CPUUse is the CPU time an end-to-end run took beside its fetch-only floor's, in seconds of
// CPU. On a machine where the simulator, PostgreSQL and the engine share the cores, a
// fetch-only run that keeps every core busy puts a floor under the wall-time ratio: the
// end-to-end run cannot finish faster than its CPU time spread over every core.
type CPUUse struct {
	// Fetch is the machine's CPU time in a fetch-only run (the mean of before and after), and
	// FetchBusy the share of the cores it kept busy.
	Fetch     float64 `json:"fetch_only_seconds"`
	FetchBusy float64 `json:"fetch_only_busy_share"`
	// Run is the machine's CPU time during the end-to-end run; Worker and Bench are the
	// import-worker process's and this process's (simulator, config, auth, balance, the
	// ImportService API, JetStream) shares of it. The rest is PostgreSQL's, mostly.
	Run    float64 `json:"run_seconds"`
	Worker float64 `json:"worker_seconds"`
	Bench  float64 `json:"bench_process_seconds"`
	// Ratio is Run ÷ Fetch; PerJobMs is (Run − Fetch) ÷ jobs, in milliseconds.
	Ratio    float64 `json:"ratio"`
	PerJobMs float64 `json:"beyond_fetch_ms_per_job"`
}

// cpuUse sums up the CPU time of a run of jobs beside the fetch-only runs around it; nil when
// a clock could not be read.
func cpuUse(run cpuSpan, jobs int, fetches ...fetchResult) *CPUUse {
	if !run.ok {
		return nil
	}
	var fetch, busy float64
	for _, f := range fetches {
		if !f.cpu.ok {
			return nil
		}
		fetch += f.cpu.machine.Seconds() / float64(len(fetches))
		busy += f.cpu.busyShare() / float64(len(fetches))
	}
	u := &CPUUse{Fetch: round(fetch, 2), FetchBusy: round(busy, 2), Run: round(run.machine.Seconds(), 2),
		Worker: round(run.worker.Seconds(), 2), Bench: round(run.self.Seconds(), 2)}
	// From the rounded totals, so that the figures agree with each other as printed.
	if u.Fetch > 0 {
		u.Ratio = round(u.Run/u.Fetch, 2)
	}
	if jobs > 0 {
		u.PerJobMs = round((u.Run-u.Fetch)*1000/float64(jobs), 2)
	}
	return u
}

func (u *CPUUse) String() string {
	return fmt.Sprintf("CPU: fetch-only %.1f s (%.0f %% of the cores), run %.1f s = worker %.1f + bench process %.1f + other %.1f, ratio %.2f, %.1f ms a job beyond the fetch",
		u.Fetch, u.FetchBusy*100, u.Run, u.Worker, u.Bench, max(0, u.Run-u.Worker-u.Bench), u.Ratio, u.PerJobMs)
}

// round rounds f to digits decimal places.
func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}
