//go:build e2e

package stack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cxops/cx-operator/test/utils/stack"
)

const (
	team      = "checkout"
	teamNS    = "shop"
	secret    = "checkout-channels"
	secretKey = "oncall-url"
	amConfig  = "checkout"
	receiver  = "oncall"
	ruleGroup = "cx-smoke"
	alertName = "CXSmoke"
)

// timings collects how long each step of the smoke test took, printed at
// the end.
type timings struct {
	st    *stack.Stack
	steps []string
}

func (tm *timings) step(t *testing.T, name string, run func() error) {
	t.Helper()
	done := tm.st.Step(name)
	err := run()
	took := done()
	tm.steps = append(tm.steps, fmt.Sprintf("%-55s %8s", name, took.Round(time.Millisecond)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestStackSmoke starts the whole stack and proves each path through it: a
// hand-made PrometheusRule reaches Prometheus, a hand-made
// AlertmanagerConfig reaches Alertmanager, the alert fires and the team's
// sink gets the notification; the shop exporter exposes the samples'
// series and its error spike shows in Prometheus; a broken rule file is
// refused and the old rules keep running.
func TestStackSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	logDir := os.Getenv("CX_E2E_LOG_DIR") // keep the logs after the test
	if logDir == "" {
		logDir = t.TempDir()
	}
	begin := time.Now()
	st, err := stack.Start(ctx, stack.Options{LogDir: logDir, Logf: t.Logf, Teams: []string{team}})
	if err != nil {
		t.Fatal(err)
	}
	startTook := time.Since(begin)
	tm := &timings{st: st, steps: []string{fmt.Sprintf("%-55s %8s", "start the stack", startTook.Round(time.Millisecond))}}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			st.DumpLogs(&b)
			t.Log("logs of the stack:\n" + b.String())
		}
		if err := st.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
		t.Log("step times:\n  " + strings.Join(tm.steps, "\n  "))
	})
	c := st.Client()

	tm.step(t, "create the namespace and the sink Secret", func() error {
		if err := st.EnsureNamespace(ctx, teamNS); err != nil {
			return err
		}
		return st.CreateSinkSecret(ctx, teamNS, secret, secretKey, team)
	})
	tm.step(t, "create the PrometheusRule and the AlertmanagerConfig", func() error {
		if err := c.Create(ctx, smokeRule()); err != nil {
			return err
		}
		return c.Create(ctx, smokeRoute())
	})
	tm.step(t, "Prometheus loaded the rule group", func() error {
		g, err := st.WaitForRuleGroup(ctx, ruleGroup)
		if err == nil {
			t.Logf("rule group %s from %s", g.Name, g.File)
		}
		return err
	})
	wantReceiver := stack.ReceiverName(teamNS, amConfig, receiver)
	tm.step(t, "Alertmanager loaded the team's receiver", func() error {
		return st.WaitForReceiver(ctx, wantReceiver)
	})
	tm.step(t, "the alert is active in Alertmanager, routed to the team", func() error {
		a, err := st.WaitForAlertmanagerAlert(ctx, func(a stack.AlertmanagerAlert) bool {
			return a.Labels["alertname"] == alertName && a.Status.State == "active" && slices.Contains(a.ReceiverNames(), wantReceiver)
		})
		if err == nil {
			t.Logf("Alertmanager alert %v, receivers %v", a.Labels, a.ReceiverNames())
		}
		return err
	})
	tm.step(t, "the team's sink got the notification", func() error {
		return checkNotification(ctx, t, st.Sink(team), wantReceiver)
	})
	tm.step(t, "show what prometheus-operator generated", func() error {
		return logGenerated(ctx, t, st)
	})

	shop := st.Shop()
	tm.step(t, "the shop exposes the samples' series", func() error {
		return checkShopSeries(ctx, shop)
	})
	tm.step(t, "Prometheus scraped the shop with its own job labels", func() error {
		return checkScraped(ctx, st)
	})
	tm.step(t, "an error spike makes the 5xx counter advance faster", func() error {
		return checkErrorSpike(ctx, t, shop)
	})
	tm.step(t, "Prometheus sees the error spike", func() error {
		return checkSpikeInPrometheus(ctx, t, st)
	})
	tm.step(t, "a broken rule file is refused and the old rules keep running", func() error {
		return checkBrokenRuleFile(ctx, t, st)
	})
	if err := shop.StopIncident(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
}

// checkNotification waits for the smoke alert's notification at the sink
// and checks where it came from and its labels.
func checkNotification(ctx context.Context, t *testing.T, sink *stack.Sink, wantReceiver string) error {
	n, err := sink.WaitFor(ctx, func(n stack.Notification) bool {
		return n.Status == "firing" && slices.Contains(n.AlertNames(), alertName)
	})
	if err != nil {
		return err
	}
	t.Logf("notification: %s, common labels %v", n, n.CommonLabels)
	if n.Receiver != wantReceiver {
		return fmt.Errorf("the notification came from receiver %q, want %q", n.Receiver, wantReceiver)
	}
	for k, v := range map[string]string{"cx_team": team, "namespace": teamNS, "severity": "page"} {
		if n.CommonLabels[k] != v {
			return fmt.Errorf("the notification's common label %s is %q, want %q", k, n.CommonLabels[k], v)
		}
	}
	return nil
}

