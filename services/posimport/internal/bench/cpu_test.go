package bench

import (
	"math"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestCPUClocks spins until this process's clock has moved by 100 ms, and checks that the
// machine's clock moved at least as far: the machine's busy time includes this process's.
func TestCPUClocks(t *testing.T) {
	start := readCPU(nil)
	if !start.ok {
		t.Fatal("the CPU clocks cannot be read")
	}
	deadline := time.Now().Add(20 * time.Second)
	var now cpuClock
	for {
		x := 0.0
		for i := range 1_000_000 {
			x += math.Sqrt(float64(i))
		}
		_ = x
		if now = readCPU(nil); !now.ok {
			t.Fatal("the CPU clocks cannot be read")
		}
		if now.self-start.self >= 100*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("this process's CPU time moved %v in 20 s of spinning", now.self-start.self)
		}
	}
	used := now.since(start)
	// Two readings of 10 ms ticks each.
	if used.machine < used.self-20*time.Millisecond {
		t.Errorf("machine busy %v, below this process's %v", used.machine, used.self)
	}
	// 10 ms ticks per core over a window of a few hundred milliseconds.
	if s := used.busyShare(); s <= 0 || s > 1.5 {
		t.Errorf("busy share %v, want about 1 at most", s)
	}
	if _, err := processCPU(os.Getpid() + 1<<22); err == nil {
		t.Error("a process that does not exist has a CPU time")
	}
}

func TestCPUUse(t *testing.T) {
	// A fetch-only run that kept busy that share of this machine's cores.
	fetch := func(cpu time.Duration, busy float64) fetchResult {
		wall := time.Duration(float64(cpu) / (busy * float64(runtime.NumCPU())))
		return fetchResult{cpu: cpuSpan{wall: wall, machine: cpu, ok: true}}
	}
	run := cpuSpan{machine: 35 * time.Second, self: 12 * time.Second, worker: 14 * time.Second, ok: true}
	got := cpuUse(run, 2000, fetch(11*time.Second, 0.96), fetch(12*time.Second, 0.98))
	want := CPUUse{Fetch: 11.5, FetchBusy: 0.97, Run: 35, Worker: 14, Bench: 12, Ratio: 3.04, PerJobMs: 11.75}
	if *got != want {
		t.Errorf("cpuUse = %+v, want %+v", *got, want)
	}
	if s := got.String(); s != "CPU: fetch-only 11.5 s (97 % of the cores), run 35.0 s = worker 14.0 + bench process 12.0 + other 9.0, ratio 3.04, 11.8 ms a job beyond the fetch" {
		t.Errorf("String() = %q", s)
	}
	// Without /proc there are no figures, rather than wrong ones.
	if u := cpuUse(cpuSpan{machine: time.Second}, 10, fetch(time.Second, 1)); u != nil {
		t.Errorf("cpuUse of an unread clock = %+v, want nil", *u)
	}
	if u := cpuUse(run, 10, fetchResult{}); u != nil {
		t.Errorf("cpuUse with an unread fetch-only clock = %+v, want nil", *u)
	}
}
