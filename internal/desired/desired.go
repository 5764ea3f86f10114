// Package desired builds the prometheus-operator objects that the controller
// applies and that `kubectl cx render` prints, from CXObjectives and CXTeams:
// one code path, so that what a pipeline renders is what the cluster gets.
// It resolves an objective's teams the way the controller does, through a
// lookup function, and talks to no API server itself.
package desired

import (
	"errors"
	"maps"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/routing"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/slo"
)

// DefaultSelectorLabels are put on every generated PrometheusRule and
// AlertmanagerConfig unless the manager is told otherwise, so that a
// Prometheus ruleSelector and an Alertmanager alertmanagerConfigSelector can
// pick them: matchLabels {app.kubernetes.io/part-of: cx-operator}.
var DefaultSelectorLabels = map[string]string{"app.kubernetes.io/part-of": "cx-operator"}

// Options are the manager's settings that shape the generated objects.
type Options struct {
	// RuleLabels are put on every PrometheusRule.
	RuleLabels map[string]string
	// ConfigLabels are put on every AlertmanagerConfig.
	ConfigLabels map[string]string
}

// DefaultOptions puts DefaultSelectorLabels on both kinds.
func DefaultOptions() Options {
	return Options{RuleLabels: maps.Clone(DefaultSelectorLabels), ConfigLabels: maps.Clone(DefaultSelectorLabels)}
}

// InvalidError says that a spec passed admission but cannot become the
// objects it asks for; only a change to the spec helps. Errors name fields.
type InvalidError struct {
	// Errors are the problems, each with its field path.
	Errors field.ErrorList
}

func (e *InvalidError) Error() string { return e.Errors.ToAggregate().Error() }

// IsInvalid says whether err is, or wraps, an InvalidError of this package,
// of internal/slo or of internal/routing.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie) || slo.IsInvalid(err) || routing.IsInvalid(err)
}

// RuleName is the name of an objective's PrometheusRule, in its namespace.
func RuleName(objective string) string { return "cx-" + objective }

// PrometheusRule returns the PrometheusRule of an objective whose teams were
// resolved: its rules, its labels and the controller reference to the
// objective. Everything of the objective that Prometheus parses was
// checked; ValidateRule checks the generated rules as a whole.
func PrometheusRule(obj *cxv1alpha1.CXObjective, res Resolution, o Options) (*monitoringv1.PrometheusRule, error) {
	stakeholders := make([]slo.Team, 0, len(res.Stakeholders))
	for _, t := range res.Stakeholders {
		stakeholders = append(stakeholders, slo.TeamFrom(t))
	}
	model, err := slo.FromObjective(obj, slo.TeamFrom(res.Owner), stakeholders)
	if err != nil {
		return nil, err
	}
	name := RuleName(obj.Name)
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return nil, &InvalidError{Errors: field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), obj.Name,
			"the PrometheusRule "+name+" would not be a valid name: "+msgs[0])}}
	}
	spec := rules.Generate(model)
	labels := maps.Clone(o.RuleLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[cxv1alpha1.LabelManagedBy] = cxv1alpha1.ManagedByValue
	labels[cxv1alpha1.LabelObjective] = obj.Name
	return &monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: obj.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef(obj, "CXObjective")},
		},
		Spec: spec,
	}, nil
}

// ValidateRule checks a generated PrometheusRule the way Prometheus checks
// the rules of a file it loads. The controller runs it before it writes a
// rule, and `kubectl cx validate` on every rule; both report a failure as an
// InvalidSpec of the objective.
func ValidateRule(rule *monitoringv1.PrometheusRule) error {
	if err := rules.Validate(rule.Spec); err != nil {
		return &InvalidError{Errors: field.ErrorList{field.Invalid(field.NewPath("spec"), rule.Name, err.Error())}}
	}
	return nil
}

// AlertmanagerConfig returns the AlertmanagerConfig of a team, in its
// namespace, with the controller reference to the team.
func AlertmanagerConfig(team *cxv1alpha1.CXTeam, o Options) (*monitoringv1alpha1.AlertmanagerConfig, error) {
	spec, err := routing.Build(team)
	if err != nil {
		return nil, err
	}
	labels := maps.Clone(o.ConfigLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[cxv1alpha1.LabelManagedBy] = cxv1alpha1.ManagedByValue
	labels[cxv1alpha1.LabelTeam] = team.Name
	return &monitoringv1alpha1.AlertmanagerConfig{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1alpha1.SchemeGroupVersion.String(), Kind: monitoringv1alpha1.AlertmanagerConfigKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: routing.ConfigName(team.Name), Namespace: team.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef(team, "CXTeam")},
		},
		Spec: spec,
	}, nil
}

func controllerRef(obj metav1.Object, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         cxv1alpha1.GroupVersion.String(),
		Kind:               kind,
		Name:               obj.GetName(),
		UID:                obj.GetUID(),
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}
