package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/test/utils"
)

// managerUser is the user the manager runs as, bound to the ClusterRole
// that `make manifests` generates from the RBAC markers and nothing else.
const managerUser = "cx-operator-manager"

// controlPlane is a started envtest control plane and what the benchmark
// needs of it.
type controlPlane struct {
	env *envtest.Environment
	// admin is a system:masters config, with client-side rate limits high
	// enough that the benchmark's own client never waits.
	admin *rest.Config
	// metricsClient reads the API server's /metrics.
	metricsClient *http.Client
	// managerKubeconfig is the kubeconfig file the manager runs with.
	managerKubeconfig string
	// pids are the API server's and etcd's process ids, for CPU time.
	apiserverPID, etcdPID int
}

func startControlPlane(dir string) (*controlPlane, error) {
	env, err := utils.NewEnvironment()
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &controlPlane{env: env, admin: rest.CopyConfig(cfg)}
	cp.admin.QPS, cp.admin.Burst = 10000, 20000
	if cp.metricsClient, err = rest.HTTPClientFor(cp.admin); err != nil {
		return nil, cp.stopWith(fmt.Errorf("building the metrics client: %w", err))
	}
	if cp.managerKubeconfig, err = cp.managerIdentity(dir); err != nil {
		return nil, cp.stopWith(err)
	}
	cp.apiserverPID, cp.etcdPID = childPID("kube-apiserver"), childPID("etcd")
	return cp, nil
}

func (cp *controlPlane) stop() error {
	if err := cp.env.Stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	return nil
}

func (cp *controlPlane) stopWith(err error) error {
	if stopErr := cp.stop(); stopErr != nil {
		return fmt.Errorf("%w; %w", err, stopErr)
	}
	return err
}

// managerIdentity binds the manager's user to the generated ClusterRole
// and writes its kubeconfig.
func (cp *controlPlane) managerIdentity(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the manager's ClusterRole: %w", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		return "", fmt.Errorf("decoding the manager's ClusterRole: %w", err)
	}
	c, err := client.New(cp.admin, client.Options{Scheme: utils.Scheme()})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Create(ctx, role); err != nil {
		return "", fmt.Errorf("creating the manager's ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: managerUser}},
	}
	binding.Name = managerUser
	if err := c.Create(ctx, binding); err != nil {
		return "", fmt.Errorf("binding the manager's ClusterRole: %w", err)
	}
	user, err := cp.env.AddUser(envtest.User{Name: managerUser}, nil)
	if err != nil {
		return "", fmt.Errorf("adding the manager's user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// requestKey is one series of apiserver_request_total, summed over codes
// and scopes.
type requestKey struct {
	resource, subresource, verb string
}

// requestCounts are the API server's request counters at one moment.
type requestCounts map[requestKey]float64

// sub returns c - before, dropping series that did not change.
func (c requestCounts) sub(before requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range c {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (c requestCounts) get(resource, subresource string, verbs ...string) int {
	n := 0.0
	for _, v := range verbs {
		n += c[requestKey{resource, subresource, v}]
	}
	return int(n)
}

// writeVerbs are the verbs that write, as apiserver_request_total names
// them (server-side apply is APPLY).
var writeVerbs = []string{"POST", "PUT", "PATCH", "APPLY", "DELETE"}

// writes is the number of writing requests on a resource.
func (c requestCounts) writes(resource, subresource string) int {
	return c.get(resource, subresource, writeVerbs...)
}

// apiserverMetrics reads the API server's own metrics: the request counts,
// and the etcd writes by resource (GuaranteedUpdate that found nothing to
// change does not reach etcd, so this tells a no-op patch from a write).
func (cp *controlPlane) apiserverMetrics(ctx context.Context) (requestCounts, map[string]float64, error) {
	families, err := scrape(ctx, cp.metricsClient, strings.TrimSuffix(cp.admin.Host, "/")+"/metrics")
	if err != nil {
		return nil, nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	counts := requestCounts{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := labels(m)
		counts[requestKey{l["resource"], l["subresource"], l["verb"]}] += m.GetCounter().GetValue()
	}
	etcd := map[string]float64{}
	for _, m := range families["etcd_request_duration_seconds"].GetMetric() {
		l := labels(m)
		etcd[l["operation"]+" "+l["type"]+l["resource"]] += float64(m.GetHistogram().GetSampleCount())
	}
	return counts, etcd, nil
}

// scrape reads a Prometheus text endpoint.
func scrape(ctx context.Context, hc *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// childPID finds the process id of a direct child of this process by its
// command name, 0 when there is none. envtest starts etcd and the API
// server as children.
func childPID(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := readStat(pid)
		if err == nil && stat.ppid == self && stat.comm == comm {
			return pid
		}
	}
	return 0
}

// procStat is what the benchmark reads from /proc/<pid>/stat.
type procStat struct {
	comm string
	ppid int
	// cpu is user plus system time.
	cpu time.Duration
}

// clockTicks is USER_HZ, the unit of times in /proc/<pid>/stat; 100 on
// every Linux architecture Go supports.
const clockTicks = 100

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, _ := strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return procStat{
		comm: s[open+1 : end], ppid: ppid,
		cpu: time.Duration(utime+stime) * time.Second / clockTicks,
	}, nil
}

// cpuTime is a process's CPU time so far, 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	s, err := readStat(pid)
	if err != nil {
		return 0
	}
	return s.cpu
}
