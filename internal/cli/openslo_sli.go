package cli

import (
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

// Mapping an OpenSLO indicator (ratio or threshold metric) to our SLI.

// indicator finds the objective's SLI: the objective's own, else the
// SLO's, inline or by name.
func (im *importer) indicator(d *osloDoc, spec *osloSLOSpec, o osloObjective, path string) (*osloSLISpec, *osloDoc, string) {
	switch {
	case o.Indicator != nil:
		return &o.Indicator.Spec, d, path + ".indicator.spec"
	case o.IndicatorRef != "":
		return im.sliRef(d, o.IndicatorRef, path+".indicatorRef")
	case spec.Indicator != nil:
		return &spec.Indicator.Spec, d, "spec.indicator.spec"
	case spec.IndicatorRef != "":
		return im.sliRef(d, spec.IndicatorRef, "spec.indicatorRef")
	}
	im.fail(d, "spec.indicator", "Required value: the SLO needs an indicator or an indicatorRef")
	return nil, nil, ""
}

func (im *importer) sliRef(d *osloDoc, name, path string) (*osloSLISpec, *osloDoc, string) {
	s, ok := im.slis[name]
	if !ok {
		im.fail(d, path, "no SLI %q among the files given", name)
		return nil, nil, ""
	}
	return s.spec.(*osloSLISpec), s, specField
}

// ratioSLI maps a ratio metric onto an errorRatio SLI.
func (im *importer) ratioSLI(d *osloDoc, r *osloRatioMetric, path string, obj *cxv1alpha1.CXObjective) bool {
	if r.Raw != nil {
		im.fail(d, path+".raw", "cannot map: a precomputed ratio has no events to count; give good or bad and total")
		return false
	}
	if r.Counter != nil && !*r.Counter {
		im.warn(d, path+".counter", "false: the errorRatio SLI applies rate() to counters; the queries are read as counters")
	}
	if r.Total == nil {
		im.fail(d, path+".total", "Required value: an errorRatio SLI needs total")
		return false
	}
	total, ok := im.metricSelector(d, r.Total, path+".total")
	if !ok {
		return false
	}
	var errs slo.Selector
	switch {
	case r.Bad != nil:
		errs, ok = im.metricSelector(d, r.Bad, path+".bad")
		if !ok {
			return false
		}
		if r.Good != nil {
			im.warn(d, path+".good", "not mapped: bad and total are used")
		}
	case r.Good != nil:
		good, ok := im.metricSelector(d, r.Good, path+".good")
		if !ok {
			return false
		}
		errs, ok = complement(good, total)
		if !ok {
			im.fail(d, path+".good", "cannot map: an errorRatio SLI counts bad events; %s is not %s with one more matcher that could be negated, so give bad", good, total)
			return false
		}
		im.warn(d, path+".good", "good events %s become bad events %s", good, errs)
	default:
		im.fail(d, path, "Required value: give good or bad with total")
		return false
	}
	obj.Spec.SLI = cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
		Errors: cxv1alpha1.Selector(errs.String()), Total: cxv1alpha1.Selector(total.String())}}
	return true
}

// complement returns the selector of the events that total matches and
// good does not, when good is total with one more matcher: that matcher,
// negated.
func complement(good, total slo.Selector) (slo.Selector, bool) {
	if good.Name != total.Name || len(good.Matchers) != len(total.Matchers)+1 {
		return slo.Selector{}, false
	}
	var extra *labels.Matcher
	for _, m := range good.Matchers {
		found := false
		for _, t := range total.Matchers {
			found = found || t.String() == m.String()
		}
		if !found {
			if extra != nil {
				return slo.Selector{}, false
			}
			extra = m
		}
	}
	if extra == nil {
		return slo.Selector{}, false
	}
	negated := map[labels.MatchType]labels.MatchType{
		labels.MatchEqual: labels.MatchNotEqual, labels.MatchNotEqual: labels.MatchEqual,
		labels.MatchRegexp: labels.MatchNotRegexp, labels.MatchNotRegexp: labels.MatchRegexp,
	}[extra.Type]
	out := slo.Selector{Name: total.Name, Matchers: append(append([]*labels.Matcher(nil), total.Matchers...),
		labels.MustNewMatcher(negated, extra.Name, extra.Value))}
	return out, true
}

