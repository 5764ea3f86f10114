package stack

// Starting each component of the stack: the control plane, the monitoring
// resources, the shop exporter, Alertmanager, Prometheus,
// prometheus-operator and the manager, in the order Start runs them.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cxops/cx-operator/test/utils"
)

// startControlPlane starts kube-apiserver and etcd with the CRDs (ours, the
// prometheus-operator kinds of test/crds and the ones only the operator
// needs) and writes the kubeconfig.
func (s *Stack) startControlPlane(ctx context.Context) error {
	env, err := utils.NewEnvironment()
	if err != nil {
		return err
	}
	if env.CRDs, err = s.operatorCRDs(ctx); err != nil {
		return err
	}
	apiLog, err := s.openLog("kube-apiserver")
	if err != nil {
		return err
	}
	etcdLog, err := s.openLog("etcd")
	if err != nil {
		return err
	}
	env.ControlPlane.GetAPIServer().Out, env.ControlPlane.GetAPIServer().Err = apiLog, apiLog
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	// The harness's client and watch: no client-side throttling, which
	// makes discovery of the many CRD groups take seconds.
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	s.env, s.restConfig = env, cfg
	user, err := env.AddUser(envtest.User{Name: "cx-e2e", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the kubeconfig user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	s.kubeconfigPath = filepath.Join(s.workDir, "kubeconfig")
	if err := os.WriteFile(s.kubeconfigPath, kc, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	s.client, err = client.New(cfg, client.Options{Scheme: s.scheme})
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	s.Logf("control plane at %s; kubeconfig %s (kubectl --kubeconfig %s get prometheusrules -A)", cfg.Host, s.kubeconfigPath, s.kubeconfigPath)
	return nil
}

// openLog opens LogDir/name.log for a writer the stack closes at Stop.
func (s *Stack) openLog(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.opts.LogDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	s.closers = append(s.closers, f.Close)
	return f, nil
}

// createMonitoringResources creates the namespace, the Prometheus and the
// Alertmanager resources whose output the sync loop copies.
func (s *Stack) createMonitoringResources(ctx context.Context) error {
	ns := s.opts.MonitoringNamespace
	if err := s.EnsureNamespace(ctx, ns); err != nil {
		return err
	}
	s.Logf("created the namespace %s", ns)
	everything := func() *metav1.LabelSelector { return &metav1.LabelSelector{} }
	prom := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: ResourceName, Namespace: ns},
		Spec: monitoringv1.PrometheusSpec{
			RuleSelector:          everything(),
			RuleNamespaceSelector: everything(),
		},
	}
	if err := s.client.Create(ctx, prom); err != nil {
		return fmt.Errorf("creating the Prometheus %s/%s: %w", ns, ResourceName, err)
	}
	s.Logf("created the Prometheus %s/%s", ns, ResourceName)
	am := &monitoringv1.Alertmanager{
		ObjectMeta: metav1.ObjectMeta{Name: ResourceName, Namespace: ns},
		Spec: monitoringv1.AlertmanagerSpec{
			Version:                             AlertmanagerVersion,
			AlertmanagerConfigSelector:          everything(),
			AlertmanagerConfigNamespaceSelector: everything(),
		},
	}
	if err := s.client.Create(ctx, am); err != nil {
		return fmt.Errorf("creating the Alertmanager %s/%s: %w", ns, ResourceName, err)
	}
	s.Logf("created the Alertmanager %s/%s", ns, ResourceName)
	return nil
}

func (s *Stack) startShop(ctx context.Context, bin string) error {
	addr, err := FreeAddress()
	if err != nil {
		return err
	}
	p, err := s.startProcess("shop", bin, []string{"--listen-address=" + addr}, nil)
	if err != nil {
		return err
	}
	s.shop = &Shop{url: "http://" + addr}
	return waitHTTP(ctx, p, s.shop.url+"/-/healthy")
}

// placeholderAlertmanagerConfig runs until prometheus-operator's first
// generated configuration arrives.
const placeholderAlertmanagerConfig = `# Written by the cx-operator test stack; replaced by the configuration
# prometheus-operator generates (Secret alertmanager-cx-generated).
route:
  receiver: placeholder
receivers:
- name: placeholder
`

func (s *Stack) startAlertmanager(ctx context.Context) error {
	addr, err := FreeAddress()
	if err != nil {
		return err
	}
	s.amConfigPath = filepath.Join(s.workDir, "alertmanager", "alertmanager.yaml")
	data := filepath.Join(s.workDir, "alertmanager", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("creating Alertmanager's folder: %w", err)
	}
	if err := os.WriteFile(s.amConfigPath, []byte(placeholderAlertmanagerConfig), 0o644); err != nil {
		return fmt.Errorf("writing Alertmanager's first configuration: %w", err)
	}
	s.amURL = "http://" + addr
	p, err := s.startProcess("alertmanager", filepath.Join(s.opts.BinDir, "alertmanager"), []string{
		"--config.file=" + s.amConfigPath,
		"--storage.path=" + data,
		"--web.listen-address=" + addr,
		"--web.external-url=" + s.amURL,
		// No gossip: one Alertmanager, nothing on other ports.
		"--cluster.listen-address=",
	}, nil)
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, s.amURL+"/-/ready")
}