// checkScraped waits until Prometheus has the shop's checkout series with
// the shop's own instance label (honor_labels).
func checkScraped(ctx context.Context, st *stack.Stack) error {
	return st.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		res, err := st.Query(ctx, `http_requests_total{job="checkout",code="200"}`)
		if err != nil {
			return false, err
		}
		if len(res) != 1 || res[0].Metric["instance"] != "checkout-1" {
			return false, fmt.Errorf("got %v", res)
		}
		return true, nil
	})
}

// checkSpikeInPrometheus waits until Prometheus computes over 2 5xx per
// second for checkout.
func checkSpikeInPrometheus(ctx context.Context, t *testing.T, st *stack.Stack) error {
	return st.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		res, err := st.Query(ctx, `sum(rate(http_requests_total{job="checkout",code=~"5.."}[20s]))`)
		if err != nil {
			return false, err
		}
		if len(res) != 1 || res[0].Value < 2 {
			return false, fmt.Errorf("5xx per second: %v", res)
		}
		t.Logf("Prometheus: checkout answers %.2f 5xx per second", res[0].Value)
		return true, nil
	})
}

// logGenerated logs the rule ConfigMaps' keys and the Alertmanager
// configuration, as Alertmanager shows it (secrets masked).
func logGenerated(ctx context.Context, t *testing.T, st *stack.Stack) error {
	var cms corev1.ConfigMapList
	if err := st.Client().List(ctx, &cms, client.InNamespace(st.MonitoringNamespace())); err != nil {
		return err
	}
	for _, cm := range cms.Items {
		if strings.HasPrefix(cm.Name, "prometheus-"+stack.ResourceName+"-rulefiles-") {
			keys := slices.Sorted(maps.Keys(cm.Data))
			t.Logf("ConfigMap %s/%s (labels %v) keys %v", cm.Namespace, cm.Name, cm.Labels, keys)
		}
	}
	cfg, err := st.AlertmanagerConfig(ctx)
	if err != nil {
		return err
	}
	t.Logf("Alertmanager runs:\n%s", cfg)
	return nil
}

func smokeRule() *monitoringv1.PrometheusRule {
	return &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: teamNS},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: ruleGroup,
			Rules: []monitoringv1.Rule{{
				Alert:       alertName,
				Expr:        intstr.FromString("vector(1)"),
				Labels:      map[string]string{"cx_team": team, "namespace": teamNS, "severity": "page"},
				Annotations: map[string]string{"summary": "The smoke test's alert always fires."},
			}},
		}}},
	}
}

func smokeRoute() *monitoringv1alpha1.AlertmanagerConfig {
	d := func(s string) *monitoringv1.NonEmptyDuration { v := monitoringv1.NonEmptyDuration(s); return &v }
	return &monitoringv1alpha1.AlertmanagerConfig{
		ObjectMeta: metav1.ObjectMeta{Name: amConfig, Namespace: teamNS},
		Spec: monitoringv1alpha1.AlertmanagerConfigSpec{
			Route: &monitoringv1alpha1.Route{
				Receiver:       receiver,
				Matchers:       []monitoringv1alpha1.Matcher{{Name: "cx_team", Value: team, MatchType: monitoringv1alpha1.MatchEqual}},
				GroupBy:        []string{"alertname"},
				GroupWait:      d("1s"),
				GroupInterval:  d("5s"),
				RepeatInterval: d("1h"),
			},
			Receivers: []monitoringv1alpha1.Receiver{{
				Name: receiver,
				WebhookConfigs: []monitoringv1alpha1.WebhookConfig{{
					URLSecret: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: secret},
						Key:                  secretKey,
					},
					SendResolved: ptr.To(true),
				}},
			}},
		},
	}
}

