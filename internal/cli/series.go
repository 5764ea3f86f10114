package cli

import (
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/cxops/cx-operator/internal/slo"
)

// This file finds label values for synthetic series from an SLI's
// selectors: a series that a selector matches, optionally one that another
// selector does not match (good events are counted by the total selector
// and not by the errors selector). Equality matchers give their values;
// for regular expressions a matching string is built by walking the
// expression's syntax tree; negative matchers are met by trying ordinary
// values; each choice is checked with the matcher itself.

// fallbackValues are tried for every label, after the values the
// matchers suggest. The empty value means that the label is absent.
var fallbackValues = []string{"200", "ok", "0", "1", "x", "cx", "default", ""}

// seriesFor returns the labels of a series named sel.Name that sel matches
// and, when avoid is set, that avoid does not match.
func seriesFor(sel slo.Selector, avoid *slo.Selector) (labels.Labels, error) {
	if sel.Name == "" {
		return labels.EmptyLabels(), fmt.Errorf("the selector %s names no metric", sel)
	}
	byName := map[string][]*labels.Matcher{}
	var names []string
	note := func(m *labels.Matcher) {
		if _, ok := byName[m.Name]; !ok {
			names = append(names, m.Name)
			byName[m.Name] = nil
		}
	}
	for _, m := range sel.Matchers {
		note(m)
		byName[m.Name] = append(byName[m.Name], m)
	}
	var avoidMatchers []*labels.Matcher
	if avoid != nil && avoid.Name == sel.Name {
		avoidMatchers = avoid.Matchers
		for _, m := range avoidMatchers {
			note(m)
		}
	}
	sort.Strings(names)

	ok := map[string][]string{}
	for _, name := range names {
		suggestions := append(append([]*labels.Matcher(nil), byName[name]...), matchersOn(avoidMatchers, name)...)
		for _, v := range candidates(suggestions) {
			if matchesAll(byName[name], v) {
				ok[name] = append(ok[name], v)
			}
		}
		if len(ok[name]) == 0 {
			return labels.EmptyLabels(), fmt.Errorf("no value of label %s satisfies every matcher of %s", name, sel)
		}
	}
	chosen := map[string]string{}
	for _, name := range names {
		chosen[name] = ok[name][0]
	}
	if avoid != nil && avoid.Name == sel.Name && matchesSet(avoidMatchers, chosen) {
		if !excludeOne(names, ok, avoidMatchers, chosen) {
			return labels.EmptyLabels(), fmt.Errorf("every series that %s matches is also matched by %s", sel, avoid)
		}
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	b.Set(model.MetricNameLabel, sel.Name)
	for name, v := range chosen {
		if v != "" {
			b.Set(name, v)
		}
	}
	return b.Labels(), nil
}

// excludeOne changes one label of chosen to a value that fails a matcher
// of avoid while still meeting the selector, and says whether it could.
func excludeOne(names []string, ok map[string][]string, avoid []*labels.Matcher, chosen map[string]string) bool {
	for _, name := range names {
		on := matchersOn(avoid, name)
		if len(on) == 0 {
			continue
		}
		for _, v := range ok[name] {
			if !matchesAll(on, v) {
				chosen[name] = v
				return true
			}
		}
	}
	return false
}

func matchersOn(ms []*labels.Matcher, name string) []*labels.Matcher {
	var out []*labels.Matcher
	for _, m := range ms {
		if m.Name == name {
			out = append(out, m)
		}
	}
	return out
}

func matchesAll(ms []*labels.Matcher, v string) bool {
	for _, m := range ms {
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

func matchesSet(ms []*labels.Matcher, values map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(values[m.Name]) {
			return false
		}
	}
	return true
}

// candidates are the values worth trying for a label with these matchers:
// the values of equality matchers, strings that the regular expressions
// match, then the fallbacks; without repeats, in that order.
func candidates(ms []*labels.Matcher) []string {
	var out []string
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, m := range ms {
		switch m.Type {
		case labels.MatchEqual:
			add(m.Value)
		case labels.MatchRegexp:
			for _, v := range regexSamples(m.Value) {
				add(v)
			}
		}
	}
	for _, v := range fallbackValues {
		add(v)
	}
	return out
}

// regexSamples returns strings that the regular expression matches, as
// PromQL anchors it: one per alternative of the top level, and at most a
// handful.
func regexSamples(expr string) []string {
	re, err := syntax.Parse("^(?:"+expr+")$", syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var out []string
	for _, alt := range alternatives(re) {
		var b strings.Builder
		if sample(&b, alt, 0) {
			out = append(out, b.String())
		}
		if len(out) == 8 {
			break
		}
	}
	return out
}

// alternatives returns the branches of a top-level alternation, looking
// through the anchors and groups that wrap it.
func alternatives(re *syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpConcat:
		var core []*syntax.Regexp
		for _, s := range re.Sub {
			if !isAnchor(s) {
				core = append(core, s)
			}
		}
		if len(core) == 1 {
			return alternatives(core[0])
		}
	case syntax.OpCapture:
		return alternatives(re.Sub[0])
	case syntax.OpAlternate:
		return re.Sub
	}
	return []*syntax.Regexp{re}
}

func isAnchor(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpEmptyMatch:
		return true
	}
	return false
}

// sample writes a short string that re matches, and says whether it could.
func sample(b *strings.Builder, re *syntax.Regexp, depth int) bool {
	if depth > 100 {
		return false
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
		return true
	case syntax.OpCharClass:
		r, ok := pickRune(re.Rune)
		if ok {
			b.WriteRune(r)
		}
		return ok
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('0')
		return true
	case syntax.OpCapture:
		return sample(b, re.Sub[0], depth+1)
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus:
		return sample(b, re.Sub[0], depth+1)
	case syntax.OpRepeat:
		for i := 0; i < re.Min; i++ {
			if !sample(b, re.Sub[0], depth+1) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !sample(b, s, depth+1) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			var alt strings.Builder
			if sample(&alt, s, depth+1) {
				b.WriteString(alt.String())
				return true
			}
		}
		return false
	}
	return false
}

// pickRune chooses a readable rune of a character class given as ranges:
// a digit or a lower-case letter when the class has one.
func pickRune(ranges []rune) (rune, bool) {
	if len(ranges) == 0 {
		return 0, false
	}
	for _, want := range []rune{'0', 'a', 'x', 'A'} {
		for i := 0; i+1 < len(ranges); i += 2 {
			if want >= ranges[i] && want <= ranges[i+1] {
				return want, true
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r-ranges[i] < 256; r++ {
			if unicode.IsPrint(r) && r != '"' && r != '\\' {
				return r, true
			}
		}
	}
	return ranges[0], true
}
