package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cxops/cx-operator/internal/desired"
)

// FieldOwner is the field manager of everything cx-operator applies.
const FieldOwner = "cx-operator"

// upToDate says whether the live object already holds what the desired one
// says, so that an unchanged objective costs no write.
func upToDate(live, want client.Object, liveSpec, wantSpec any) bool {
	for k, v := range want.GetLabels() {
		if live.GetLabels()[k] != v {
			return false
		}
	}
	if !hasOwnerRefs(live, want.GetOwnerReferences()) {
		return false
	}
	return equality.Semantic.DeepEqual(liveSpec, wantSpec)
}

func hasOwnerRefs(obj client.Object, refs []metav1.OwnerReference) bool {
	for _, want := range refs {
		found := false
		for _, have := range obj.GetOwnerReferences() {
			found = found || (have.UID == want.UID && have.Kind == want.Kind && have.APIVersion == want.APIVersion)
		}
		if !found {
			return false
		}
	}
	return true
}

// ensureOwned refuses to take over an object of the generated name that
// another owner controls, or that nothing controls and that cx-operator
// did not create.
func ensureOwned(live client.Object, owner metav1.Object, kind string) error {
	ref := metav1.GetControllerOf(live)
	if ref != nil && ref.UID == owner.GetUID() {
		return nil
	}
	return &conflictError{kind: kind, namespace: live.GetNamespace(), name: live.GetName()}
}

// apply writes a generated object with server-side apply under FieldOwner,
// taking over fields that a hand edit changed.
func apply(ctx context.Context, c client.Client, obj runtime.Object) error {
	u, err := desired.Payload(obj)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// getLive reads the live object of key into obj, and says whether it exists.
func getLive(ctx context.Context, c client.Reader, key client.ObjectKey, obj client.Object) (bool, error) {
	err := c.Get(ctx, key, obj)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading %s: %w", key, err)
	}
	return true, nil
}
