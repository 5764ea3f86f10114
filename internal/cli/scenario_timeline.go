package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/routing"
	"github.com/cxops/cx-operator/internal/simulate"
	"github.com/cxops/cx-operator/internal/slo"
)

// writeHeader says what was simulated.
func writeHeader(w *errWriter, m slo.Objective, sc scenario, rate float64, history time.Duration, series []string) {
	w.println(fmt.Sprintf("CXObjective %s/%s: %s SLI, %s%% over %s, owned by team %s/%s",
		m.Namespace, m.Name, m.SLI.Kind, m.TargetText, slo.FormatDuration(m.Window), m.Owner.Namespace, m.Owner.Name))
	scName := sc.name
	if sc.name == ScenarioBurn {
		scName = "burn=" + slo.FormatFloat(sc.burn) + "x"
	}
	w.println(fmt.Sprintf("Scenario %s: %s.", scName, sc.story))
	traffic := fmt.Sprintf("%s events per second", slo.FormatFloat(rate))
	if sc.name == ScenarioLowTraffic {
		traffic = "one event every " + formatSince(lowTrafficPeriod)
	} else if !m.SLI.Kind.CountsEvents() {
		traffic = "time sampled at each scrape"
	}
	w.println(fmt.Sprintf("Traffic: %s; %s of good traffic before the onset.", traffic, formatSince(history)))
	windows := m.AlertWindows()
	if longest := windows[len(windows)-1]; history < longest {
		w.println(fmt.Sprintf("Note: the history is shorter than the longest alert window (%s): windows longer than %s hold "+
			"less good traffic than they would in production, so the alerts that read them fire early.", formatSince(longest), formatSince(history)))
	}
	for _, s := range series {
		w.println("Series: " + s)
	}
	w.println(fmt.Sprintf("Prometheus rules engine: scrape and evaluation every %s (every %s during the history).",
		formatSince(testStep), formatSince(historyEval)))
	w.println()
}

// event is one line of the timeline.
type event struct {
	at     time.Duration
	fires  bool
	labels labels.Labels
	alert  string
	text   string
}

// writeTimeline writes when each alert fired and resolved, since the onset,
// with the team and channels it reaches.
func writeTimeline(w *errWriter, tl *simulate.Timeline, ended time.Duration, configs []teamConfig) error {
	var events []event
	for _, ep := range tl.Episodes {
		events = append(events, event{at: ep.Start, fires: true, labels: ep.Labels, alert: ep.Alert, text: ep.Summary})
		if ep.End >= 0 {
			events = append(events, event{at: ep.End, labels: ep.Labels, alert: ep.Alert})
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	if len(events) == 0 {
		w.println(fmt.Sprintf("No alert fired in the %s after the onset.", formatSince(ended)))
		return w.err
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	// The table goes to a strings.Builder, whose writes do not fail.
	_, _ = fmt.Fprintln(tw, "SINCE ONSET\tEVENT\tSEVERITY\tALERT\tTEAM\tSUMMARY")
	for _, ev := range events {
		verb := "resolves"
		if ev.fires {
			verb = "fires"
		}
		team := ev.labels.Get(cxv1alpha1.AlertLabelNamespace) + "/" + ev.labels.Get(cxv1alpha1.AlertLabelTeam)
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", "+"+formatSince(ev.at), verb, ev.labels.Get(cxv1alpha1.AlertLabelSeverity),
			ev.alert, team, oneLine(ev.text))
		if ev.fires {
			to, err := reaches(ev.labels, configs)
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(tw, "\t\t\t\t\tto %s\n", to)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		w.println(strings.TrimRight(line, " "))
	}
	var still []string
	for _, ep := range tl.Episodes {
		if ep.End < 0 {
			still = append(still, fmt.Sprintf("%s %s (%s/%s)", ep.Labels.Get(cxv1alpha1.AlertLabelSeverity), ep.Alert,
				ep.Labels.Get(cxv1alpha1.AlertLabelNamespace), ep.Labels.Get(cxv1alpha1.AlertLabelTeam)))
		}
	}
	w.println()
	if len(still) > 0 {
		w.println(fmt.Sprintf("End of the run at +%s: still firing: %s.", formatSince(ended), strings.Join(still, ", ")))
	} else {
		w.println(fmt.Sprintf("End of the run at +%s: every alert has resolved.", formatSince(ended)))
	}
	return w.err
}

// reaches says which channels of which team an alert reaches.
func reaches(l labels.Labels, configs []teamConfig) (string, error) {
	al := routing.Labels(l.Map())
	for _, tc := range configs {
		r, err := routing.RouteOf(tc.spec, al)
		if err != nil {
			return "", err
		}
		if r == nil {
			continue
		}
		if r.Receiver == routing.DefaultReceiver {
			return "nobody: team " + tc.team.Name + " has no channel for severity " + al[cxv1alpha1.AlertLabelSeverity], nil
		}
		out := tc.team.Name + ": " + channelsOf(tc, r.Receiver)
		if len(r.ActiveTimeIntervals) > 0 {
			out += ", only in " + strings.Join(r.ActiveTimeIntervals, ", ")
		}
		return out, nil
	}
	return "nobody: no team's AlertmanagerConfig among the manifests takes it", nil
}

// formatSince writes a duration as 45s, 1m30s, 2h, 1h5m or 3d, without
// zero parts.
func formatSince(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	days := d / (24 * time.Hour)
	h := (d % (24 * time.Hour)) / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 || (days == 0 && h == 0 && m == 0) {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
