package routing

import (
	"strconv"
	"strings"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// Slack message templates, in Alertmanager's template language. They read
// only the labels every cx-operator alert has (docs/design.md) and the
// annotations summary and description. Alertmanager prints a missing label
// or annotation as nothing; without a summary the text shows the alert name.
const (
	slackTitle = `[{{ .Status }}] {{ .CommonLabels.severity }}: {{ .CommonLabels.cx_objective_namespace }}/{{ .CommonLabels.cx_objective }}`
	slackText  = `{{ range .Alerts }}*{{ if .Annotations.summary }}{{ .Annotations.summary }}{{ else }}{{ .Labels.alertname }}{{ end }}*` + "\n" +
		`{{ if .Annotations.description }}{{ .Annotations.description }}` + "\n" + `{{ end }}{{ end }}`
)

// pagerDutySeverity maps a receiver's severity to a PagerDuty event
// severity, so that PagerDuty's own urgency rules can tell them apart.
var pagerDutySeverity = map[cxv1alpha1.Severity]string{
	cxv1alpha1.SeverityPage:   "critical",
	cxv1alpha1.SeverityTicket: "warning",
	cxv1alpha1.SeverityNotice: "info",
}

// buildReceivers returns DefaultReceiver and one receiver for each severity
// that at least one channel receives, each with the integrations of those
// channels in the order of spec.channels.
func buildReceivers(p plan) []monitoringv1alpha1.Receiver {
	out := []monitoringv1alpha1.Receiver{{Name: DefaultReceiver}}
	for _, s := range severities {
		r := monitoringv1alpha1.Receiver{Name: string(s)}
		n := 0
		for _, ch := range p.channels {
			if receives(ch, s) {
				addIntegration(&r, ch, s, p.displayName)
				n++
			}
		}
		if n > 0 {
			out = append(out, r)
		}
	}
	return out
}

// addIntegration adds the channel's integration to the receiver of
// severity s. resolve has checked that the channel's block is set. Secret
// references are deep-copied, so that the spec shares no memory with the
// team.
func addIntegration(r *monitoringv1alpha1.Receiver, ch cxv1alpha1.Channel, s cxv1alpha1.Severity, displayName string) {
	switch ch.Type {
	case cxv1alpha1.ChannelSlack:
		r.SlackConfigs = append(r.SlackConfigs, monitoringv1alpha1.SlackConfig{
			SendResolved: ptrTo(true),
			APIURL:       ch.Slack.APIURL.DeepCopy(),
			Channel:      optional(ch.Slack.Channel),
			Title:        ptrTo(slackTitle),
			Text:         ptrTo(slackText),
			Footer:       ptrTo("cx-operator for " + templateLiteral(displayName)),
		})
	case cxv1alpha1.ChannelMSTeams:
		// Workflows webhooks (msteamsv2): Microsoft retired the Office 365
		// connectors that msteams_configs posts to.
		r.MSTeamsV2Configs = append(r.MSTeamsV2Configs, monitoringv1alpha1.MSTeamsV2Config{
			SendResolved: ptrTo(true),
			WebhookURL:   ch.MSTeams.WebhookURL.DeepCopy(),
		})
	case cxv1alpha1.ChannelEmail:
		r.EmailConfigs = append(r.EmailConfigs, monitoringv1alpha1.EmailConfig{
			SendResolved: ptrTo(true),
			To:           ptrTo(ch.Email.To),
			From:         optional(ch.Email.From),
			Smarthost:    optional(ch.Email.Smarthost),
			AuthUsername: optional(ch.Email.AuthUsername),
			AuthPassword: ch.Email.AuthPassword.DeepCopy(),
		})
	case cxv1alpha1.ChannelPagerDuty:
		// A routing key (rather than a service key) selects the Events API v2.
		r.PagerDutyConfigs = append(r.PagerDutyConfigs, monitoringv1alpha1.PagerDutyConfig{
			SendResolved: ptrTo(true),
			RoutingKey:   ch.PagerDuty.RoutingKey.DeepCopy(),
			Severity:     ptrTo(pagerDutySeverity[s]),
		})
	case cxv1alpha1.ChannelWebhook:
		// urlSecret, not url: webhook URLs often carry tokens.
		r.WebhookConfigs = append(r.WebhookConfigs, monitoringv1alpha1.WebhookConfig{
			SendResolved: ptrTo(true),
			URLSecret:    ch.Webhook.URL.DeepCopy(),
		})
	}
}

// templateLiteral returns s as Alertmanager template text that prints s:
// s itself, or, if s holds a template action, s as a quoted string action.
func templateLiteral(s string) string {
	if !strings.Contains(s, "{{") && !strings.Contains(s, "}}") {
		return s
	}
	return "{{ " + strconv.Quote(s) + " }}"
}

// ptrTo returns a pointer to a new copy of v.
func ptrTo[T any](v T) *T { return &v }

// optional returns nil for the empty string: the integrations' optional
// strings have a minimum length of 1.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
