package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cxops/cx-operator/test/utils"
)

const (
	// ResourceName is the name of the Prometheus and the Alertmanager
	// resource the stack creates; prometheus-operator then writes the
	// ConfigMaps prometheus-cx-rulefiles-N and the Secret
	// alertmanager-cx-generated.
	ResourceName = "cx"
	// AlertmanagerVersion is the version of the Alertmanager binary the
	// stack runs, set as the Alertmanager resource's spec.version so that
	// prometheus-operator generates a configuration for it.
	AlertmanagerVersion = "0.34.2"
	// DefaultMonitoringNamespace holds the Prometheus and Alertmanager
	// resources unless Options.MonitoringNamespace says otherwise.
	DefaultMonitoringNamespace = "monitoring"

	harnessLogName = "harness.log"

	// PrometheusURLArg in Options.ManagerArgs stands for the URL of the
	// stack's Prometheus, which is known only once it runs.
	PrometheusURLArg = "$(PROMETHEUS_URL)"
)

// Options configure a stack. The zero value of each field is a usable
// default.
type Options struct {
	// BinDir holds prometheus-operator, prometheus and alertmanager, as
	// hack/build-stack.sh builds them. Default: the repository's bin.
	BinDir string
	// WorkDir holds the configurations, the data of Prometheus and
	// Alertmanager, the rule folder and the kubeconfig. Default: a new
	// temporary folder that Stop removes (unless KeepWorkDir, or Stop
	// failed: then it stays for its logs).
	WorkDir string
	// KeepWorkDir keeps a temporary WorkDir after Stop.
	KeepWorkDir bool
	// LogDir receives <process>.log for every process and harness.log.
	// Default: WorkDir/logs (so gone with a temporary WorkDir; set it to
	// keep the logs).
	LogDir string
	// Logf, if set, also gets every line of the harness timeline (for
	// example testing.T.Logf).
	Logf func(format string, args ...any)

	// Teams get one webhook sink each, named by the team.
	Teams []string
	// MonitoringNamespace holds the Prometheus and Alertmanager resources.
	// Default: DefaultMonitoringNamespace.
	MonitoringNamespace string

	// ScrapeInterval is Prometheus's global scrape interval. Default 5s.
	ScrapeInterval time.Duration
	// EvalInterval is Prometheus's global rule evaluation interval.
	// Default 5s.
	EvalInterval time.Duration
	// AlertResendDelay is Prometheus's --rules.alert.resend-delay, how
	// often firing alerts are sent to Alertmanager again. Default:
	// EvalInterval (Prometheus's own default, 1m, slows tests down).
	AlertResendDelay time.Duration

	// ShopBinary is a built test/shop. Default: Start builds it with
	// `go build` into WorkDir/bin.
	ShopBinary string

	// ManagerBinary is the cx-operator manager to run against the control
	// plane with KUBECONFIG set. Empty: no manager (the tests create
	// PrometheusRules and AlertmanagerConfigs themselves).
	ManagerBinary string
	// ManagerArgs are the manager's arguments; give it free addresses
	// (FreeAddress) for its metrics and probes. PrometheusURLArg in an
	// argument is replaced by the stack's Prometheus URL.
	ManagerArgs []string
	// ManagerEnv is added to the manager's environment (KEY=value).
	ManagerEnv []string

	// StopTimeout is how long Stop waits for a process after SIGTERM
	// before it kills it. Default 10s.
	StopTimeout time.Duration
}

// Stack is a running end-to-end stack; see the package documentation.
type Stack struct {
	opts       Options
	started    time.Time
	workDir    string
	ownWorkDir bool

	env            *envtest.Environment
	restConfig     *rest.Config
	scheme         *runtime.Scheme
	client         client.Client
	kubeconfigPath string
	// closers are closed after the control plane stopped: its log files.
	closers []func() error

	procs   []*process
	manager *process
	sinks   map[string]*Sink
	shop    *Shop

	promURL, amURL, operatorURL string
	ruleDir, amConfigPath       string

	syncer   *syncer
	stopSync func() error

	logMu      sync.Mutex
	timeline   []Entry
	harnessLog *os.File
	logClosed  bool

	stopOnce sync.Once
	stopErr  error
}

// Start starts the whole stack; ctx bounds the start only (the stack runs
// until Stop). On failure it stops what it started and returns an error
// that holds the tail of the logs.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts, started: time.Now(), sinks: map[string]*Sink{}, scheme: utils.Scheme()}
	if err := s.start(ctx); err != nil {
		var dump bytes.Buffer
		s.DumpLogs(&dump)
		return nil, errors.Join(fmt.Errorf("starting the stack: %w\n%s", err, dump.String()), s.Stop())
	}
	return s, nil
}

