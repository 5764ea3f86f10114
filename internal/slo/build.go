package slo

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// InvalidError says that a spec passed admission but cannot become rules:
// retrying will not help until the spec changes. Each error names its field.
type InvalidError struct {
	// Errors are the problems, each with its field path.
	Errors field.ErrorList
}

func (e *InvalidError) Error() string { return e.Errors.ToAggregate().Error() }

// IsInvalid says whether err is, or wraps, an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// TeamFrom returns the model of a CXTeam.
func TeamFrom(t *cxv1alpha1.CXTeam) Team {
	display := t.Spec.DisplayName
	if display == "" {
		display = t.Name
	}
	return Team{Name: t.Name, Namespace: t.Namespace, Department: t.Spec.Department, DisplayName: display}
}

// FromObjective builds the model of a CXObjective whose owner and
// stakeholder teams were resolved by the caller. It validates what the API
// server's schema and CEL rules cannot: PromQL that does not parse, and
// selectors that Prometheus would reject. It never mutates its input.
func FromObjective(obj *cxv1alpha1.CXObjective, owner Team, stakeholders []Team) (Objective, error) {
	spec := &obj.Spec
	root := field.NewPath("spec")
	var errs field.ErrorList

	o := Objective{
		Name:         obj.Name,
		Namespace:    obj.Namespace,
		Journey:      spec.Journey,
		Touchpoint:   spec.Touchpoint,
		Description:  spec.Description,
		Owner:        owner,
		Stakeholders: append([]Team(nil), stakeholders...),
		TargetText:   spec.Target,
	}

	var err error
	if o.Target, o.Budget, err = parseTarget(spec.Target); err != nil {
		errs = append(errs, field.Invalid(root.Child("target"), spec.Target, err.Error()))
	}
	windowText := string(spec.Window)
	if windowText == "" {
		windowText = "30d"
	}
	if o.Window, err = ParseDuration(windowText); err != nil {
		errs = append(errs, field.Invalid(root.Child("window"), windowText, err.Error()))
	}
	o.SLI, err = buildSLI(spec.SLI, root.Child("sli"))
	if err != nil {
		var ie *InvalidError
		if errors.As(err, &ie) {
			errs = append(errs, ie.Errors...)
		}
	}
	errs = append(errs, applyAlerting(&o, spec.Alerting, root.Child("alerting"))...)
	errs = append(errs, checkText(spec.Touchpoint, root.Child("touchpoint"))...)
	errs = append(errs, checkText(spec.Description, root.Child("description"))...)
	errs = append(errs, checkText(owner.Department, field.NewPath("owner", "spec", "department"))...)
	errs = append(errs, checkText(owner.DisplayName, field.NewPath("owner", "spec", "displayName"))...)
	if len(errs) > 0 {
		return Objective{}, &InvalidError{Errors: errs}
	}
	return o, nil
}

// parseTarget turns "99.9" into 0.999 and a budget of exactly 0.001: the
// subtraction is done in decimal, so that the budget prints as 0.001 and not
// as 0.0010000000000000009.
func parseTarget(s string) (target, budget float64, err error) {
	t, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, 0, errors.New("must be a decimal percentage such as 99.9")
	}
	hundred := big.NewRat(100, 1)
	if t.Sign() <= 0 || t.Cmp(hundred) >= 0 {
		return 0, 0, errors.New("must be strictly between 0 and 100")
	}
	target, _ = new(big.Rat).Quo(t, hundred).Float64()
	budget, _ = new(big.Rat).Quo(new(big.Rat).Sub(hundred, t), hundred).Float64()
	return target, budget, nil
}

func buildSLI(in cxv1alpha1.SLI, path *field.Path) (SLI, error) {
	var errs field.ErrorList
	parse := func(p *field.Path, s cxv1alpha1.Selector) Selector {
		sel, err := ParseSelector(string(s))
		if err != nil {
			errs = append(errs, field.Invalid(p, string(s), err.Error()))
		}
		return sel
	}
	var out SLI
	switch {
	case in.ErrorRatio != nil:
		p := path.Child("errorRatio")
		out = SLI{Kind: KindErrorRatio,
			Errors: parse(p.Child("errors"), in.ErrorRatio.Errors),
			Total:  parse(p.Child("total"), in.ErrorRatio.Total)}
	case in.Latency != nil:
		p := path.Child("latency")
		sel := parse(p.Child("metric"), in.Latency.Metric)
		out = SLI{Kind: KindLatency, Metric: sel,
			Native: in.Latency.Histogram == cxv1alpha1.HistogramNative, ThresholdText: in.Latency.Threshold}
		errs = append(errs, checkHistogram(sel, out.Native, p.Child("metric"), string(in.Latency.Metric))...)
		threshold, err := parseLatency(in.Latency.Threshold)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("threshold"), in.Latency.Threshold, err.Error()))
		}
		out.Threshold = threshold
	case in.Availability != nil:
		out = SLI{Kind: KindAvailability, Metric: parse(path.Child("availability", "metric"), in.Availability.Metric)}
	case in.Score != nil:
		p := path.Child("score")
		sel := parse(p.Child("metric"), in.Score.Metric)
		threshold, err := strconv.ParseFloat(in.Score.Threshold, 64)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("threshold"), in.Score.Threshold, "must be a number such as 4.2"))
		}
		out = SLI{Kind: KindScore, Metric: sel, Threshold: threshold, ThresholdText: in.Score.Threshold,
			GoodAbove: in.Score.GoodWhen != cxv1alpha1.GoodBelow}
	default:
		errs = append(errs, field.Required(path, "set exactly one of errorRatio, latency, availability or score"))
	}
	if len(errs) > 0 {
		return SLI{}, &InvalidError{Errors: errs}
	}
	return out, nil
}

