package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuModel is /proc/cpuinfo's first model name.
func cpuModel() string {
	v, _ := procField("/proc/cpuinfo", "model name")
	return v
}

// memGiB is the machine's memory.
func memGiB() float64 {
	v, _ := procField("/proc/meminfo", "MemTotal")
	kib, _ := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
	return float64(int(kib/(1<<20)*10+0.5)) / 10
}

// loadAvg is the 1, 5 and 15-minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// RSS is a process's resident memory: its peak (VmHWM) and now (VmRSS), in MB (10⁶ bytes).
type RSS struct {
	PeakMB, CurrentMB float64
}

// ReadRSS reads a live process's resident memory from /proc/<pid>/status.
func ReadRSS(pid int) (RSS, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	peak, err := procKiB(path, "VmHWM")
	if err != nil {
		return RSS{}, err
	}
	cur, err := procKiB(path, "VmRSS")
	if err != nil {
		return RSS{}, err
	}
	return RSS{PeakMB: peak * 1024 / 1e6, CurrentMB: cur * 1024 / 1e6}, nil
}

func procKiB(path, key string) (float64, error) {
	v, err := procField(path, key)
	if err != nil {
		return 0, err
	}
	kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 64)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %q", path, key, v)
	}
	return kib, nil
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: no %s", path, key)
}
