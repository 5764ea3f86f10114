package utils_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cxops/cx-operator/test/utils"
)

// TestGarbageCollectorDeletesDependents checks that StartGarbageCollector
// makes a bare envtest control plane delete a dependent whose owner was
// deleted with background propagation.
func TestGarbageCollectorDeletesDependents(t *testing.T) {
	env, err := utils.NewEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})

	started := time.Now()
	stop, err := utils.StartGarbageCollector(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("garbage collector running after %s", time.Since(started).Round(time.Millisecond))
	// Registered after env.Stop, so it runs before it.
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stopping the garbage collector: %v", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}

	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gc-owner", Namespace: "default"}}
	if err := c.Create(ctx, owner); err != nil {
		t.Fatalf("creating the owner: %v", err)
	}
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name:      "gc-dependent",
		Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion:         "v1",
			Kind:               "ConfigMap",
			Name:               owner.Name,
			UID:                owner.UID,
			Controller:         ptr.To(true),
			BlockOwnerDeletion: ptr.To(true),
		}},
	}}
	if err := c.Create(ctx, dependent); err != nil {
		t.Fatalf("creating the dependent: %v", err)
	}

	deleted := time.Now()
	if err := c.Delete(ctx, owner, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatalf("deleting the owner: %v", err)
	}
	const timeout = 30 * time.Second
	deadline := time.Now().Add(timeout)
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(dependent), &corev1.ConfigMap{})
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			t.Fatalf("reading the dependent: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dependent still exists %s after its owner was deleted", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("dependent deleted %s after its owner", time.Since(deleted).Round(time.Millisecond))
}