func (s *Stack) defaults() error {
	o := &s.opts
	if o.BinDir == "" {
		o.BinDir = filepath.Join(utils.RepoRoot(), "bin")
	}
	if o.MonitoringNamespace == "" {
		o.MonitoringNamespace = DefaultMonitoringNamespace
	}
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = 5 * time.Second
	}
	if o.EvalInterval == 0 {
		o.EvalInterval = 5 * time.Second
	}
	if o.AlertResendDelay == 0 {
		o.AlertResendDelay = o.EvalInterval
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 10 * time.Second
	}
	for _, bin := range []string{"prometheus-operator", "prometheus", "alertmanager"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, bin)); err != nil {
			return fmt.Errorf("the stack needs %s in %s: run `hack/build-stack.sh bin %s v0.316.0 v%s`: %w",
				bin, o.BinDir, utils.PrometheusOperatorVersion, AlertmanagerVersion, err)
		}
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "cx-stack-")
		if err != nil {
			return fmt.Errorf("creating the work folder: %w", err)
		}
		o.WorkDir, s.ownWorkDir = dir, true
	}
	s.workDir = o.WorkDir
	if o.LogDir == "" {
		o.LogDir = filepath.Join(o.WorkDir, "logs")
	}
	for _, dir := range []string{o.WorkDir, o.LogDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(o.LogDir, harnessLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the harness log: %w", err)
	}
	s.logMu.Lock()
	s.harnessLog = f
	s.logMu.Unlock()
	return nil
}

func (s *Stack) start(ctx context.Context) error {
	if err := s.defaults(); err != nil {
		return err
	}
	s.Logf("starting the stack: work folder %s, logs %s", s.workDir, s.opts.LogDir)
	for _, team := range s.opts.Teams {
		if _, dup := s.sinks[team]; dup {
			return fmt.Errorf("team %q is listed twice in Options.Teams", team)
		}
		k, err := StartSink(team, s.Logf)
		if err != nil {
			return err
		}
		s.sinks[team] = k
		s.Logf("sink of team %s listens on %s", team, k.URL())
	}

	// The shop builds while the control plane starts: both take seconds.
	type built struct {
		bin string
		err error
	}
	shopBin := make(chan built, 1)
	if s.opts.ShopBinary == "" {
		binDir := filepath.Join(s.workDir, "bin")
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", binDir, err)
		}
		buildCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		// A failed start must not leave the build writing into the work
		// folder that Stop removes.
		defer func() { cancel(); <-done }()
		go func() {
			defer close(done)
			bin, err := s.buildShop(buildCtx, binDir)
			shopBin <- built{bin, err}
		}()
	} else {
		shopBin <- built{s.opts.ShopBinary, nil}
	}

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"control plane", s.startControlPlane},
		{"monitoring resources", s.createMonitoringResources},
		{"shop exporter", func(ctx context.Context) error {
			select {
			case b := <-shopBin:
				if b.err != nil {
					return b.err
				}
				return s.startShop(ctx, b.bin)
			case <-ctx.Done():
				return fmt.Errorf("waiting for the shop exporter to build: %w", context.Cause(ctx))
			}
		}},
		{"alertmanager", s.startAlertmanager},
		{"prometheus", s.startPrometheus},
		{"sync loop", s.startSync},
		{"prometheus-operator", s.startOperator},
		{"cx-operator manager", s.startManager},
	}
	for _, step := range steps {
		begin := time.Now()
		if err := step.run(ctx); err != nil {
			return fmt.Errorf("starting the %s: %w", step.name, err)
		}
		s.Logf("%s ready in %s", step.name, time.Since(begin).Round(time.Millisecond))
	}
	s.Logf("stack ready: KUBECONFIG=%s, Prometheus %s, Alertmanager %s, shop %s", s.kubeconfigPath, s.promURL, s.amURL, s.shop.URL())
	return nil
}

