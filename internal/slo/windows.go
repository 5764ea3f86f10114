package slo

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day

	// ReferenceWindow is the objective window the default burn-rate windows
	// are given for; other windows scale them.
	ReferenceWindow = 30 * day

	// DefaultBaseWindow is the longest range over which raw (scraped)
	// series are read. Every longer window is composed of recorded series.
	DefaultBaseWindow = 5 * time.Minute

	// ForecastWindow is the burn-rate window of the budget exhaustion
	// forecast.
	ForecastWindow = day
)

// Defaults for a 30-day window, from the Google SRE workbook (chapter 5,
// "Alerting on SLOs", multiwindow, multi-burn-rate alerts): a page when 2% of
// the budget burns in 1 hour (14.4x) or 5% in 6 hours (6x); a ticket when 10%
// burns in 1 day (3x) or in 3 days (1x). The short windows are 1/12 of the
// long ones.
var (
	defaultPage = []BurnWindow{
		{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
		{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
	}
	defaultTicket = []BurnWindow{
		{Long: day, Short: 2 * time.Hour, Factor: 3},
		{Long: 3 * day, Short: 6 * time.Hour, Factor: 1},
	}
)

// Guard defaults; see the LowTraffic API type for what they mean.
const (
	DefaultPageMinBadEventsPerHour   = 20
	DefaultTicketMinBadEventsPerHour = 1
	DefaultMinShortWindowBadEvents   = 3
)

// ScaledDefaults returns the default page and ticket windows for an
// objective window: the 30-day windows scaled in proportion. The factors
// stay: a factor is the share of the budget burned in the long window times
// the objective window over the long window, and both scale alike. Scaled
// windows are rounded to a multiple of DefaultBaseWindow, so that they are
// composed exactly of base windows, or to the minute below that.
func ScaledDefaults(window time.Duration) (page, ticket []BurnWindow) {
	scale := func(ws []BurnWindow) []BurnWindow {
		out := make([]BurnWindow, len(ws))
		for i, w := range ws {
			out[i] = BurnWindow{Long: scaleDuration(w.Long, window), Short: scaleDuration(w.Short, window), Factor: w.Factor}
		}
		return out
	}
	return scale(defaultPage), scale(defaultTicket)
}

func scaleDuration(d, window time.Duration) time.Duration {
	scaled := time.Duration(float64(d) * float64(window) / float64(ReferenceWindow))
	if scaled >= DefaultBaseWindow {
		return scaled.Round(DefaultBaseWindow)
	}
	return max(scaled.Round(time.Minute), time.Minute)
}

// ParseDuration parses the API's single-unit durations: 5m, 1h, 28d, 4w.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a duration such as 5m, 1h, 28d or 4w", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 5m, 1h, 28d or 4w", s)
	}
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': day, 'w': week}
	unit, ok := units[s[len(s)-1]]
	if !ok {
		return 0, fmt.Errorf("%q is not a duration such as 5m, 1h, 28d or 4w", s)
	}
	return time.Duration(n) * unit, nil
}

// FormatDuration writes a duration the way Prometheus reads it, in days,
// hours and minutes: 30d, 5h36m, 5m. Sub-minute parts are dropped.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0m"
	}
	var b strings.Builder
	days := d / day
	d -= days * day
	hours := d / time.Hour
	d -= hours * time.Hour
	minutes := d / time.Minute
	for _, p := range []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {hours, "h"}, {minutes, "m"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	if b.Len() == 0 {
		return "0m"
	}
	return b.String()
}

// ParseWindowLabel reads a duration written by FormatDuration, such as the
// cx_window label of a recorded series: 30d, 5h36m, 2d19h10m.
func ParseWindowLabel(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "dhm")
		if i <= 0 {
			return 0, fmt.Errorf("%q is not a window such as 5m, 1h or 2d19h10m", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a window such as 5m, 1h or 2d19h10m", s)
		}
		total += time.Duration(n) * map[byte]time.Duration{'d': day, 'h': time.Hour, 'm': time.Minute}[rest[i]]
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a window such as 5m, 1h or 2d19h10m", s)
	}
	return total, nil
}

// DescribeWindow names an objective window in words for alert summaries:
// "this month's" for 30 days, "this week's" for 7, else "this 28-day".
func DescribeWindow(window time.Duration) string {
	switch window {
	case 30 * day:
		return "this month's"
	case week:
		return "this week's"
	case day:
		return "today's"
	}
	if window%day == 0 {
		return fmt.Sprintf("this %d-day window's", window/day)
	}
	return fmt.Sprintf("this %s window's", FormatDuration(window))
}

// FormatFloat writes a number in the shortest form that reads back exactly.
func FormatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func sortedDurations(set map[time.Duration]bool) []time.Duration {
	out := make([]time.Duration, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
