package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The same objectives twice: as CXObjectives and CXTeams for kubectl cx, and
// as Sloth prometheus/v1 specs, one service per team. Of every ten
// objectives four are error ratios, three latencies from a classic
// histogram, two availabilities from a probe and one a CSAT score; Sloth
// expresses the latency as bad events (all minus those under the bucket)
// and the availability and score as raw error ratios.

var targets = []string{"99.9", "99.5", "99", "95"}

func teamName(t int) string { return fmt.Sprintf("team-%02d", t+1) }

func writeInputs(cxDir, slothFile string, n, teams int) error {
	for _, dir := range []string{cxDir, filepath.Dir(slothFile)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var ts, os1 strings.Builder
	for t := 0; t < teams; t++ {
		writeTeam(&ts, t)
	}
	perTeam := make([][]int, teams)
	for i := 0; i < n; i++ {
		writeObjective(&os1, i, teams)
		perTeam[i%teams] = append(perTeam[i%teams], i)
	}
	var sloth strings.Builder
	for t, objs := range perTeam {
		if len(objs) > 0 {
			writeSlothService(&sloth, t, objs)
		}
	}
	files := map[string]string{
		filepath.Join(cxDir, "teams.yaml"):      ts.String(),
		filepath.Join(cxDir, "objectives.yaml"): os1.String(),
		slothFile:                               sloth.String(),
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeTeam(b *strings.Builder, t int) {
	hours := `  hours:
    schedule: "24x7"
`
	if t%2 == 1 {
		hours = `  hours:
    schedule: businessHours
    weekdays: [monday, tuesday, wednesday, thursday, friday]
    start: "09:00"
    end: "17:00"
`
	}
	fmt.Fprintf(b, `---
apiVersion: cx.cxops.io/v1alpha1
kind: CXTeam
metadata:
  name: %[1]s
spec:
  department: Department %[2]d
  channels:
  - name: oncall
    type: webhook
    receive: [page, ticket]
    webhook:
      url: {name: %[1]s-channels, key: oncall-url}
  - name: chat
    type: slack
    receive: [ticket, notice]
    slack:
      apiURL: {name: %[1]s-channels, key: slack-url}
%[3]s`, teamName(t), t%7+1, hours)
}

func writeObjective(b *strings.Builder, i, teams int) {
	t := i % teams
	svc := fmt.Sprintf("svc-%04d", i+1)
	var sli string
	switch k := i % 10; {
	case k < 4:
		sli = fmt.Sprintf(`    errorRatio:
      errors: http_requests_total{job=%q,code=~"5.."}
      total: http_requests_total{job=%q}`, svc, svc)
	case k < 7:
		sli = fmt.Sprintf(`    latency:
      metric: http_request_duration_seconds{job=%q}
      threshold: 300ms`, svc)
	case k < 9:
		sli = fmt.Sprintf(`    availability:
      metric: probe_success{job="blackbox",instance="https://%s.example.com"}`, svc)
	default:
		sli = fmt.Sprintf(`    score:
      metric: cx_csat_score{survey=%q}
      threshold: "4.2"
      goodWhen: above`, svc)
	}
	stakeholders := ""
	if i%5 == 0 && teams > 1 {
		stakeholders = fmt.Sprintf("  stakeholders:\n  - team: %s\n", teamName((t+1)%teams))
	}
	fmt.Fprintf(b, `---
apiVersion: cx.cxops.io/v1alpha1
kind: CXObjective
metadata:
  name: obj-%04d
spec:
  journey: journey-%d
  touchpoint: %s
  owner:
    team: %s
  sli:
%s
  target: %q
  window: 30d
%s`, i+1, i%17, svc, teamName(t), sli, targets[i%len(targets)], stakeholders)
}

func writeSlothService(b *strings.Builder, t int, objs []int) {
	fmt.Fprintf(b, "---\nversion: \"prometheus/v1\"\nservice: %q\nlabels:\n  team: %q\nslos:\n", "svc-"+teamName(t), teamName(t))
	for _, i := range objs {
		svc := fmt.Sprintf("svc-%04d", i+1)
		var sli string
		switch k := i % 10; {
		case k < 4:
			sli = fmt.Sprintf(`      events:
        error_query: sum(rate(http_requests_total{job=%q,code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job=%q}[{{.window}}]))`, svc, svc)
		case k < 7:
			sli = fmt.Sprintf(`      events:
        error_query: sum(rate(http_request_duration_seconds_count{job=%[1]q}[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{job=%[1]q,le="0.3"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job=%[1]q}[{{.window}}]))`, svc)
		case k < 9:
			sli = fmt.Sprintf(`      raw:
        error_ratio_query: 1 - avg(avg_over_time(probe_success{job="blackbox",instance="https://%s.example.com"}[{{.window}}]))`, svc)
		default:
			sli = fmt.Sprintf(`      raw:
        error_ratio_query: avg(avg_over_time((cx_csat_score{survey=%q} < bool 4.2)[{{.window}}:]))`, svc)
		}
		fmt.Fprintf(b, `  - name: "obj-%04d"
    objective: %s
    description: "Objective %d."
    sli:
%s
    alerting:
      name: "CXObjective%04d"
      labels:
        team: %q
      page_alert:
        labels:
          severity: page
      ticket_alert:
        labels:
          severity: ticket
`, i+1, targets[i%len(targets)], i+1, sli, i+1, teamName(t))
	}
}
