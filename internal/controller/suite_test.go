package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/internal/controller"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/test/utils"
	"github.com/cxops/cx-operator/test/utils/fakeprom"
)

// The controllers run in a manager in this suite, against the real
// kube-apiserver built by `make envtest`, with our CRDs and the
// prometheus-operator CRDs, and Kubernetes' garbage collector. The manager
// acts as a user bound only to the ClusterRole that `make manifests`
// generates from the RBAC markers: what it may not do, it cannot do here.
var (
	testEnv     *envtest.Environment
	adminConfig *rest.Config
	k8sClient   client.Client
	// managerUser is the user the manager runs as.
	managerUser = "cx-operator-manager"
	// kubeconfigPath is a system:masters kubeconfig, for kubectl.
	kubeconfigPath string
	metricsAddr    string
	// prom is the fake Prometheus the manager reads error budgets from.
	prom   *fakeprom.Server
	ctx    context.Context
	cancel context.CancelFunc
	stopGC func() error
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	testEnv, err = utils.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	adminConfig, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(adminConfig, client.Options{Scheme: utils.Scheme()})
	Expect(err).NotTo(HaveOccurred())

	stopGC, err = utils.StartGarbageCollector(testEnv)
	Expect(err).NotTo(HaveOccurred())

	admin, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfigPath = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(kubeconfigPath, kubeconfig, 0o600)).To(Succeed())

	managerConfig := managerIdentity()
	addr, err := utils.FreeAddress()
	Expect(err).NotTo(HaveOccurred())
	metricsAddr = addr
	mgr, err := ctrl.NewManager(managerConfig, ctrl.Options{
		Scheme:                 utils.Scheme(),
		Cache:                  controller.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	prom = fakeprom.Start()
	promClient, err := api.NewClient(api.Config{Address: prom.URL()})
	Expect(err).NotTo(HaveOccurred())
	Expect(controller.Setup(ctx, mgr, controller.Config{
		Options:           desired.DefaultOptions(),
		Prometheus:        promv1.NewAPI(promClient),
		BudgetPeriod:      budgetPeriod,
		BudgetConcurrency: 4,
	})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if prom != nil {
		prom.Close()
	}
	if stopGC != nil {
		Expect(stopGC()).To(Succeed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// managerIdentity creates the manager's user, bound to the generated
// ClusterRole and nothing else, and returns its config.
func managerIdentity() *rest.Config {
	data, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	Expect(k8sClient.Create(context.Background(), role)).To(Succeed())
	binding := &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: managerUser}},
	}
	binding.Name = "cx-operator-manager"
	Expect(k8sClient.Create(context.Background(), binding)).To(Succeed())
	user, err := testEnv.AddUser(envtest.User{Name: managerUser}, nil)
	Expect(err).NotTo(HaveOccurred())
	cfg := rest.CopyConfig(user.Config())
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// Timeouts of Eventually: the controllers react to watch events, so
// seconds are plenty.
const (
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
	// budgetPeriod is how often the suite's manager reads budgets.
	budgetPeriod = time.Second
)