func (s *Stack) startPrometheus(ctx context.Context) error {
	addr, err := FreeAddress()
	if err != nil {
		return err
	}
	dir := filepath.Join(s.workDir, "prometheus")
	s.ruleDir = filepath.Join(dir, "rules")
	if err := os.MkdirAll(s.ruleDir, 0o755); err != nil {
		return fmt.Errorf("creating Prometheus's rule folder: %w", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(s.prometheusConfig()), 0o644); err != nil {
		return fmt.Errorf("writing prometheus.yml: %w", err)
	}
	s.promURL = "http://" + addr
	p, err := s.startProcess("prometheus", filepath.Join(s.opts.BinDir, "prometheus"), []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.external-url=" + s.promURL,
		"--web.enable-lifecycle",
		"--rules.alert.resend-delay=" + model.Duration(s.opts.AlertResendDelay).String(),
	}, nil)
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, s.promURL+"/-/ready")
}

// prometheusConfig is the harness's own prometheus.yml: the operator's is
// made for pods (Kubernetes service discovery, mounted paths).
func (s *Stack) prometheusConfig() string {
	timeout := min(s.opts.ScrapeInterval, 10*time.Second)
	// %q quotes as JSON does, which YAML reads as the same string.
	return fmt.Sprintf(`# Written by the cx-operator test stack.
global:
  scrape_interval: %s
  scrape_timeout: %s
  evaluation_interval: %s
rule_files:
- %q
alerting:
  alertmanagers:
  - static_configs:
    - targets: [%q]
scrape_configs:
- job_name: shop
  # The shop's series carry their own job and instance labels.
  honor_labels: true
  static_configs:
  - targets: [%q]
`,
		model.Duration(s.opts.ScrapeInterval), model.Duration(timeout), model.Duration(s.opts.EvalInterval),
		filepath.Join(s.ruleDir, "*.yaml"),
		trimScheme(s.amURL), trimScheme(s.shop.url))
}

func trimScheme(u string) string { return u[len("http://"):] }

func (s *Stack) startOperator(ctx context.Context) error {
	addr, err := FreeAddress()
	if err != nil {
		return err
	}
	s.operatorURL = "http://" + addr
	p, err := s.startProcess("prometheus-operator", filepath.Join(s.opts.BinDir, "prometheus-operator"),
		[]string{"--web.listen-address=" + addr},
		[]string{"KUBECONFIG=" + s.kubeconfigPath})
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, p, s.operatorURL+"/metrics"); err != nil {
		return err
	}
	// Ready means working: both controllers reconciled. The Alertmanager
	// controller generated a configuration and Alertmanager loaded it; the
	// Prometheus controller wrote its configuration Secret (which the
	// stack does not use: it tells that rule ConfigMaps will follow).
	promSecret := client.ObjectKey{Namespace: s.opts.MonitoringNamespace, Name: "prometheus-" + ResourceName}
	return poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, stopPolling(fmt.Errorf("prometheus-operator exited: %s (see %s)", exitText(p.exitErr), p.logPath))
		}
		if err := s.syncer.cache.Get(ctx, promSecret, &corev1.Secret{}); err != nil {
			return false, fmt.Errorf("the Prometheus controller has not written the Secret %s: %w", promSecret, err)
		}
		for _, e := range s.SyncEvents() {
			if e.Target == TargetAlertmanager && e.Err == nil {
				return true, nil
			}
		}
		return false, fmt.Errorf("no generated Alertmanager configuration loaded yet; last sync: %s", s.lastSync(TargetAlertmanager))
	})
}

func (s *Stack) startManager(context.Context) error {
	if s.opts.ManagerBinary == "" {
		s.Logf("no cx-operator manager (Options.ManagerBinary is empty)")
		return nil
	}
	env := append([]string{"KUBECONFIG=" + s.kubeconfigPath}, s.opts.ManagerEnv...)
	args := make([]string, len(s.opts.ManagerArgs))
	for i, a := range s.opts.ManagerArgs {
		args[i] = strings.ReplaceAll(a, PrometheusURLArg, s.promURL)
	}
	p, err := s.startProcess("manager", s.opts.ManagerBinary, args, env)
	if err != nil {
		return err
	}
	s.manager = p
	return nil
}
