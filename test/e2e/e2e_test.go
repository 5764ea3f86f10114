//go:build e2e

// Package e2e proves the whole chain on real engines: `kubectl apply` of
// the samples, the cx-operator manager, the real prometheus-operator,
// Prometheus and Alertmanager, and a webhook sink per team. `make test-e2e`
// runs it; see test/utils/stack for the stack.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/utils"
	"github.com/cxops/cx-operator/test/utils/stack"
)

const ns = "shop"

// suite is the stack every scenario shares, and the timeline they print.
type suite struct {
	st    *stack.Stack
	mu    sync.Mutex
	lines []string
}

func (s *suite) mark(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	s.lines = append(s.lines, line)
	s.st.Logf("%s", line)
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	logDir := os.Getenv("CX_E2E_LOG_DIR")
	if logDir == "" {
		logDir = t.TempDir()
	}
	manager, err := stack.GoBuild(ctx, "./cmd/manager", filepath.Join(t.TempDir(), "manager"), filepath.Join(logDir, "go-build-manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := utils.FreeAddress()
	probes, _ := utils.FreeAddress()
	st, err := stack.Start(ctx, stack.Options{
		LogDir: logDir, Logf: t.Logf, Teams: stack.SampleTeams,
		ManagerBinary: manager,
		ManagerArgs: []string{"--leader-elect=false", "--metrics-secure=false", "--metrics-bind-address=" + metrics,
			"--health-probe-bind-address=" + probes, "--prometheus-url=" + stack.PrometheusURLArg, "--budget-refresh-interval=5s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{st: st}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			st.DumpLogs(&b)
			t.Log("logs of the stack:\n" + b.String())
		}
		if err := st.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
		t.Log("timeline:\n  " + strings.Join(s.lines, "\n  "))
	})

	// The checkout job at one request a second: a 100% spike pages
	// through the 1h/5m pair within seconds, and ends before the 6h/30m
	// pair's guard (120 bad events) is met, so the page resolves as soon as
	// the spike leaves the 5-minute window.
	if err := st.Shop().SetTraffic(ctx, "checkout", 1); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplySamples(ctx, ns, "5s", "10s"); err != nil {
		t.Fatal(err)
	}
	s.mark("applied config/samples with kubectl")
	for _, name := range []string{"checkout-errors", "storefront-availability", "storefront-latency", "landing-page-latency", "support-first-response", "post-purchase-csat"} {
		if _, err := st.WaitForRuleGroup(ctx, "cx-"+name); err != nil {
			t.Fatal(err)
		}
	}
	s.mark("Prometheus evaluates the rules of all six sample objectives")
	out, err := st.Kubectl(ctx, "wait", "-n", ns, "--for=condition=Ready", "cxo", "--all", "--timeout=60s")
	if err != nil {
		t.Fatal(err)
	}
	s.mark("every objective is Ready (kubectl wait): %d objectives", strings.Count(out, "condition met"))

	t.Run("scenarios", func(t *testing.T) {
		t.Run("checkout spike pages the checkout team, tells finance, and resolves", func(t *testing.T) {
			t.Parallel()
			s.checkoutSpike(ctx, t)
		})
		t.Run("storefront probe down pages Tech and inhibits the latency page", func(t *testing.T) {
			t.Parallel()
			s.probeDown(ctx, t)
		})
		t.Run("a business-hours team gets no ticket outside its hours", func(t *testing.T) {
			t.Parallel()
			s.outsideHours(ctx, t)
		})
		t.Run("a new target reaches Prometheus within 30 seconds", func(t *testing.T) {
			t.Parallel()
			s.newTarget(ctx, t)
		})
		t.Run("an invalid objective changes nothing that works", func(t *testing.T) {
			t.Parallel()
			s.invalidObjective(ctx, t)
		})
		t.Run("every sample objective shows its figures from Prometheus", func(t *testing.T) {
			t.Parallel()
			s.figuresKnown(ctx, t)
		})
	})
}

// about says whether a notification is about an objective.
func about(n stack.Notification, objective string) bool {
	return n.CommonLabels[cxv1alpha1.AlertLabelObjective] == objective || slices.ContainsFunc(n.Alerts, func(a stack.NotificationAlert) bool {
		return a.Labels[cxv1alpha1.AlertLabelObjective] == objective
	})
}

func (s *suite) checkoutSpike(ctx context.Context, t *testing.T) {
	st := s.st
	checkout, finance := st.Sink("checkout"), st.Sink("finance")
	onset := time.Now()
	if err := st.Shop().StartErrorSpike(ctx, "checkout", 1, "500"); err != nil {
		t.Fatal(err)
	}
	s.mark("checkout: 5xx spike starts")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	page, err := checkout.WaitFor(wctx, func(n stack.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["severity"] == "page" && about(n, "checkout-errors")
	})
	if err != nil {
		t.Fatalf("no page within 3 minutes of the spike: %v", err)
	}
	s.mark("checkout: the checkout team's sink got the page %s after the spike began", page.Received.Sub(onset).Round(time.Second))
	if err := st.Shop().StopIncident(ctx, stack.IncidentErrors, "checkout"); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	s.mark("checkout: the spike ends")
	a := page.Alerts[0]
	for k, want := range map[string]string{"cx_team": "checkout", "cx_objective": "checkout-errors", "severity": "page", "namespace": ns} {
		if a.Labels[k] != want {
			t.Errorf("page label %s = %q, want %q", k, a.Labels[k], want)
		}
	}
	summary := a.Annotations["summary"]
	if !strings.HasPrefix(summary, "Checkout error rate (payment API) is burning this month's error budget ") || !strings.HasSuffix(summary, "× too fast") {
		t.Errorf("summary %q does not read as a sentence about checkout", summary)
	}
	s.mark("checkout: the team reads: %q; %q", summary, a.Annotations["description"])

	notice, err := finance.WaitFor(wctx, func(n stack.Notification) bool {
		return n.Status == "firing" && about(n, "checkout-errors")
	})
	if err != nil {
		t.Fatalf("the stakeholder finance was not told: %v", err)
	}
	if sev := notice.CommonLabels["severity"]; sev != "notice" {
		t.Errorf("finance got severity %q, want notice: a stakeholder is never paged", sev)
	}
	s.mark("checkout: the stakeholder finance got a notice %s after the spike began", notice.Received.Sub(onset).Round(time.Second))

	rctx, rcancel := context.WithTimeout(ctx, 7*time.Minute)
	defer rcancel()
	resolved, err := checkout.WaitFor(rctx, func(n stack.Notification) bool {
		return n.Status == "resolved" && n.CommonLabels["severity"] == "page" && about(n, "checkout-errors")
	})
	if err != nil {
		t.Fatalf("the page did not resolve: %v", err)
	}
	s.mark("checkout: resolved notification %s after the spike ended", resolved.Received.Sub(ended).Round(time.Second))

	for _, team := range []string{"storefront", "support", "growth"} {
		for _, n := range st.Sink(team).All() {
			if about(n, "checkout-errors") {
				t.Errorf("team %s was told about checkout-errors: %s", team, n)
			}
		}
	}
}

func (s *suite) probeDown(ctx context.Context, t *testing.T) {
	st := s.st
	storefront := st.Sink("storefront")
	onset := time.Now()
	if err := st.Shop().StartProbeDown(ctx); err != nil {
		t.Fatal(err)
	}
	s.mark("storefront: the probe fails")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	page, err := storefront.WaitFor(wctx, func(n stack.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["severity"] == "page" && about(n, "storefront-availability")
	})
	if err != nil {
		t.Fatalf("Tech was not paged for the probe: %v", err)
	}
	s.mark("storefront: Tech paged %s after the probe failed", page.Received.Sub(onset).Round(time.Second))

	// Now the product pages turn slow too: the latency page of the same
	// journey fires, and Alertmanager holds it back.
	if err := st.Shop().StartSlowResponses(ctx, "storefront", 1, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.mark("storefront: product pages turn slow")
	latency, err := st.WaitForAlertmanagerAlert(wctx, func(a stack.AlertmanagerAlert) bool {
		return a.Labels["cx_objective"] == "storefront-latency" && a.Labels["severity"] == "page" && len(a.Status.InhibitedBy) > 0
	})
	if err != nil {
		t.Fatalf("the latency page is not inhibited in Alertmanager: %v", err)
	}
	s.mark("storefront: the latency page is %s in Alertmanager, inhibited by %v", latency.Status.State, latency.Status.InhibitedBy)
	// Two group intervals later still no latency page reached the team.
	hold, hcancel := context.WithTimeout(ctx, 25*time.Second)
	defer hcancel()
	if n, err := storefront.WaitFor(hold, func(n stack.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["severity"] == "page" && about(n, "storefront-latency")
	}); err == nil {
		t.Errorf("the inhibited latency page reached the team: %s", n)
	}
	s.mark("storefront: no latency page reached Tech while the probe fails")
	_ = st.Shop().StopIncident(ctx, "", "")
}

func (s *suite) outsideHours(ctx context.Context, t *testing.T) {
	st := s.st
	c := st.Client()
	growth := &cxv1alpha1.CXTeam{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "growth"}, growth); err != nil {
		t.Fatal(err)
	}
	// Business hours that exclude now: the hour that starts three hours
	// from now (wrapped to the same day), on every day.
	now := time.Now().UTC()
	startHour := (now.Hour() + 3) % 24
	growth.Spec.Hours = &cxv1alpha1.Hours{
		Schedule: cxv1alpha1.HoursBusiness,
		Weekdays: []cxv1alpha1.Weekday{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
		Start:    fmt.Sprintf("%02d:00", startHour), End: fmt.Sprintf("%02d:00", startHour+1),
	}
	if err := c.Update(ctx, growth); err != nil {
		t.Fatal(err)
	}
	s.mark("growth: business hours %s-%s UTC, now is %s UTC", growth.Spec.Hours.Start, growth.Spec.Hours.End, now.Format("15:04"))
	receiver := stack.ReceiverName(ns, "cx-growth", "ticket")
	wctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	if err := st.Poll(wctx, time.Second, func(ctx context.Context) (bool, error) {
		cfg, err := st.AlertmanagerConfig(ctx)
		return err == nil && strings.Contains(cfg, growth.Spec.Hours.Start), err
	}); err != nil {
		t.Fatalf("Alertmanager never loaded the new hours: %v", err)
	}
	if err := st.Shop().StartSlowResponses(ctx, "landing", 1, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.mark("growth: landing pages turn slow")
	alert, err := st.WaitForAlertmanagerAlert(wctx, func(a stack.AlertmanagerAlert) bool {
		return a.Labels["cx_objective"] == "landing-page-latency" && a.Labels["severity"] == "ticket" && slices.Contains(a.ReceiverNames(), receiver)
	})
	if err != nil {
		t.Fatalf("the ticket never reached Alertmanager: %v", err)
	}
	s.mark("growth: the ticket is in Alertmanager (%s, muted by %v)", alert.Status.State, alert.Status.MutedBy)
	hold, hcancel := context.WithTimeout(ctx, 30*time.Second)
	defer hcancel()
	if n, err := st.Sink("growth").WaitFor(hold, func(n stack.Notification) bool {
		return n.Status == "firing" && about(n, "landing-page-latency")
	}); err == nil {
		t.Errorf("the growth team got a ticket outside its business hours: %s", n)
	}
	if _, err := st.WaitForAlertmanagerAlert(ctx, func(a stack.AlertmanagerAlert) bool {
		return a.Fingerprint == alert.Fingerprint
	}); err != nil {
		t.Errorf("the ticket left Alertmanager: %v", err)
	}
	s.mark("growth: 30 seconds on, the ticket is still active in Alertmanager and the team got nothing")
	_ = st.Shop().StopIncident(ctx, stack.IncidentSlow, "landing")
}

func (s *suite) newTarget(ctx context.Context, t *testing.T) {
	st := s.st
	manifest, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "samples", "cx_v1alpha1_cxobjective_support_first_response.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(manifest), `target: "95"`, `target: "96"`, 1)
	if changed == string(manifest) {
		t.Fatal("the sample no longer says target: \"95\"")
	}
	file := filepath.Join(t.TempDir(), "support.yaml")
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	if _, err := st.Kubectl(ctx, "apply", "-n", ns, "-f", file); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.Poll(wctx, time.Second, func(ctx context.Context) (bool, error) {
		groups, err := st.RuleGroups(ctx)
		for _, g := range groups {
			if g.Name != "cx-support-first-response" {
				continue
			}
			for _, r := range g.Rules {
				if r.Name == "cx:burn_rate" && strings.HasSuffix(r.Query, "/ 0.04") {
					return true, nil
				}
			}
			return false, fmt.Errorf("the group still has the old budget")
		}
		return false, err
	}); err != nil {
		t.Fatalf("Prometheus did not get the new target within 30 seconds: %v", err)
	}
	s.mark("support: target 95 -> 96 applied with kubectl, in Prometheus %s later", time.Since(applied).Round(100*time.Millisecond))
}

func (s *suite) invalidObjective(ctx context.Context, t *testing.T) {
	st := s.st
	broken := `apiVersion: cx.cxops.io/v1alpha1
kind: CXObjective
metadata:
  name: broken
spec:
  journey: checkout
  owner: {team: checkout}
  sli:
    errorRatio:
      errors: http_requests_total{job="checkout",code=~"5.."
      total: http_requests_total{job="checkout"}
  target: "99"
`
	file := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Kubectl(ctx, "apply", "-n", ns, "-f", file); err != nil {
		t.Fatal(err)
	}
	out, err := st.Kubectl(ctx, "wait", "-n", ns, "--for=jsonpath={.status.conditions[?(@.type==\"Stalled\")].reason}=InvalidSpec", "cxo/broken", "--timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	s.mark("broken: an objective with PromQL that does not parse is Stalled: %s", strings.TrimSpace(out))
	groups, err := st.RuleGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Name == "cx-broken" {
			t.Error("a rule group for the broken objective reached Prometheus")
		}
	}
	for _, e := range st.SyncEvents() {
		if e.Err != nil && e.Target == stack.TargetPrometheus {
			t.Errorf("Prometheus refused a rule file: %v", e.Err)
		}
	}

	// An edit that breaks a working objective keeps its last good rules.
	before := ruleQueries(ctx, t, st, "cx-post-purchase-csat")
	manifest, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "samples", "cx_v1alpha1_cxobjective_csat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(manifest), `metric: cx_csat_score{survey="post-purchase"}`, `metric: cx_csat_score{survey=~"post-purchase"`, 1)
	if edited == string(manifest) {
		t.Fatal("the CSAT sample no longer has the metric this test breaks")
	}
	if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Kubectl(ctx, "apply", "-n", ns, "-f", file); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Kubectl(ctx, "wait", "-n", ns, "--for=jsonpath={.status.conditions[?(@.type==\"Stalled\")].reason}=InvalidSpec",
		"cxo/post-purchase-csat", "--timeout=30s"); err != nil {
		t.Fatal(err)
	}
	// The controller has decided; Prometheus must still run the old rules.
	if after := ruleQueries(ctx, t, st, "cx-post-purchase-csat"); !slices.Equal(before, after) {
		t.Errorf("the CSAT rules in Prometheus changed after an invalid edit")
	}
	s.mark("post-purchase-csat: an invalid edit stalls it; Prometheus keeps its last good %d rules", len(before))
	if out, err := st.Kubectl(ctx, "get", "cxo", "-n", ns); err == nil {
		s.mark("kubectl get cxo -n %s:\n%s", ns, out)
	}
}

// figuresKnown waits until every sample objective reads its figures from
// the series its rules record: an SLI whose raw series the rules do not
// match (a latency bucket spelled le="300" where Prometheus 3 stores
// le="300.0") would stay BudgetKnown=False with reason NoData. The CSAT
// objective is left out: another scenario makes it invalid meanwhile.
func (s *suite) figuresKnown(ctx context.Context, t *testing.T) {
	start := time.Now()
	for _, name := range []string{"checkout-errors", "landing-page-latency", "storefront-availability", "storefront-latency", "support-first-response"} {
		if out, err := s.st.Kubectl(ctx, "wait", "-n", ns, "--for=condition=BudgetKnown", "cxo/"+name, "--timeout=3m"); err != nil {
			status, _ := s.st.Kubectl(ctx, "get", "-n", ns, "cxo/"+name, "-o", "jsonpath={.status}")
			t.Fatalf("%s shows no figures from Prometheus: %v\n%s\n%s", name, err, out, status)
		}
	}
	s.mark("every sample objective shows its figures (BudgetKnown) %s after Ready", time.Since(start).Round(time.Second))
}

// ruleQueries returns the queries of a rule group as Prometheus runs it.
func ruleQueries(ctx context.Context, t *testing.T, st *stack.Stack, group string) []string {
	t.Helper()
	groups, err := st.RuleGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Name == group {
			out := make([]string, 0, len(g.Rules))
			for _, r := range g.Rules {
				out = append(out, r.Query)
			}
			return out
		}
	}
	t.Fatalf("Prometheus has no rule group %s", group)
	return nil
}