// thresholdSLI maps a threshold metric with the objective's op and value:
// a quantile of a histogram under a latency becomes a latency SLI, a gauge
// against a value a score SLI.
func (im *importer) thresholdSLI(d *osloDoc, m *osloMetric, path string, sloDoc *osloDoc, o osloObjective, opath string, obj *cxv1alpha1.CXObjective) bool {
	query, ok := im.query(d, m, path)
	if !ok {
		return false
	}
	if o.Value == nil || o.Op == "" {
		im.fail(sloDoc, opath, "Required value: a threshold metric needs the objective's op and value")
		return false
	}
	value, err := strconv.ParseFloat(o.Value.String(), 64)
	if err != nil {
		im.fail(sloDoc, opath+".value", "%q is not a number", o.Value.String())
		return false
	}
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		im.fail(d, path+".metricSource.spec.query", "does not parse as PromQL: %v", err)
		return false
	}
	below := o.Op == opLT || o.Op == opLTE
	if !below && o.Op != opGT && o.Op != opGTE {
		im.fail(sloDoc, opath+".op", "must be lt, lte, gt or gte, not %q", o.Op)
		return false
	}
	if hist, quantile, ok := histogramQuantile(expr); ok {
		if !below {
			im.fail(sloDoc, opath+".op", "a latency objective keeps a quantile under a threshold: op must be lt or lte")
			return false
		}
		threshold := latencyText(value)
		im.warn(d, path+".metricSource.spec.query", "the %s quantile under %s becomes the share of events faster than %s: "+
			"the target is that share, and %s must be a bucket boundary (le) of %s", slo.FormatFloat(quantile), threshold, threshold, threshold, hist.Name)
		obj.Spec.SLI = cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{
			Metric: cxv1alpha1.Selector(hist.String()), Threshold: threshold, Histogram: cxv1alpha1.HistogramClassic}}
		return true
	}
	sel, ok := reduceSelector(expr, false)
	if !ok {
		im.fail(d, path+".metricSource.spec.query", "cannot map: %q is neither a gauge selector (or avg/avg_over_time of one) nor histogram_quantile of a histogram's buckets", query)
		return false
	}
	if o.Op == opLT || o.Op == opGT {
		im.warn(sloDoc, opath+".op", "%s becomes %s: a score is good at the threshold too", o.Op, o.Op+"e")
	}
	goodWhen := cxv1alpha1.GoodAbove
	if below {
		goodWhen = cxv1alpha1.GoodBelow
	}
	obj.Spec.SLI = cxv1alpha1.SLI{Score: &cxv1alpha1.ScoreSLI{
		Metric: cxv1alpha1.Selector(sel.String()), Threshold: slo.FormatFloat(value), GoodWhen: goodWhen}}
	return true
}

// latencyText writes seconds as the API's threshold: 300ms, 1.5s.
func latencyText(seconds float64) string {
	ms := seconds * 1000
	if ms == float64(int64(ms)) && seconds < 1 {
		return strconv.FormatInt(int64(ms), 10) + "ms"
	}
	return slo.FormatFloat(seconds) + "s"
}

// query reads the PromQL of a Prometheus metric source.
func (im *importer) query(d *osloDoc, m *osloMetric, path string) (string, bool) {
	src := m.MetricSource
	if src.MetricSourceRef != "" {
		im.warn(d, path+".metricSource.metricSourceRef", "not mapped: the query is read by the Prometheus that loads the rules")
	}
	if src.Type != "" && !strings.EqualFold(src.Type, "prometheus") {
		im.fail(d, path+".metricSource.type", "cannot map: %q is not a Prometheus source", src.Type)
		return "", false
	}
	q, _ := src.Spec["query"].(string)
	if q == "" {
		im.fail(d, path+".metricSource.spec.query", "Required value: a Prometheus metric source needs its query")
		return "", false
	}
	for k := range src.Spec {
		if k != "query" {
			im.warn(d, path+".metricSource.spec."+k, "not mapped")
		}
	}
	return strings.TrimSpace(q), true
}

