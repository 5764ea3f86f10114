package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// managerUser is who the manager authenticates as. It is bound to the
// ClusterRole generated from the RBAC markers, so that a permission the
// reader lacks fails here as it would in a cluster.
const managerUser = "cx-operator-budget-bench"

// startCluster starts the control plane of one run, with an admin
// client-side rate limit that never holds the benchmark back.
func startCluster(dir string) (*benchkit.ControlPlane, error) {
	return benchkit.StartControlPlane(dir, benchkit.ControlPlaneOptions{ManagerUser: managerUser, QPS: 5000, Burst: 10000})
}

// otherWrites are the writing requests on anything but the statuses of
// objectives and teams, as "VERB resource/subresource" → count.
func otherWrites(r benchkit.Requests) map[string]int {
	out := map[string]int{}
	for k, v := range r {
		if !benchkit.IsWrite(k.Verb) || (k.Subresource == "status" && (k.Resource == "cxobjectives" || k.Resource == "cxteams")) {
			continue
		}
		out[k.String()] += int(v)
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
