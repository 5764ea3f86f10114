package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/routing"
)

// RouteCommand are the options of kubectl cx route.
type RouteCommand struct {
	// Input says which manifests to read: the teams, and the objectives
	// whose alerts are routed or may mute others.
	Input InputOptions
	// Labels are the labels of one alert, as key=value,...
	Labels string
	// Objective routes every alert that the objective's rules can raise:
	// its name, or namespace/name.
	Objective string
	// At, when set, says whether the route sends at that instant (its
	// business hours).
	At string
}

// teamConfig is a team's AlertmanagerConfig as prometheus-operator loads it.
type teamConfig struct {
	team *cxv1alpha1.CXTeam
	name string
	// spec is the generated spec with the namespace matchers and continue
	// that prometheus-operator adds.
	spec monitoringv1alpha1.AlertmanagerConfigSpec
}

// alertCase is one alert to route: its labels and where they come from.
type alertCase struct {
	labels routing.Labels
	// from names the objective that raises it, when known.
	from string
}

// RunRoute reads the manifests and writes, for the alert of --labels or for
// each alert of --objective, which team, receiver and channels it reaches,
// in which hours, and which inhibition rules could mute it.
func RunRoute(ctx context.Context, stdout, stderr io.Writer, o RouteCommand) error {
	if (o.Labels == "") == (o.Objective == "") {
		return usagef("give the alert with --labels k=v,... or an objective with --objective NAME (one of the two)")
	}
	var at *time.Time
	if o.At != "" {
		t, err := time.Parse(time.RFC3339, o.At)
		if err != nil {
			return usagef("--at must be a time such as 2026-03-02T09:30:00Z: %v", err)
		}
		at = &t
	}
	in, err := ReadInputs(o.Input)
	if err != nil {
		return err
	}
	set, _, problems, err := resolveInputs(ctx, in)
	if err != nil {
		return err
	}
	problems = append(append([]Problem(nil), in.Problems...), problems...)
	configs, ps := teamConfigs(set)
	problems = append(problems, ps...)
	known, ps := objectiveAlerts(set)
	problems = append(problems, ps...)
	if err := reportProblems(stderr, problems); err != nil {
		return err
	}
	if len(configs) == 0 {
		return fmt.Errorf("no CXTeam among the manifests can be routed: give the teams' manifests with -f")
	}

	var cases []alertCase
	if o.Labels != "" {
		l, err := parseLabels(o.Labels, false)
		if err != nil {
			return usagef("--labels: %v", err)
		}
		cases = []alertCase{{labels: routing.Labels(l)}}
	} else {
		obj, err := findObjective(set, o.Objective, o.Input.namespace())
		if err != nil {
			return err
		}
		for _, a := range known {
			if a.from == obj.from.Describe() {
				cases = append(cases, a)
			}
		}
		if len(cases) == 0 {
			return fmt.Errorf("%s raises no alerts (its rules could not be built, see above, or it turns pages and tickets off)", obj.from.Describe())
		}
	}
	w := &errWriter{w: stdout}
	lost := 0
	for i, c := range cases {
		if i > 0 {
			w.println()
		}
		delivered, err := writeRoute(w, c, configs, known, at)
		if err != nil {
			return err
		}
		if !delivered {
			lost++
		}
	}
	w.println()
	w.println("prometheus-operator gives each AlertmanagerConfig's top route continue: true, so an alert also goes on")
	w.println("to the routes of the Alertmanager's own configuration, which kubectl cx does not know.")
	if w.err != nil {
		return w.err
	}
	if lost > 0 {
		diagnose(stderr, "%s of %d reach no channel of the teams given", plural(lost, "alert"), len(cases))
		return ErrReported
	}
	return nil
}

// reportProblems writes problems to stderr; errors among them stop the
// command after they are all written.
func reportProblems(stderr io.Writer, problems []Problem) error {
	failed := false
	for _, p := range problems {
		diagnose(stderr, "%s", p)
		failed = failed || p.Severity == SeverityError
	}
	if failed {
		return ErrReported
	}
	return nil
}

// teamConfigs builds every team's AlertmanagerConfig spec, in the order of
// the manifests.
func teamConfigs(set *resolvedSet) ([]teamConfig, []Problem) {
	var out []teamConfig
	var problems []Problem
	for _, t := range set.teams {
		config, err := desired.AlertmanagerConfig(t.team, desired.DefaultOptions())
		if err != nil {
			_, ps := controllerProblems(t.from, err)
			problems = append(problems, ps...)
			continue
		}
		out = append(out, teamConfig{team: t.team, name: config.Name, spec: routing.OnNamespace(config.Spec, t.team.Namespace)})
	}
	return out, problems
}

// objectiveAlerts returns the labels of every alert that the objectives'
// generated rules can raise, taken from the alerting rules themselves.
func objectiveAlerts(set *resolvedSet) ([]alertCase, []Problem) {
	var out []alertCase
	var problems []Problem
	for _, o := range set.objectives {
		res, err := desired.Resolve(o.obj, set.lookup)
		if err != nil {
			_, ps := controllerProblems(o.from, err)
			problems = append(problems, ps...)
			continue
		}
		rule, err := desired.PrometheusRule(o.obj, res, desired.DefaultOptions())
		if err != nil {
			_, ps := controllerProblems(o.from, err)
			problems = append(problems, ps...)
			continue
		}
		for _, g := range rule.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				l := routing.Labels{"alertname": r.Alert}
				for k, v := range r.Labels {
					l[k] = v
				}
				out = append(out, alertCase{labels: l, from: o.from.Describe()})
			}
		}
	}
	return out, problems
}

// findObjective finds an objective by name or namespace/name.
func findObjective(set *resolvedSet, ref, namespace string) (typedObjective, error) {
	ns, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		ns, name = "", ref
	}
	var found []typedObjective
	for _, o := range set.objectives {
		if o.obj.Name == name && (ns == "" || o.obj.Namespace == ns) {
			found = append(found, o)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		for _, o := range found {
			if o.obj.Namespace == namespace {
				return o, nil
			}
		}
		return typedObjective{}, usagef("objective %q is in several namespaces: give it as namespace/name", ref)
	default:
		return typedObjective{}, fmt.Errorf("no CXObjective %q among the manifests (or the API server would refuse it, see above)", ref)
	}
}

// writeRoute writes where one alert goes, and says whether it reaches a
// receiver with integrations.
func writeRoute(w *errWriter, c alertCase, configs []teamConfig, known []alertCase, at *time.Time) (bool, error) {
	title := "alert"
	if name := c.labels["alertname"]; name != "" {
		title = name
	}
	if sev := c.labels[cxv1alpha1.AlertLabelSeverity]; sev != "" {
		title += " severity=" + sev
	}
	if team := c.labels[cxv1alpha1.AlertLabelTeam]; team != "" {
		title += " for team " + team
	}
	if c.from != "" {
		title += " (" + c.from + ")"
	}
	w.println(title)
	w.field("labels", formatLabels(c.labels))
	matched, delivered := 0, false
	for _, tc := range configs {
		r, err := routing.RouteOf(tc.spec, c.labels)
		if err != nil {
			return false, fmt.Errorf("routing in AlertmanagerConfig %s/%s: %w", tc.team.Namespace, tc.name, err)
		}
		if r == nil {
			continue
		}
		matched++
		if err := writeTeamRoute(w, c, tc, r, known, at); err != nil {
			return false, err
		}
		delivered = delivered || r.Receiver != routing.DefaultReceiver
	}
	if matched == 0 {
		w.field("team", "none: no AlertmanagerConfig of the teams given takes this alert")
		for _, hint := range routeHints(c.labels, configs) {
			w.field("", hint)
		}
	}
	return delivered, nil
}

// routeHints explain why no team takes an alert.
func routeHints(l routing.Labels, configs []teamConfig) []string {
	var out []string
	team, ns := l[cxv1alpha1.AlertLabelTeam], l[cxv1alpha1.AlertLabelNamespace]
	if team == "" {
		out = append(out, "the alert has no cx_team label: each team's route matches cx_team=\"<team>\"")
	}
	for _, tc := range configs {
		if tc.team.Name == team && tc.team.Namespace != ns {
			out = append(out, fmt.Sprintf("CXTeam %s/%s matches cx_team=%q, but prometheus-operator lets its AlertmanagerConfig take only "+
				"alerts with namespace=%q, and this one has namespace=%q", tc.team.Namespace, tc.team.Name, team, tc.team.Namespace, ns))
		}
	}
	if len(out) == 0 && team != "" {
		out = append(out, fmt.Sprintf("no CXTeam named %q among the manifests", team))
	}
	return out
}

func writeTeamRoute(w *errWriter, c alertCase, tc teamConfig, r *monitoringv1alpha1.Route, known []alertCase, at *time.Time) error {
	w.field("team", fmt.Sprintf("%s (CXTeam %s/%s, AlertmanagerConfig %s/%s)", displayTeam(tc.team), tc.team.Namespace, tc.team.Name, tc.team.Namespace, tc.name))
	receiver := r.Receiver
	fullName := tc.team.Namespace + "/" + tc.name + "/" + receiver
	if receiver == routing.DefaultReceiver {
		w.field("receiver", fmt.Sprintf("%s (%s): no integrations, so the alert is dropped; no channel of the team receives severity=%q",
			receiver, fullName, c.labels[cxv1alpha1.AlertLabelSeverity]))
		return nil
	}
	w.field("receiver", fmt.Sprintf("%s (%s in Alertmanager)", receiver, fullName))
	w.field("channels", channelsOf(tc, receiver))
	hours, err := hoursOf(tc, r, at)
	if err != nil {
		return err
	}
	w.field("hours", hours)
	w.field("notifies", notifyOf(tc, r))
	muted, err := mutedBy(c, tc, known)
	if err != nil {
		return err
	}
	if len(muted) == 0 {
		w.field("muted by", "no inhibition rule of the team targets it")
	}
	for i, m := range muted {
		label := ""
		if i == 0 {
			label = "muted by"
		}
		w.field(label, m)
	}
	return nil
}