// metricSelector reads a counter query as a selector.
func (im *importer) metricSelector(d *osloDoc, m *osloMetric, path string) (slo.Selector, bool) {
	q, ok := im.query(d, m, path)
	if !ok {
		return slo.Selector{}, false
	}
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		im.fail(d, path+".metricSource.spec.query", "does not parse as PromQL: %v", err)
		return slo.Selector{}, false
	}
	sel, ok := reduceSelector(expr, true)
	if !ok {
		im.fail(d, path+".metricSource.spec.query", "cannot map: %q is not a counter selector, or sum(rate(selector[...])) of one", q)
		return slo.Selector{}, false
	}
	if agg, ok := unparen(expr).(*parser.AggregateExpr); ok && (len(agg.Grouping) > 0 || agg.Without) {
		by := "by"
		if agg.Without {
			by = "without"
		}
		im.warn(d, path+".metricSource.spec.query", "%s (%s) is dropped: a CXObjective sums every series", by, strings.Join(agg.Grouping, ", "))
	}
	return sel, true
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// reduceSelector finds the selector inside the shapes that a CXObjective
// applies itself: sum(...), rate/increase/irate(...[w]) for counters,
// avg(...), avg_over_time(...[w]) and last_over_time for gauges.
func reduceSelector(e parser.Expr, counter bool) (slo.Selector, bool) {
	e = unparen(e)
	switch x := e.(type) {
	case *parser.VectorSelector:
		if x.OriginalOffset != 0 || x.Timestamp != nil || x.StartOrEnd != 0 {
			return slo.Selector{}, false
		}
		sel, err := slo.ParseSelector(x.String())
		return sel, err == nil
	case *parser.MatrixSelector:
		return reduceSelector(x.VectorSelector, counter)
	case *parser.AggregateExpr:
		if (counter && x.Op == parser.SUM) || (!counter && (x.Op == parser.AVG || x.Op == parser.SUM)) {
			return reduceSelector(x.Expr, counter)
		}
	case *parser.Call:
		names := map[string]bool{"rate": counter, "increase": counter, "irate": counter,
			"avg_over_time": !counter, "last_over_time": !counter}
		if names[x.Func.Name] && len(x.Args) == 1 {
			return reduceSelector(x.Args[0], counter)
		}
	}
	return slo.Selector{}, false
}

// histogramQuantile recognises histogram_quantile(q, sum(rate(X_bucket{...}[w])) by (le)) and
// returns the histogram's base selector and the quantile.
func histogramQuantile(e parser.Expr) (slo.Selector, float64, bool) {
	call, ok := unparen(e).(*parser.Call)
	if !ok || call.Func.Name != "histogram_quantile" || len(call.Args) != 2 {
		return slo.Selector{}, 0, false
	}
	q, ok := unparen(call.Args[0]).(*parser.NumberLiteral)
	if !ok {
		return slo.Selector{}, 0, false
	}
	inner := unparen(call.Args[1])
	if agg, ok := inner.(*parser.AggregateExpr); ok && agg.Op == parser.SUM {
		inner = agg.Expr
	}
	sel, ok := reduceSelector(inner, true)
	if !ok || !strings.HasSuffix(sel.Name, "_bucket") {
		return slo.Selector{}, 0, false
	}
	sel.Name = strings.TrimSuffix(sel.Name, "_bucket")
	var kept []*labels.Matcher
	for _, m := range sel.Matchers {
		if m.Name != "le" {
			kept = append(kept, m)
		}
	}
	sel.Matchers = kept
	return sel, q.Val, true
}
