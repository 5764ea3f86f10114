package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/routing"
)

func displayTeam(t *cxv1alpha1.CXTeam) string {
	if t.Spec.DisplayName != "" {
		return t.Spec.DisplayName
	}
	return t.Name
}

// channelsOf names the team's channels behind a receiver, with their kinds
// as the receiver's integrations have them.
func channelsOf(tc teamConfig, receiver string) string {
	var rec *monitoringv1alpha1.Receiver
	for i := range tc.spec.Receivers {
		if tc.spec.Receivers[i].Name == receiver {
			rec = &tc.spec.Receivers[i]
		}
	}
	if rec == nil {
		return "none (the receiver is missing)"
	}
	kinds := integrationKinds(*rec)
	var names []string
	counts := map[string]int{}
	for _, ch := range tc.team.Spec.Channels {
		for _, s := range ch.Receive {
			if string(s) == receiver {
				names = append(names, fmt.Sprintf("%s (%s)", ch.Name, ch.Type))
				counts[string(ch.Type)]++
			}
		}
	}
	same := len(names) == len(kinds)
	for _, k := range kinds {
		counts[k]--
	}
	for _, n := range counts {
		same = same && n == 0
	}
	if !same || len(names) == 0 {
		return strings.Join(kinds, ", ") + " (integrations of the receiver)"
	}
	return strings.Join(names, ", ")
}

// integrationKinds lists the kinds of a receiver's integrations, with the
// names of the CXTeam channel types.
func integrationKinds(r monitoringv1alpha1.Receiver) []string {
	var out []string
	add := func(n int, kind string) {
		for i := 0; i < n; i++ {
			out = append(out, kind)
		}
	}
	add(len(r.SlackConfigs), string(cxv1alpha1.ChannelSlack))
	add(len(r.MSTeamsV2Configs)+len(r.MSTeamsConfigs), string(cxv1alpha1.ChannelMSTeams))
	add(len(r.EmailConfigs), string(cxv1alpha1.ChannelEmail))
	add(len(r.PagerDutyConfigs), string(cxv1alpha1.ChannelPagerDuty))
	add(len(r.WebhookConfigs), string(cxv1alpha1.ChannelWebhook))
	sort.Strings(out)
	return out
}

// hoursOf says when the route sends, and at the instant given.
func hoursOf(tc teamConfig, r *monitoringv1alpha1.Route, at *time.Time) (string, error) {
	var out string
	if len(r.ActiveTimeIntervals) == 0 && len(r.MuteTimeIntervals) == 0 {
		out = "any time"
	} else {
		var parts []string
		for _, name := range r.ActiveTimeIntervals {
			parts = append(parts, "only in "+name+" ("+describeInterval(tc.spec, name)+"), held until then")
		}
		for _, name := range r.MuteTimeIntervals {
			parts = append(parts, "never in "+name+" ("+describeInterval(tc.spec, name)+")")
		}
		out = strings.Join(parts, "; ")
	}
	if at == nil {
		return out, nil
	}
	active, err := routing.ActiveAt(tc.spec, r.ActiveTimeIntervals, *at)
	if err != nil {
		return "", err
	}
	if active && len(r.MuteTimeIntervals) > 0 {
		muted, err := routing.ActiveAt(tc.spec, r.MuteTimeIntervals, *at)
		if err != nil {
			return "", err
		}
		active = !muted
	}
	verdict := "sent"
	if !active {
		verdict = "held"
	}
	return out + fmt.Sprintf("; at %s: %s", at.UTC().Format(time.RFC3339), verdict), nil
}

// describeInterval writes a time interval for people, in UTC.
func describeInterval(spec monitoringv1alpha1.AlertmanagerConfigSpec, name string) string {
	for _, mti := range spec.MuteTimeIntervals {
		if mti.Name != name {
			continue
		}
		var parts []string
		for _, ti := range mti.TimeIntervals {
			var days, times []string
			for _, d := range ti.Weekdays {
				days = append(days, string(d))
			}
			for _, t := range ti.Times {
				times = append(times, string(t.StartTime)+"-"+string(t.EndTime))
			}
			p := strings.Join(days, ",")
			if len(times) > 0 {
				p = strings.TrimSpace(p + " " + strings.Join(times, ","))
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "; ") + " UTC"
	}
	return "not defined"
}

// notifyOf says how the route groups and repeats.
func notifyOf(tc teamConfig, r *monitoringv1alpha1.Route) string {
	top := tc.spec.Route
	parts := []string{"grouped by " + strings.Join(top.GroupBy, ", ")}
	if top.GroupWait != nil {
		parts = append(parts, "first after "+string(*top.GroupWait))
	}
	if r.RepeatInterval != nil {
		parts = append(parts, "repeated every "+string(*r.RepeatInterval)+" while it fires")
	}
	return strings.Join(parts, "; ")
}

// mutedBy describes each inhibition rule that could mute the alert, with
// the alerts of the objectives given that would.
func mutedBy(c alertCase, tc teamConfig, known []alertCase) ([]string, error) {
	rules, err := routing.InhibitionsOf(tc.spec, c.labels)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rules {
		line := "a firing alert with " + formatMatchers(r.SourceMatch)
		if len(r.Equal) > 0 {
			line += " and the same " + strings.Join(r.Equal, ", ")
		}
		var sources []string
		for _, k := range known {
			if sameLabels(k.labels, c.labels) {
				continue
			}
			ok, err := routing.InhibitedBy(r, k.labels, c.labels)
			if err != nil {
				return nil, err
			}
			if ok {
				sources = append(sources, fmt.Sprintf("%s %s of %s", k.labels["alertname"], k.labels[cxv1alpha1.AlertLabelSeverity], k.from))
			}
		}
		if len(sources) > 0 {
			line += ": " + strings.Join(sources, "; ")
		} else {
			line += ": no alert of the objectives given"
		}
		out = append(out, line)
	}
	return out, nil
}

func sameLabels(a, b routing.Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func formatMatchers(ms []monitoringv1alpha1.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s%s%q", m.Name, m.MatchType, m.Value)
	}
	return strings.Join(parts, ", ")
}

func formatLabels(l routing.Labels) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
