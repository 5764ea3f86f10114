package benchkit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ChildPID is the process id of this process's child with the given
// command name, or 0.
func ChildPID(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.ppid == self && st.comm == comm {
			return pid
		}
	}
	return 0
}

// CPUTime is a process's CPU time so far (utime + stime); 0 when unknown.
func CPUTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	return st.cpu
}

// procStat is what the benchmarks need of /proc/<pid>/stat.
type procStat struct {
	comm string
	ppid int
	// cpu is utime + stime.
	cpu time.Duration
}

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ), 100 on
// every architecture Linux runs Go on.
const userHZ = 100

func readStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(raw)
	// The command name is in parentheses and may itself hold spaces and
	// parentheses; the fields after the last ')' are plain numbers.
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[closing+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return procStat{comm: s[open+1 : closing], ppid: ppid, cpu: time.Duration(utime+stime) * time.Second / userHZ}, nil
}

// ReadMemory reads VmRSS and VmHWM of a process, in bytes.
func ReadMemory(pid int) (rss, hwm int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s of process %d: %w", key, pid, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// LoadAverage is the 1, 5 and 15 minute load averages, "unknown" when they
// cannot be read.
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return Unknown
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return Unknown
	}
	return strings.Join(f[:3], " ")
}
