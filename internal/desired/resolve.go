package desired

import (
	"errors"
	"fmt"
	"slices"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// TeamLookup returns the CXTeam of that namespace and name, nil when there
// is none, or an error when it cannot tell (the API server is down).
type TeamLookup func(namespace, name string) (*cxv1alpha1.CXTeam, error)

// Resolution is an objective's teams.
type Resolution struct {
	// Owner is the team that is paged.
	Owner *cxv1alpha1.CXTeam
	// Stakeholders are the stakeholder teams that exist and allow the
	// objective's namespace; they are told.
	Stakeholders []*cxv1alpha1.CXTeam
	// Skipped says, for each stakeholder that is not told, why.
	Skipped []string
}

// Refusal is why an objective cannot be reconciled until a team changes:
// the owner does not exist, or does not allow the objective's namespace.
type Refusal struct {
	// Reason is the Ready condition's reason, e.g. TeamNotFound.
	Reason string
	// Message says what is wrong and what to do, for people.
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// OwnerKey is namespace/name of the team an objective names as owner, the
// key the controller indexes objectives by.
func OwnerKey(obj *cxv1alpha1.CXObjective) string {
	return teamKey(obj, obj.Spec.Owner)
}

// TeamKeys are the keys of every team an objective names, owner first.
func TeamKeys(obj *cxv1alpha1.CXObjective) []string {
	keys := []string{OwnerKey(obj)}
	for _, s := range obj.Spec.Stakeholders {
		if k := teamKey(obj, s); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func teamKey(obj *cxv1alpha1.CXObjective, ref cxv1alpha1.TeamRef) string {
	return teamNamespace(obj, ref) + "/" + ref.Team
}

// teamNamespace is the namespace of a team reference: the objective's own
// unless it names one.
func teamNamespace(obj *cxv1alpha1.CXObjective, ref cxv1alpha1.TeamRef) string {
	if ref.Namespace != "" {
		return ref.Namespace
	}
	return obj.Namespace
}

// Permits says whether a team may be named by objectives of a namespace:
// its own, one of its allowedNamespaces, or any with "*".
func Permits(team *cxv1alpha1.CXTeam, namespace string) bool {
	return namespace == team.Namespace || slices.Contains(team.Spec.AllowedNamespaces, namespace) ||
		slices.Contains(team.Spec.AllowedNamespaces, "*")
}

// TeamChangeReachesObjectives says whether a change from old to new of a
// team can change what the reconcile of an objective that names it writes:
// only the fields Resolve and slo.TeamFrom read do (the department and the
// display name, on the alerts; the namespaces the team allows). Its
// channels, hours and notification policy reach only its own
// AlertmanagerConfig, so editing them does not reconcile every objective of
// the team.
func TeamChangeReachesObjectives(old, new *cxv1alpha1.CXTeam) bool {
	return old.Spec.Department != new.Spec.Department ||
		old.Spec.DisplayName != new.Spec.DisplayName ||
		!slices.Equal(old.Spec.AllowedNamespaces, new.Spec.AllowedNamespaces)
}

// Resolve finds an objective's teams. It returns a *Refusal when the owner
// is missing or refuses the objective's namespace, and the lookup's error
// when the lookup fails. A stakeholder that is missing or refuses is
// skipped, with the reason in Skipped: the owner is paged all the same.
func Resolve(obj *cxv1alpha1.CXObjective, lookup TeamLookup) (Resolution, error) {
	owner, err := resolveTeam(obj, obj.Spec.Owner, lookup)
	if err != nil {
		return Resolution{}, err
	}
	res := Resolution{Owner: owner}
	for _, ref := range obj.Spec.Stakeholders {
		team, err := resolveTeam(obj, ref, lookup)
		var refusal *Refusal
		switch {
		case err == nil:
			res.Stakeholders = append(res.Stakeholders, team)
		case errors.As(err, &refusal):
			res.Skipped = append(res.Skipped, "stakeholder "+refusal.Message)
		default:
			return Resolution{}, err
		}
	}
	return res, nil
}

// resolveTeam runs the checks of one team reference in order.
func resolveTeam(obj *cxv1alpha1.CXObjective, ref cxv1alpha1.TeamRef, lookup TeamLookup) (*cxv1alpha1.CXTeam, error) {
	key := teamKey(obj, ref)
	team, err := lookup(teamNamespace(obj, ref), ref.Team)
	if err != nil {
		return nil, fmt.Errorf("looking up team %s: %w", key, err)
	}
	for _, check := range []func(*cxv1alpha1.CXObjective, string, *cxv1alpha1.CXTeam) *Refusal{teamExists, teamPermits} {
		if r := check(obj, key, team); r != nil {
			return nil, r
		}
	}
	return team, nil
}

func teamExists(_ *cxv1alpha1.CXObjective, key string, team *cxv1alpha1.CXTeam) *Refusal {
	if team != nil {
		return nil
	}
	return &Refusal{Reason: cxv1alpha1.ReasonTeamNotFound,
		Message: fmt.Sprintf("team %s does not exist; the objective is reconciled as soon as it is created", key)}
}

func teamPermits(obj *cxv1alpha1.CXObjective, key string, team *cxv1alpha1.CXTeam) *Refusal {
	if Permits(team, obj.Namespace) {
		return nil
	}
	return &Refusal{Reason: cxv1alpha1.ReasonOwnerNotPermitted,
		Message: fmt.Sprintf("team %s does not allow objectives of namespace %q: add it to the team's spec.allowedNamespaces", key, obj.Namespace)}
}
