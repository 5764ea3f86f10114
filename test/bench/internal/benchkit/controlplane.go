// Package benchkit holds what the benchmarks that run the manager binary
// against a local control plane share: the control plane with the
// manager's own user, the manager as a process, what /proc and /metrics
// say about both, and the set-up of a run. Each benchmark keeps what it
// measures and how it reports it.
package benchkit

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/test/utils"
)

// ControlPlaneOptions are what differs between the benchmarks' control
// planes.
type ControlPlaneOptions struct {
	// ManagerUser is who the manager authenticates as. It is bound to the
	// ClusterRole generated from the RBAC markers and nothing else, so that
	// a permission the manager lacks fails here as it would in a cluster.
	ManagerUser string
	// QPS and Burst are the admin client's rate limits, high enough that
	// the benchmark's own requests never wait.
	QPS   float32
	Burst int
}

// ControlPlane is a started envtest control plane and what a benchmark
// needs of it.
type ControlPlane struct {
	Env *envtest.Environment
	// Admin is a system:masters config with the options' rate limits.
	Admin *rest.Config
	// Client is a client with Admin's rights.
	Client client.Client
	// MetricsClient reads the API server's /metrics and /debug/pprof.
	MetricsClient *http.Client
	// ManagerKubeconfig is the file the manager runs with.
	ManagerKubeconfig string
	// APIServerPID and EtcdPID are the control plane's processes, for
	// their CPU time; 0 when not found.
	APIServerPID, EtcdPID int
}

// StartControlPlane starts a control plane with the CRDs, binds the
// manager's user and writes its kubeconfig into dir.
func StartControlPlane(dir string, opts ControlPlaneOptions) (*ControlPlane, error) {
	env, err := utils.NewEnvironment()
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &ControlPlane{Env: env, Admin: rest.CopyConfig(cfg)}
	cp.Admin.QPS, cp.Admin.Burst = opts.QPS, opts.Burst
	if cp.Client, err = client.New(cp.Admin, client.Options{Scheme: env.Scheme}); err != nil {
		return nil, cp.StopAfter(fmt.Errorf("creating the admin client: %w", err))
	}
	if cp.MetricsClient, err = rest.HTTPClientFor(cp.Admin); err != nil {
		return nil, cp.StopAfter(fmt.Errorf("creating the metrics client: %w", err))
	}
	if cp.ManagerKubeconfig, err = cp.bindManager(dir, opts.ManagerUser); err != nil {
		return nil, cp.StopAfter(err)
	}
	// envtest runs etcd and kube-apiserver as children of this process.
	cp.APIServerPID, cp.EtcdPID = ChildPID("kube-apiserver"), ChildPID("etcd")
	return cp, nil
}

// Stop stops the control plane.
func (cp *ControlPlane) Stop() error {
	if err := cp.Env.Stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	return nil
}

// StopAfter stops the control plane after a failure and returns both
// errors.
func (cp *ControlPlane) StopAfter(err error) error {
	if stopErr := cp.Stop(); stopErr != nil {
		return fmt.Errorf("%w (and %w)", err, stopErr)
	}
	return err
}

// bindManager creates config/rbac/role.yaml, binds it to user and writes
// that user's kubeconfig into dir.
func (cp *ControlPlane) bindManager(dir, user string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the manager's ClusterRole: %w", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(raw, role); err != nil {
		return "", fmt.Errorf("decoding the manager's ClusterRole: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cp.Client.Create(ctx, role); err != nil {
		return "", fmt.Errorf("creating the manager's ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	binding.Name = user
	if err := cp.Client.Create(ctx, binding); err != nil {
		return "", fmt.Errorf("binding the manager's ClusterRole: %w", err)
	}
	added, err := cp.Env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return "", fmt.Errorf("adding the manager's user: %w", err)
	}
	kubeconfig, err := added.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	return path, nil
}

// Metrics reads the API server's own metrics.
func (cp *ControlPlane) Metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	families, err := Scrape(ctx, cp.MetricsClient, strings.TrimSuffix(cp.Admin.Host, "/")+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return families, nil
}

// Requests reads the API server's request counters.
func (cp *ControlPlane) Requests(ctx context.Context) (Requests, error) {
	families, err := cp.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	return RequestsIn(families), nil
}