func checkHistogram(sel Selector, native bool, p *field.Path, raw string) field.ErrorList {
	if native {
		return nil
	}
	var errs field.ErrorList
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if strings.HasSuffix(sel.Name, suffix) {
			errs = append(errs, field.Invalid(p, raw, fmt.Sprintf(
				"give the histogram's base name without %s: the operator reads the _bucket and _count series itself", suffix)))
		}
	}
	if sel.HasLabel("le") {
		errs = append(errs, field.Invalid(p, raw, "may not match on le: the threshold chooses the bucket"))
	}
	return errs
}

// parseLatency reads "300ms" or "1.5s" as seconds.
func parseLatency(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("must be a positive duration in ms or s, e.g. 300ms")
	}
	return d.Seconds(), nil
}

func applyAlerting(o *Objective, a *cxv1alpha1.Alerting, path *field.Path) field.ErrorList {
	if a == nil {
		a = &cxv1alpha1.Alerting{}
	}
	var errs field.ErrorList
	page, ticket := ScaledDefaults(o.Window)
	if len(a.PageWindows) > 0 {
		page, errs = parseWindows(a.PageWindows, path.Child("pageWindows"), o.Window, errs)
	}
	if len(a.TicketWindows) > 0 {
		ticket, errs = parseWindows(a.TicketWindows, path.Child("ticketWindows"), o.Window, errs)
	}
	if a.Page == nil || *a.Page {
		o.Page = page
	}
	if a.Ticket == nil || *a.Ticket {
		o.Ticket = ticket
	}
	o.PageGuard = Guard{MinBadEventsPerHour: DefaultPageMinBadEventsPerHour, MinShortWindowBadEvents: DefaultMinShortWindowBadEvents}
	o.TicketGuard = Guard{MinBadEventsPerHour: DefaultTicketMinBadEventsPerHour, MinShortWindowBadEvents: DefaultMinShortWindowBadEvents}
	if lt := a.LowTraffic; lt != nil {
		setIf(&o.PageGuard.MinBadEventsPerHour, lt.PageMinBadEventsPerHour)
		setIf(&o.TicketGuard.MinBadEventsPerHour, lt.TicketMinBadEventsPerHour)
		setIf(&o.PageGuard.MinShortWindowBadEvents, lt.MinShortWindowBadEvents)
		setIf(&o.TicketGuard.MinShortWindowBadEvents, lt.MinShortWindowBadEvents)
	}
	if a.KeepFiringFor != nil {
		d, err := ParseDuration(string(*a.KeepFiringFor))
		if err != nil {
			errs = append(errs, field.Invalid(path.Child("keepFiringFor"), *a.KeepFiringFor, err.Error()))
		}
		o.KeepFiringFor = d
	}
	o.BudgetForecast = a.BudgetForecast
	errs = append(errs, checkLabels(a.Labels, path.Child("labels"))...)
	errs = append(errs, checkAnnotations(a.Annotations, path.Child("annotations"))...)
	errs = append(errs, checkText(a.RunbookURL, path.Child("runbookURL"))...)
	errs = append(errs, checkText(a.DashboardURL, path.Child("dashboardURL"))...)
	o.Labels = copyMap(a.Labels)
	o.Annotations = copyMap(a.Annotations)
	o.RunbookURL = a.RunbookURL
	o.DashboardURL = a.DashboardURL
	return errs
}

// parseWindows parses the window pairs of one severity. Two pairs may not
// share a long window: a pair's latch is the series of its severity and long
// window (cx:burn_rate:latch{severity, cx_window}), and two pairs writing one
// series would overwrite each other's state.
func parseWindows(in []cxv1alpha1.BurnRateWindow, path *field.Path, window time.Duration, errs field.ErrorList) ([]BurnWindow, field.ErrorList) {
	out := make([]BurnWindow, 0, len(in))
	longs := map[time.Duration]int{}
	for i, w := range in {
		p := path.Index(i)
		long, err1 := ParseDuration(string(w.Long))
		short, err2 := ParseDuration(string(w.Short))
		factor, err3 := strconv.ParseFloat(w.Factor, 64)
		switch {
		case err1 != nil:
			errs = append(errs, field.Invalid(p.Child("long"), w.Long, err1.Error()))
		case err2 != nil:
			errs = append(errs, field.Invalid(p.Child("short"), w.Short, err2.Error()))
		case err3 != nil || factor <= 0:
			errs = append(errs, field.Invalid(p.Child("factor"), w.Factor, "must be a number greater than zero"))
		case short >= long:
			errs = append(errs, field.Invalid(p.Child("short"), w.Short, "must be shorter than the long window"))
		case long > window:
			errs = append(errs, field.Invalid(p.Child("long"), w.Long, "may not exceed the objective's window"))
		default:
			if j, dup := longs[long]; dup {
				errs = append(errs, field.Invalid(p.Child("long"), w.Long, fmt.Sprintf(
					"is also the long window of %s: the pairs of one severity need different long windows", path.Index(j))))
				continue
			}
			longs[long] = i
			out = append(out, BurnWindow{Long: long, Short: short, Factor: factor})
		}
	}
	return out, errs
}

func setIf(dst *float64, v *int32) {
	if v != nil {
		*dst = float64(*v)
	}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
