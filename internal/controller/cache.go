package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions are the manager's cache settings. The cache drops what the
// controllers never read: managed fields (large on objects written by
// server-side apply) and the copy of the whole object that a client-side
// kubectl apply keeps in an annotation, which would double the size of
// every CXObjective and CXTeam applied that way. It keeps each
// PrometheusRule's spec, some 40 KB decoded, only as a hash: 10,000
// objectives would otherwise hold 400 MB of rules that the controller only
// compares. The controllers write only status and generated objects, never
// an object read from the cache, so nothing dropped here is written back.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: stripUnread,
		ByObject: map[client.Object]cache.ByObject{
			&monitoringv1.PrometheusRule{}: {Transform: hashRuleSpec},
		},
	}
}

// stripUnread drops managed fields and kubectl's last-applied annotation.
func stripUnread(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil {
		dropUnread(obj)
	}
	// Not an object, e.g. a tombstone of a deleted one: kept as it is.
	return in, nil
}

func dropUnread(obj metav1.Object) {
	obj.SetManagedFields(nil)
	if a := obj.GetAnnotations(); a != nil {
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			delete(a, corev1.LastAppliedConfigAnnotation)
			obj.SetAnnotations(a)
		}
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
		return stripUnread(in)
	}
	// A transform by object replaces the default one.
	dropUnread(r)
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
