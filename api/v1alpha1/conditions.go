package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// GetConditions returns the objective's status conditions.
func (in *CXObjective) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the objective's status conditions.
func (in *CXObjective) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// SetObservedGeneration records the generation the status describes.
func (in *CXObjective) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// GetConditions returns the team's status conditions.
func (in *CXTeam) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the team's status conditions.
func (in *CXTeam) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// SetObservedGeneration records the generation the status describes.
func (in *CXTeam) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }
