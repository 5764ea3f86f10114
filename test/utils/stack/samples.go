package stack

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/utils"
)

// SampleTeams are the teams of config/samples, each with a sink.
var SampleTeams = []string{"checkout", "storefront", "support", "growth", "finance"}

// sampleWebhooks are the keys of the sample Secrets that hold the URL of a
// team's webhook channel, and the team whose sink they point at.
var sampleWebhooks = []struct{ secret, key, team string }{
	{"checkout-channels", "oncall-url", "checkout"},
	{"storefront-channels", "oncall-url", "storefront"},
	{"support-channels", "helpdesk-url", "support"},
	{"growth-channels", "hook-url", "growth"},
	{"finance-channels", "hook-url", "finance"},
}

// Kubectl runs the kubectl of the local control plane (the one `make
// envtest` builds, or the one on the PATH) against the stack, as a person
// would, and returns its combined output.
func (s *Stack) Kubectl(ctx context.Context, args ...string) (string, error) {
	bin := "kubectl"
	if dir, err := utils.AssetsDir(); err == nil {
		bin = filepath.Join(dir, "kubectl")
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", s.kubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ApplySamples applies config/samples into namespace with kubectl, as the
// README does, and points each team's webhook channel at the team's sink
// (the sample Secrets hold example URLs). Channels of other kinds keep their
// example addresses, which Alertmanager cannot reach from here. groupWait and
// groupInterval, when not empty, replace the teams' notification timing:
// tests do not wait 30 seconds for a group.
func (s *Stack) ApplySamples(ctx context.Context, namespace, groupWait, groupInterval string) error {
	if err := s.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	if _, err := s.Kubectl(ctx, "apply", "-n", namespace, "-k", filepath.Join(utils.RepoRoot(), "config", "samples")); err != nil {
		return err
	}
	for _, w := range sampleWebhooks {
		if err := s.CreateSinkSecret(ctx, namespace, w.secret, w.key, w.team); err != nil {
			return err
		}
	}
	if groupWait == "" && groupInterval == "" {
		return nil
	}
	for _, name := range SampleTeams {
		team := &cxv1alpha1.CXTeam{}
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, team); err != nil {
			return fmt.Errorf("reading team %s/%s: %w", namespace, name, err)
		}
		if team.Spec.Notifications == nil {
			team.Spec.Notifications = &cxv1alpha1.NotificationPolicy{}
		}
		team.Spec.Notifications.GroupWait = groupWait
		team.Spec.Notifications.GroupInterval = groupInterval
		if err := s.client.Update(ctx, team); err != nil {
			return fmt.Errorf("shortening the notification timing of team %s/%s: %w", namespace, name, err)
		}
	}
	s.Logf("teams notify after %s, then every %s", groupWait, groupInterval)
	return nil
}