// checkShopSeries scrapes the shop and looks for every series the samples'
// objectives select.
func checkShopSeries(ctx context.Context, shop *stack.Shop) error {
	samples, err := shop.Scrape(ctx)
	if err != nil {
		return err
	}
	want := []struct {
		name   string
		labels map[string]string
	}{
		{"http_requests_total", map[string]string{"job": "checkout", "code": "200"}},
		{"http_requests_total", map[string]string{"job": "checkout", "code": "500"}},
		{"http_request_duration_seconds_bucket", map[string]string{"job": "storefront", "le": "0.5"}},
		{"http_request_duration_seconds_bucket", map[string]string{"job": "landing", "le": "0.8"}},
		{"http_request_duration_seconds_count", map[string]string{"job": "storefront"}},
		{"support_first_response_seconds_bucket", map[string]string{"queue": "chat", "le": "300"}},
		{"probe_success", map[string]string{"job": "blackbox", "instance": "https://shop.example.com"}},
		{"cx_csat_score", map[string]string{"survey": "post-purchase"}},
	}
	var missing []string
	for _, w := range want {
		found := slices.ContainsFunc(samples, func(s stack.ShopSample) bool {
			if s.Name != w.name {
				return false
			}
			for k, v := range w.labels {
				if s.Labels[k] != v {
					return false
				}
			}
			return true
		})
		if !found {
			missing = append(missing, fmt.Sprintf("%s%v", w.name, w.labels))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the shop does not expose %v", missing)
	}
	return nil
}

// checkErrorSpike measures checkout's 5xx rate at a small baseline and
// during a spike, on the exporter itself.
func checkErrorSpike(ctx context.Context, t *testing.T, shop *stack.Shop) error {
	if err := shop.SetBaselineErrors(ctx, "checkout", 0.01); err != nil {
		return err
	}
	base, err := errorRate(ctx, shop)
	if err != nil {
		return err
	}
	if err := shop.StartErrorSpike(ctx, "checkout", 0.5, ""); err != nil {
		return err
	}
	spike, err := errorRate(ctx, shop)
	if err != nil {
		return err
	}
	t.Logf("checkout 5xx per second: %.2f at baseline, %.2f during the spike", base, spike)
	if spike < 3 || spike < 5*base {
		return fmt.Errorf("5xx per second: %.2f during the spike, %.2f before; want at least 3 and five times more", spike, base)
	}
	return nil
}

// errorRate measures checkout's 5xx per second over the time it takes the
// shop to answer 20 requests (2 s at the default traffic).
func errorRate(ctx context.Context, shop *stack.Shop) (float64, error) {
	read := func() (total, errs float64, err error) {
		samples, err := shop.Scrape(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, s := range samples {
			if s.Name == "http_requests_total" && s.Labels["job"] == "checkout" {
				total += s.Value
				if strings.HasPrefix(s.Labels["code"], "5") {
					errs += s.Value
				}
			}
		}
		return total, errs, nil
	}
	t0 := time.Now()
	total0, errs0, err := read()
	if err != nil {
		return 0, err
	}
	var rate float64
	err = stack.Poll(ctx, 200*time.Millisecond, func(context.Context) (bool, error) {
		total, errs, err := read()
		if err != nil {
			return false, err
		}
		if total-total0 < 20 {
			return false, errors.New("fewer than 20 new requests")
		}
		rate = (errs - errs0) / time.Since(t0).Seconds()
		return true, nil
	})
	return rate, err
}

// checkBrokenRuleFile puts a rule ConfigMap with a broken rule where
// prometheus-operator's go (it validates what it writes, so only a hand-made
// one can be broken), and expects a refused reload, the old rule group still
// running, and a good reload once it is gone.
func checkBrokenRuleFile(ctx context.Context, t *testing.T, st *stack.Stack) error {
	c := st.Client()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-" + stack.ResourceName + "-rulefiles-99", Namespace: st.MonitoringNamespace()},
		Data:       map[string]string{"broken.yaml": "groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr: sum(\n"},
	}
	since := len(st.SyncEvents())
	if err := c.Create(ctx, cm); err != nil {
		return err
	}
	refused, err := waitSync(ctx, st, since, func(e stack.SyncEvent) bool { return slices.Contains(e.Changes, "+broken.yaml") })
	if err != nil {
		return err
	}
	if refused.Err == nil {
		return errors.New("Prometheus accepted a broken rule file")
	}
	t.Logf("refused as it should be: %v", refused.Err)
	if _, err := st.WaitForRuleGroup(ctx, ruleGroup); err != nil {
		return fmt.Errorf("after the refused reload: %w", err)
	}
	since = len(st.SyncEvents())
	if err := c.Delete(ctx, cm); err != nil {
		return err
	}
	fixed, err := waitSync(ctx, st, since, func(e stack.SyncEvent) bool { return slices.Contains(e.Changes, "-broken.yaml") })
	if err != nil {
		return err
	}
	if fixed.Err != nil {
		return fmt.Errorf("reloading without the broken file: %w", fixed.Err)
	}
	return nil
}

// waitSync waits for a Prometheus sync event, after the first since ones,
// that match accepts.
func waitSync(ctx context.Context, st *stack.Stack, since int, match func(stack.SyncEvent) bool) (stack.SyncEvent, error) {
	var found stack.SyncEvent
	err := st.Poll(ctx, 100*time.Millisecond, func(context.Context) (bool, error) {
		events := st.SyncEvents()
		for _, e := range events[min(since, len(events)):] {
			if e.Target == stack.TargetPrometheus && match(e) {
				found = e
				return true, nil
			}
		}
		return false, fmt.Errorf("sync events: %v", events[min(since, len(events)):])
	})
	return found, err
}
