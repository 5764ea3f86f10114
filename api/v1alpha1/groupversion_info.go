// Package v1alpha1 contains the cx.cxops.io/v1alpha1 API: CXObjective, a
// customer-experience service level objective owned by a team, and CXTeam,
// the team that owns objectives and the channels that reach it.
//
// +kubebuilder:object:generate=true
// +groupName=cx.cxops.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "cx.cxops.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this API with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &CXObjective{}, &CXObjectiveList{}, &CXTeam{}, &CXTeamList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
