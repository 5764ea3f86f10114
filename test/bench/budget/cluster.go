package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
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

// managerUser is who the manager authenticates as. It is bound to the
// ClusterRole generated from the RBAC markers, so that a permission the
// reader lacks fails here as it would in a cluster.
const managerUser = "cx-operator-budget-bench"

// cluster is the envtest control plane of one run.
type cluster struct {
	env *envtest.Environment
	// admin is a system:masters config whose client-side rate limit never
	// holds the benchmark back.
	admin *rest.Config
	// c is a client with admin rights.
	c client.Client
	// metrics reads the API server's /metrics.
	metrics *http.Client
	// kubeconfig is the file the manager runs with.
	kubeconfig string
	// apiserverPID and etcdPID are the control plane's processes.
	apiserverPID, etcdPID int
}

func startCluster(dir string) (*cluster, error) {
	env, err := utils.NewEnvironment()
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cl := &cluster{env: env, admin: rest.CopyConfig(cfg)}
	cl.admin.QPS, cl.admin.Burst = 5000, 10000
	if cl.c, err = client.New(cl.admin, client.Options{Scheme: env.Scheme}); err != nil {
		return nil, cl.stopAfter(fmt.Errorf("creating the admin client: %w", err))
	}
	if cl.metrics, err = rest.HTTPClientFor(cl.admin); err != nil {
		return nil, cl.stopAfter(fmt.Errorf("creating the metrics client: %w", err))
	}
	if cl.kubeconfig, err = cl.bindManager(dir); err != nil {
		return nil, cl.stopAfter(err)
	}
	cl.apiserverPID, cl.etcdPID = childNamed("kube-apiserver"), childNamed("etcd")
	return cl, nil
}

func (cl *cluster) stop() error {
	if err := cl.env.Stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	return nil
}

// stopAfter stops the control plane after a failure and returns both
// errors.
func (cl *cluster) stopAfter(err error) error {
	if stopErr := cl.stop(); stopErr != nil {
		return fmt.Errorf("%w (and %w)", err, stopErr)
	}
	return err
}

// bindManager creates config/rbac/role.yaml, binds it to managerUser and
// writes that user's kubeconfig into dir.
func (cl *cluster) bindManager(dir string) (string, error) {
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
	if err := cl.c.Create(ctx, role); err != nil {
		return "", fmt.Errorf("creating the manager's ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: managerUser}},
	}
	binding.Name = managerUser
	if err := cl.c.Create(ctx, binding); err != nil {
		return "", fmt.Errorf("binding the manager's ClusterRole: %w", err)
	}
	user, err := cl.env.AddUser(envtest.User{Name: managerUser}, nil)
	if err != nil {
		return "", fmt.Errorf("adding the manager's user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	return path, nil
}

// requestKey is one series of apiserver_request_total, summed over response
// codes, scopes and components.
type requestKey struct {
	resource, subresource, verb string
}

func (k requestKey) String() string {
	s := k.verb + " " + k.resource
	if k.subresource != "" {
		s += "/" + k.subresource
	}
	return s
}

// requests are the API server's request counters at one moment.
type requests map[requestKey]float64

// minus is r - before, without the series that did not move.
func (r requests) minus(before requests) requests {
	out := requests{}
	for k, v := range r {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// isWrite says whether a verb, as apiserver_request_total spells it,
// changes something (server-side apply is APPLY).
func isWrite(verb string) bool {
	switch verb {
	case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION":
		return true
	}
	return false
}

// writes counts the writing requests on resource/subresource.
func (r requests) writes(resource, subresource string) int {
	n := 0.0
	for k, v := range r {
		if k.resource == resource && k.subresource == subresource && isWrite(k.verb) {
			n += v
		}
	}
	return int(n)
}

// otherWrites are the writing requests on anything but the statuses of
// objectives and teams, as "VERB resource/subresource" → count.
func (r requests) otherWrites() map[string]int {
	out := map[string]int{}
	for k, v := range r {
		if !isWrite(k.verb) || (k.subresource == "status" && (k.resource == "cxobjectives" || k.resource == "cxteams")) {
			continue
		}
		out[k.String()] += int(v)
	}
	return out
}

// requestCounts reads apiserver_request_total from the API server.
func (cl *cluster) requestCounts(ctx context.Context) (requests, error) {
	families, err := scrape(ctx, cl.metrics, strings.TrimSuffix(cl.admin.Host, "/")+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	out := requests{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := labelMap(m)
		out[requestKey{l["resource"], l["subresource"], l["verb"]}] += m.GetCounter().GetValue()
	}
	return out, nil
}

// scrape reads a Prometheus text exposition.
func scrape(ctx context.Context, hc *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
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

func labelMap(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// sortedCounts formats a count map as "key n, key n", largest first.
func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// childNamed is the process id of this process's child with the given
// command name (envtest runs etcd and kube-apiserver as children), or 0.
func childNamed(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.ppid == os.Getpid() && st.comm == comm {
			return pid
		}
	}
	return 0
}

// procStat is what the benchmark needs of /proc/<pid>/stat.
type procStat struct {
	comm string
	ppid int
	// cpu is utime + stime.
	cpu time.Duration
}

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ), 100 on
// every architecture Linux runs Go on.
const userHZ = 100

func readProcStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(raw)
	// The command name is in parentheses and may itself hold spaces and
	// parentheses; the fields after the last ')' are plain numbers.
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[closing+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return procStat{comm: s[open+1 : closing], ppid: ppid, cpu: time.Duration(utime+stime) * time.Second / userHZ}, nil
}

// cpuOf is a process's CPU time so far; 0 when unknown.
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.cpu
}