// Stop stops everything Start started, in reverse order (the manager
// first, the control plane last), removes a temporary WorkDir (unless
// something failed: then it stays for its logs), and returns every error on
// the way: a process that had died, did not exit cleanly or had to be
// killed included. Later calls return the first call's result.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Stack) stop() error {
	var errs []error
	s.Logf("stopping the stack")
	if s.manager != nil {
		errs = append(errs, s.manager.stop(s.opts.StopTimeout))
	}
	if s.stopSync != nil {
		errs = append(errs, s.stopSync())
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		if s.procs[i] != s.manager {
			errs = append(errs, s.procs[i].stop(s.opts.StopTimeout))
		}
	}
	if s.env != nil {
		if err := s.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
		}
	}
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	for _, team := range s.opts.Teams {
		if k := s.sinks[team]; k != nil {
			errs = append(errs, k.Close())
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		s.Logf("stopped with errors: %v", err)
	} else {
		s.Logf("stopped")
	}
	s.logMu.Lock()
	s.logClosed = true
	if s.harnessLog != nil {
		if cerr := s.harnessLog.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the harness log: %w", cerr))
		}
		s.harnessLog = nil
	}
	s.logMu.Unlock()
	switch {
	case !s.ownWorkDir || s.opts.KeepWorkDir:
	case err != nil:
		// The logs the errors point at may be in it.
		err = errors.Join(err, fmt.Errorf("kept the work folder %s for its logs", s.workDir))
	default:
		if rerr := os.RemoveAll(s.workDir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the work folder: %w", rerr))
		}
	}
	return err
}

// Client returns a client of the control plane (cluster admin) with every
// kind cx-operator reads or writes in its scheme.
func (s *Stack) Client() client.Client { return s.client }

// RESTConfig returns the control plane's client configuration.
func (s *Stack) RESTConfig() *rest.Config { return rest.CopyConfig(s.restConfig) }

// KubeconfigPath returns the kubeconfig file of the control plane (a user
// in system:masters), for processes and for people while the stack runs.
func (s *Stack) KubeconfigPath() string { return s.kubeconfigPath }

// PrometheusURL returns Prometheus's base URL.
func (s *Stack) PrometheusURL() string { return s.promURL }

// AlertmanagerURL returns Alertmanager's base URL.
func (s *Stack) AlertmanagerURL() string { return s.amURL }

// OperatorURL returns the base URL of prometheus-operator's web server
// (/metrics).
func (s *Stack) OperatorURL() string { return s.operatorURL }

// MonitoringNamespace returns the namespace of the Prometheus and
// Alertmanager resources.
func (s *Stack) MonitoringNamespace() string { return s.opts.MonitoringNamespace }

// RuleDir returns the folder the sync loop fills with rule files.
func (s *Stack) RuleDir() string { return s.ruleDir }

// LogDir returns the folder of the logs.
func (s *Stack) LogDir() string { return s.opts.LogDir }

// Shop returns the client of the shop exporter.
func (s *Stack) Shop() *Shop { return s.shop }

// Sink returns the webhook sink of team, or nil if Options.Teams did not
// list it.
func (s *Stack) Sink(team string) *Sink { return s.sinks[team] }

// ManagerRunning reports whether the cx-operator manager was started and
// has not exited.
func (s *Stack) ManagerRunning() bool { return s.manager != nil && !s.manager.exited() }

// EnsureNamespace creates namespace name unless it exists.
func (s *Stack) EnsureNamespace(ctx context.Context, name string) error {
	err := s.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the namespace %s: %w", name, err)
	}
	return nil
}

// CreateSinkSecret makes the Secret namespace/name hold, at key, the URL of
// team's sink: what a CXTeam's webhook channel (or an AlertmanagerConfig's
// urlSecret) points at. It creates the Secret, or sets the key of an
// existing one.
func (s *Stack) CreateSinkSecret(ctx context.Context, namespace, name, key, team string) error {
	k := s.sinks[team]
	if k == nil {
		return fmt.Errorf("no sink for team %q: list it in Options.Teams", team)
	}
	var sec corev1.Secret
	err := s.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
	switch {
	case apierrors.IsNotFound(err):
		sec = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{key: []byte(k.URL())},
		}
		if err := s.client.Create(ctx, &sec); err != nil {
			return fmt.Errorf("creating the Secret %s/%s: %w", namespace, name, err)
		}
	case err != nil:
		return fmt.Errorf("reading the Secret %s/%s: %w", namespace, name, err)
	default:
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[key] = []byte(k.URL())
		if err := s.client.Update(ctx, &sec); err != nil {
			return fmt.Errorf("updating the Secret %s/%s: %w", namespace, name, err)
		}
	}
	s.Logf("Secret %s/%s key %s holds the URL of team %s's sink", namespace, name, key, team)
	return nil
}
