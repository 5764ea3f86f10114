package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// ruleFile is one tool's rule file for one objective, parsed and validated
// the way Prometheus loads rule files.
type ruleFile struct {
	// name identifies the file, e.g. sloth/checkout.
	name string
	// groups are its rule groups, in file order.
	groups *rulefmt.RuleGroups
}

// parseRuleFile validates a rule file with Prometheus's rulefmt. Sloth's
// files open with a YAML document separator and a comment; rulefmt reads
// only the first document of a file, so separators and empty documents
// around the one document are dropped first.
func parseRuleFile(name string, content []byte, p parser.Parser) (ruleFile, error) {
	doc, err := singleDocument(content)
	if err != nil {
		return ruleFile{}, fmt.Errorf("reading rule file %s: %w", name, err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	groups, errs := rulefmt.Parse(doc, false, model.UTF8Validation, p, logger)
	if len(errs) > 0 {
		return ruleFile{}, fmt.Errorf("loading rule file %s: %w", name, errors.Join(errs...))
	}
	if len(groups.Groups) == 0 {
		return ruleFile{}, fmt.Errorf("rule file %s has no rule groups", name)
	}
	return ruleFile{name: name, groups: groups}, nil
}

// singleDocument returns the one YAML document of content that holds more
// than comments and blank lines, without the "---" lines around it.
func singleDocument(content []byte) ([]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	substantial := false
	flush := func() {
		if substantial {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
		substantial = false
	}
	for line := range strings.Lines(string(content)) {
		trimmed := strings.TrimSpace(line)
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			substantial = true
		}
		cur.WriteString(line)
	}
	flush()
	switch len(docs) {
	case 0:
		return nil, errors.New("the file is empty")
	case 1:
		return docs[0], nil
	default:
		return nil, fmt.Errorf("the file holds %d YAML documents; Prometheus would read only the first", len(docs))
	}
}

// memLoader hands parsed rule files to the rule manager by name, instead of
// reading files from disk.
type memLoader struct {
	files  map[string]*rulefmt.RuleGroups
	parser parser.Parser
}

// Load returns the groups of the file named identifier.
func (l *memLoader) Load(identifier string, _ bool, _ model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	g, ok := l.files[identifier]
	if !ok {
		return nil, []error{fmt.Errorf("no rule file %s", identifier)}
	}
	return g, nil
}

// Parse parses a rule expression.
func (l *memLoader) Parse(query string) (parser.Expr, error) { return l.parser.ParseExpr(query) }

// countRules returns the number of recording and alerting rules of a file.
func countRules(f ruleFile) (recording, alerting int) {
	for _, g := range f.groups.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recording++
			} else {
				alerting++
			}
		}
	}
	return recording, alerting
}
