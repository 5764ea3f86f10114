package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions are the manager's cache settings. The generated objects carry
// large managed fields from server-side apply, which the controllers never
// read, so the cache drops them; and it keeps each PrometheusRule's spec,
// some 40 KB decoded, only as a hash: 10,000 objectives would otherwise
// hold 400 MB of rules that the controller only compares.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&monitoringv1.PrometheusRule{}: {Transform: hashRuleSpec},
		},
	}
}

// liveSpecHash is the annotation, in the cache only (never written), that
// holds the hash of a cached PrometheusRule's spec, which the cache does not
// keep. A hand edit of the spec changes it, so the edit is still reverted.
const liveSpecHash = "cx-operator.internal/spec-hash"

// hashRuleSpec keeps a PrometheusRule's spec in the cache as its hash.
func hashRuleSpec(in any) (any, error) {
	r, ok := in.(*monitoringv1.PrometheusRule)
	if !ok {
		return in, nil
	}
	r.SetManagedFields(nil)
	if _, done := r.GetAnnotations()[liveSpecHash]; done && r.Spec.Groups == nil {
		// client-go passes the objects of the initial list through the
		// transform twice.
		return r, nil
	}
	a := r.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[liveSpecHash] = specHash(r.Spec)
	r.SetAnnotations(a)
	r.Spec = monitoringv1.PrometheusRuleSpec{}
	return r, nil
}

// specHash is the hash of a spec's JSON.
func specHash(spec monitoringv1.PrometheusRuleSpec) string {
	b, err := json.Marshal(spec)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
