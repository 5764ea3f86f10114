package main

import (
	"context"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// managerUser is the user the manager runs as, bound to the ClusterRole
// that `make manifests` generates from the RBAC markers and nothing else.
const managerUser = "cx-operator-manager"

// startControlPlane starts a fresh control plane for one size, with
// client-side rate limits high enough that the benchmark's own client never
// waits.
func startControlPlane(dir string) (*benchkit.ControlPlane, error) {
	return benchkit.StartControlPlane(dir, benchkit.ControlPlaneOptions{ManagerUser: managerUser, QPS: 10000, Burst: 20000})
}

// apiserverMetrics reads the API server's own metrics: the request counts,
// and the etcd writes by resource (GuaranteedUpdate that found nothing to
// change does not reach etcd, so this tells a no-op patch from a write).
func apiserverMetrics(ctx context.Context, cp *benchkit.ControlPlane) (benchkit.Requests, map[string]float64, error) {
	families, err := cp.Metrics(ctx)
	if err != nil {
		return nil, nil, err
	}
	etcd := map[string]float64{}
	for _, m := range families["etcd_request_duration_seconds"].GetMetric() {
		l := benchkit.Labels(m)
		etcd[l["operation"]+" "+l["type"]+l["resource"]] += float64(m.GetHistogram().GetSampleCount())
	}
	return benchkit.RequestsIn(families), etcd, nil
}
