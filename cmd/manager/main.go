// Command manager runs the cx-operator controllers: it reconciles CXObjectives
// into PrometheusRules and CXTeams into AlertmanagerConfigs.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	// Load every client auth plugin (OIDC, exec, ...) for out-of-cluster runs.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cxops/cx-operator/internal/controller"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/metricsauth"
	"github.com/cxops/cx-operator/internal/scheme"
)

// options are the manager's command-line flags.
type options struct {
	metricsAddr          string
	secureMetrics        bool
	probeAddr            string
	pprofAddr            string
	leaderElect          bool
	leaderElectNamespace string
	ruleLabels           labelsFlag
	configLabels         labelsFlag
	concurrency          int
	qps                  float64
	burst                int
	prometheus           prometheusFlags
	budgetPeriod         time.Duration
	budgetConcurrency    int
}

// prometheusFlags say where and how the manager reads error budgets.
type prometheusFlags struct {
	url                string
	bearerTokenFile    string
	caFile             string
	certFile           string
	keyFile            string
	insecureSkipVerify bool
}

// querier returns the Prometheus API client, or nil without a URL.
func (p prometheusFlags) querier() (controller.Querier, error) {
	if p.url == "" {
		return nil, nil
	}
	rt, err := config.NewRoundTripperFromConfig(config.HTTPClientConfig{
		BearerTokenFile: p.bearerTokenFile,
		TLSConfig: config.TLSConfig{
			CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile, InsecureSkipVerify: p.insecureSkipVerify,
		},
	}, "cx-operator")
	if err != nil {
		return nil, fmt.Errorf("configuring the Prometheus client: %w", err)
	}
	client, err := api.NewClient(api.Config{Address: p.url, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("configuring the Prometheus client for %s: %w", p.url, err)
	}
	return promv1.NewAPI(client), nil
}

func main() {
	o := options{
		ruleLabels:   labelsFlag(maps.Clone(desired.DefaultSelectorLabels)),
		configLabels: labelsFlag(maps.Clone(desired.DefaultSelectorLabels)),
	}
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0",
		"Address of the metrics endpoint, e.g. :8443 (HTTPS) or :8080 (HTTP with --metrics-secure=false); 0 turns it off.")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, with authentication and authorization through the API server.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address where the manager serves Go's net/http/pprof profiles, e.g. 127.0.0.1:6060; 0 turns it off. For debugging only: it has no authentication.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes.")
	flag.BoolVar(&o.leaderElect, "leader-elect", true,
		"Elect a leader, so that only one replica reconciles at a time.")
	flag.StringVar(&o.leaderElectNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the manager's own namespace (needed outside a cluster).")
	flag.Var(&o.ruleLabels, "rule-labels",
		"Labels put on every generated PrometheusRule, for a Prometheus ruleSelector, as key=value,...")
	flag.Var(&o.configLabels, "alertmanager-config-labels",
		"Labels put on every generated AlertmanagerConfig, for an Alertmanager alertmanagerConfigSelector, as key=value,...")
	flag.IntVar(&o.concurrency, "concurrency", controller.DefaultConcurrency,
		"How many CXObjectives, and how many CXTeams, are reconciled in parallel.")
	flag.Float64Var(&o.qps, "kube-api-qps", 500, "Queries per second to the Kubernetes API server, on average; its priority and fairness settings limit the manager too.")
	flag.IntVar(&o.burst, "kube-api-burst", 1000, "Queries to the Kubernetes API server in a burst.")
	flag.StringVar(&o.prometheus.url, "prometheus-url", "",
		"Base URL of the Prometheus (or Thanos Query, Mimir) HTTP API to read error budgets from, e.g. http://prometheus-operated.monitoring:9090. Empty: status shows no figures.")
	flag.StringVar(&o.prometheus.bearerTokenFile, "prometheus-bearer-token-file", "", "File with a bearer token for the Prometheus API.")
	flag.StringVar(&o.prometheus.caFile, "prometheus-ca-file", "", "CA certificate file to verify the Prometheus API's TLS certificate.")
	flag.StringVar(&o.prometheus.certFile, "prometheus-cert-file", "", "Client certificate file for TLS to the Prometheus API.")
	flag.StringVar(&o.prometheus.keyFile, "prometheus-key-file", "", "Client key file for TLS to the Prometheus API.")
	flag.BoolVar(&o.prometheus.insecureSkipVerify, "prometheus-insecure-skip-verify", false, "Do not verify the Prometheus API's TLS certificate.")
	flag.DurationVar(&o.budgetPeriod, "budget-refresh-interval", controller.DefaultBudgetPeriod,
		"How often each objective's error budget is read from Prometheus; the namespaces are spread over the interval.")
	flag.IntVar(&o.budgetConcurrency, "budget-query-concurrency", 4, "How many Prometheus queries run at once.")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(o, scheme.New()); err != nil {
		ctrl.Log.Error(err, "Manager stopped")
		os.Exit(1)
	}
}

func run(o options, scheme *runtime.Scheme) error {
	metricsOpts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		// HTTP/2 is off: it is exposed to the HTTP/2 Stream Cancellation and
		// Rapid Reset CVEs.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
	if o.secureMetrics {
		metricsOpts.FilterProvider = metricsauth.Provider
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "cx-operator.cx.cxops.io",
		LeaderElectionNamespace: o.leaderElectNamespace,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	prom, err := o.prometheus.querier()
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controller.Setup(ctx, mgr, controller.Config{
		Options:           desired.Options{RuleLabels: o.ruleLabels, ConfigLabels: o.configLabels},
		Concurrency:       o.concurrency,
		Prometheus:        prom,
		BudgetPeriod:      o.budgetPeriod,
		BudgetConcurrency: o.budgetConcurrency,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	return mgr.Start(ctx)
}

// labelsFlag is a flag of Kubernetes labels as key=value,key=value.
type labelsFlag map[string]string

func (l *labelsFlag) String() string {
	parts := make([]string, 0, len(*l))
	for k, v := range *l {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (l *labelsFlag) Set(s string) error {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", kv)
		}
		if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(msgs) > 0 {
			return errors.New(kv + ": " + strings.Join(msgs, "; "))
		}
		out[k] = v
	}
	*l = out
	return nil
}
