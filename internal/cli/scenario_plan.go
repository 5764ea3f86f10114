package cli

import (
	"fmt"
	"math"
	"time"

	"github.com/cxops/cx-operator/internal/slo"
)

// plan fills in the scenario's bad share and timings for the objective, from
// the burn-rate arithmetic of its windows: a constant bad share x over a
// window of length L reaches the factor f of the budget b after L·f·b/x.
func (sc *scenario) plan(m slo.Objective, rate float64, duration time.Duration) error {
	var err error
	switch sc.name {
	case ScenarioOutage:
		sc.planOutage(m, rate)
	case ScenarioRecovery:
		sc.planRecovery(m, rate)
	case ScenarioBurn:
		err = sc.planBurn(m, rate)
	case ScenarioLowTraffic:
		err = sc.planLowTraffic(m)
	}
	if err != nil {
		return err
	}
	if duration > 0 {
		sc.duration = duration
	}
	sc.duration = sc.duration.Round(testStep)
	if sc.name == ScenarioRecovery {
		sc.story = fmt.Sprintf("every event is bad from the onset for %s, then all are good; the run ends once every alert "+
			"has resolved, or at +%s", formatSince(sc.outage), formatSince(sc.duration))
	}
	return nil
}

// urgentWindows are the pairs of the most urgent alert: the page's, or the
// ticket's for an objective that does not page.
func urgentWindows(m slo.Objective) ([]slo.BurnWindow, slo.Guard) {
	if len(m.Page) == 0 {
		return m.Ticket, m.TicketGuard
	}
	return m.Page, m.PageGuard
}

// lastFire is when the last pair of any alert fires at a bad share x.
func lastFire(m slo.Objective, x, rate float64) (time.Duration, bool) {
	last, found := latestFire(m, m.Page, m.PageGuard, x, rate)
	if t, ok := latestFire(m, m.Ticket, m.TicketGuard, x, rate); ok {
		last, found = max(last, t), true
	}
	return last, found
}

func longestShort(m slo.Objective) time.Duration {
	out := time.Duration(0)
	for _, w := range append(append([]slo.BurnWindow(nil), m.Page...), m.Ticket...) {
		out = max(out, w.Short)
	}
	return out
}

// outageShare is every event bad from the onset for the outage.
func outageShare(outage time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t >= 0 && t < outage {
			return 1
		}
		return 0
	}
}

// planOutage: bad until every alert that can fire has fired, then good
// for as long as the urgent alert's short window, so that it resolves.
func (sc *scenario) planOutage(m slo.Objective, rate float64) {
	last, ok := lastFire(m, 1, rate)
	if !ok {
		last = time.Hour
	}
	urgent, _ := urgentWindows(m)
	sc.outage = max(10*time.Minute, last+5*time.Minute).Round(testStep)
	sc.duration = sc.outage + shortest(urgent, longestShort(m)) + 10*time.Minute
	sc.story = fmt.Sprintf("every event is bad from the onset for %s, then all are good", formatSince(sc.outage))
	sc.share = outageShare(sc.outage)
}

// planRecovery: bad until the urgent alert fires, then good until
// everything resolved; the bound leaves time for the longest short window
// to clear twice.
func (sc *scenario) planRecovery(m slo.Objective, rate float64) {
	urgent, guard := urgentWindows(m)
	first, ok := earliestFire(m, urgent, guard, 1, rate)
	if !ok {
		first = 10 * time.Minute
	}
	sc.outage = (first + 5*time.Minute).Round(testStep)
	sc.duration = sc.outage + 2*longestShort(m) + time.Hour
	sc.untilResolved = true
	sc.share = outageShare(sc.outage)
}

// planBurn: a constant burn until the last pair that it exceeds fires; if
// it exceeds none, as long as the urgent alert's longest window, to show
// that nothing fires.
func (sc *scenario) planBurn(m slo.Objective, rate float64) error {
	x := sc.burn * m.Budget
	if x >= 1 {
		return usagef("burn=%sx is more than the %s%% objective can burn: at most %sx, when every event is bad",
			slo.FormatFloat(sc.burn), m.TargetText, slo.FormatFloat(math.Floor(1/m.Budget*1000)/1000))
	}
	if last, ok := lastFire(m, x, rate); ok {
		sc.duration = last + 10*time.Minute
	} else {
		urgent, _ := urgentWindows(m)
		long := time.Duration(0)
		for _, w := range urgent {
			long = max(long, w.Long)
		}
		sc.duration = long + 10*time.Minute
	}
	sc.story = fmt.Sprintf("from the onset the error budget burns %sx too fast: %s of events are bad", slo.FormatFloat(sc.burn), percent(x))
	sc.share = func(t time.Duration) float64 {
		if t >= 0 {
			return x
		}
		return 0
	}
	return nil
}

func (sc *scenario) planLowTraffic(m slo.Objective) error {
	if !m.SLI.Kind.CountsEvents() {
		return usagef("lowtraffic counts events: the %s SLI of %s samples time, so traffic does not change it", m.SLI.Kind, m.Name)
	}
	sc.duration = lowTrafficDuration
	sc.story = fmt.Sprintf("one event every %s, from the onset %s of them bad (at random, the same each run)",
		formatSince(lowTrafficPeriod), percent(lowTrafficBadShare))
	return nil
}

// fireAfter is when a window pair fires at a constant bad share x after a
// history of good events, or false if it never does: the long window
// reaches the factor after L·f·b/x, and for SLIs that count events it must
// also hold the guard's bad events.
func fireAfter(m slo.Objective, w slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	need := w.Factor * m.Budget
	if x <= need {
		return 0, false
	}
	t := time.Duration(float64(w.Long) * need / x)
	if m.SLI.Kind.CountsEvents() && g.MinBadEventsPerHour > 0 {
		guard := time.Duration(g.MinBadEventsPerHour * w.Long.Hours() / (rate * x) * float64(time.Second))
		if guard > w.Long {
			return 0, false
		}
		t = max(t, guard)
	}
	return t, true
}

func earliestFire(m slo.Objective, ws []slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	best, found := time.Duration(math.MaxInt64), false
	for _, w := range ws {
		if t, ok := fireAfter(m, w, g, x, rate); ok {
			best, found = min(best, t), true
		}
	}
	return best, found
}

func latestFire(m slo.Objective, ws []slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	last, found := time.Duration(0), false
	for _, w := range ws {
		if t, ok := fireAfter(m, w, g, x, rate); ok {
			last, found = max(last, t), true
		}
	}
	return last, found
}

func shortest(ws []slo.BurnWindow, fallback time.Duration) time.Duration {
	out := time.Duration(0)
	for _, w := range ws {
		out = max(out, w.Short)
	}
	if out == 0 {
		return fallback
	}
	return out
}
