// Command demo is the README's main job, `make demo`: on a machine with no
// cluster it starts the local stack (kube-apiserver and etcd, the real
// prometheus-operator, Prometheus and Alertmanager, a synthetic shop and a
// webhook sink per team), runs the cx-operator manager against it as a user
// would, applies config/samples with kubectl, and tells the story of a
// checkout incident: the objectives become Ready, the checkout team is
// paged, the incident ends, the page resolves. Then it keeps the stack
// running until Ctrl-C; DEMO_EXIT=1 ends it after the story.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cxops/cx-operator/test/utils"
	"github.com/cxops/cx-operator/test/utils/stack"
)

const (
	namespace = "shop"
	// objective is the sample objective whose incident the story tells.
	objective = "checkout-errors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// story prints the demo's timeline, with the time since the start.
type story struct{ start time.Time }

func (s story) say(format string, args ...any) {
	fmt.Printf("\n[%6s] %s\n", time.Since(s.start).Round(time.Second), fmt.Sprintf(format, args...))
}

func run(ctx context.Context) (err error) {
	s := story{start: time.Now()}
	work, err := os.MkdirTemp("", "cx-demo-")
	if err != nil {
		return err
	}
	logDir := filepath.Join(work, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	// The demo's own Kubernetes clients log through controller-runtime:
	// into the logs folder, not between the lines of the story.
	crLog, err := os.Create(filepath.Join(logDir, "demo-clients.log"))
	if err != nil {
		return err
	}
	defer func() { _ = crLog.Close() }()
	ctrl.SetLogger(zap.New(zap.WriteTo(crLog)))
	s.say("Building the cx-operator manager")
	manager, err := stack.GoBuild(ctx, "./cmd/manager", filepath.Join(work, "manager"), filepath.Join(logDir, "go-build-manager.log"))
	if err != nil {
		return err
	}
	metrics, err := utils.FreeAddress()
	if err != nil {
		return err
	}
	probes, err := utils.FreeAddress()
	if err != nil {
		return err
	}
	s.say("Starting the local stack: kube-apiserver and etcd, prometheus-operator, Prometheus, Alertmanager, the shop, a sink per team, the manager")
	st, err := stack.Start(ctx, stack.Options{
		WorkDir: filepath.Join(work, "stack"), LogDir: logDir, Teams: stack.SampleTeams,
		ManagerBinary: manager,
		ManagerArgs: []string{"--leader-elect=false", "--metrics-secure=false", "--metrics-bind-address=" + metrics,
			"--health-probe-bind-address=" + probes, "--prometheus-url=" + stack.PrometheusURLArg, "--budget-refresh-interval=5s"},
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nStopping every process the demo started...")
		if stopErr := st.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the stack: %w", stopErr))
		}
		if err == nil {
			_ = os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "logs are in %s\n", logDir)
		}
	}()
	if err := tell(ctx, s, st); err != nil {
		return err
	}
	fmt.Printf(`
The stack keeps running:
  Prometheus API    %s   (e.g. %s/api/v1/rules)
  Alertmanager      %s   (e.g. %s/api/v2/alerts)
  kubeconfig        %s
                    export KUBECONFIG=%s; kubectl get cx -A
  logs              %s
  shop control      %s/control/state (see test/shop)
`, st.PrometheusURL(), st.PrometheusURL(), st.AlertmanagerURL(), st.AlertmanagerURL(),
		st.KubeconfigPath(), st.KubeconfigPath(), logDir, st.Shop().URL())
	if os.Getenv("DEMO_EXIT") == "1" {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop it and clean up.")
	<-ctx.Done()
	return nil
}

// tell is the story: samples, Ready, incident, page, recovery, resolved.
func tell(ctx context.Context, s story, st *stack.Stack) error {
	// A quiet hour in the shop: one checkout a second. The 5xx spike then
	// pages within seconds and resolves minutes after it ends.
	if err := st.Shop().SetTraffic(ctx, "checkout", 1); err != nil {
		return err
	}
	s.say("kubectl apply -k config/samples -n %s (each team's webhook Secret is pointed at its sink; notifications group for 5s)", namespace)
	if err := st.ApplySamples(ctx, namespace, "5s", "10s"); err != nil {
		return err
	}
	if err := showReady(ctx, s, st); err != nil {
		return err
	}
	if _, err := st.WaitForRuleGroup(ctx, "cx-"+objective); err != nil {
		return err
	}
	s.say("Prometheus evaluates the checkout objective's rules (loaded through prometheus-operator's rule ConfigMap)")

	onset := time.Now()
	if err := st.Shop().StartErrorSpike(ctx, "checkout", 1, "500"); err != nil {
		return err
	}
	s.say("INCIDENT: every checkout request now fails with 500")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	page, err := st.Sink("checkout").WaitFor(wctx, func(n stack.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["severity"] == "page" && n.CommonLabels["cx_objective"] == objective
	})
	if err != nil {
		return err
	}
	s.say("The checkout team's channel got a page %s after the incident began:\n%s", page.Received.Sub(onset).Round(time.Second), render(page))
	if err := st.Shop().StopIncident(ctx, stack.IncidentErrors, "checkout"); err != nil {
		return err
	}
	ended := time.Now()
	s.say("The incident ends: checkout answers 200 again. The page resolves once the 5-minute window is clean.")
	if n, err := st.Sink("finance").WaitFor(wctx, func(n stack.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["cx_objective"] == objective
	}); err == nil {
		s.say("Finance, a stakeholder, was told (severity %s, never paged): %s", n.CommonLabels["severity"], n.CommonAnnotations["summary"])
	}
	if out, err := st.Kubectl(ctx, "get", "cxo", "-n", namespace); err == nil {
		s.say("kubectl get cxo -n %s reads like a scorecard:\n%s", namespace, out)
	}
	rctx, rcancel := context.WithTimeout(ctx, 8*time.Minute)
	defer rcancel()
	resolved, err := st.Sink("checkout").WaitFor(rctx, func(n stack.Notification) bool {
		return n.Status == "resolved" && n.CommonLabels["severity"] == "page" && n.CommonLabels["cx_objective"] == objective
	})
	if err != nil {
		return err
	}
	s.say("RESOLVED %s after the incident ended:\n%s", resolved.Received.Sub(ended).Round(time.Second), render(resolved))
	return onlyTheOwners(s, st)
}

// onlyTheOwners checks that no team but the owner and its stakeholders
// heard of the incident.
func onlyTheOwners(s story, st *stack.Stack) error {
	var others []string
	for _, team := range []string{"storefront", "support", "growth"} {
		for _, n := range st.Sink(team).All() {
			if n.CommonLabels["cx_objective"] == objective {
				others = append(others, team)
			}
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("teams %v were told about the checkout incident", others)
	}
	s.say("Teams storefront, support and growth got nothing about checkout: a breach reaches the team that owns it (and its stakeholders), and only them.")
	return nil
}

// showReady waits until every sample is Ready and shows them.
func showReady(ctx context.Context, s story, st *stack.Stack) error {
	if _, err := st.Kubectl(ctx, "wait", "-n", namespace, "--for=condition=Ready", "cxo,cxteam", "--all", "--timeout=90s"); err != nil {
		return err
	}
	out, err := st.Kubectl(ctx, "get", "cxteam,cxo", "-n", namespace)
	if err != nil {
		return err
	}
	s.say("Every team and objective is Ready:\n%s", out)
	return nil
}

// render shows a notification as the team would read it.
func render(n stack.Notification) string {
	var b strings.Builder
	for _, a := range n.Alerts {
		fmt.Fprintf(&b, "  [%s] %s\n", strings.ToUpper(a.Status), a.Annotations["summary"])
		if d := a.Annotations["description"]; d != "" {
			fmt.Fprintf(&b, "  %s\n", d)
		}
		if r := a.Annotations["runbook_url"]; r != "" {
			fmt.Fprintf(&b, "  runbook: %s\n", r)
		}
		fmt.Fprintf(&b, "  team=%s objective=%s/%s journey=%s severity=%s\n", a.Labels["cx_team"],
			a.Labels["cx_objective_namespace"], a.Labels["cx_objective"], a.Labels["cx_journey"], a.Labels["severity"])
	}
	fmt.Fprintf(&b, "  (Alertmanager receiver %s)", n.Receiver)
	return b.String()
}
