package routing

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

func TestTopRoute(t *testing.T) {
	spec := mustBuild(t, newTeam("checkout", withChannels(webhookChannel("hook", page))))
	r := spec.Route
	tests := []struct {
		name string
		ok   bool
	}{
		{"the top route takes the team's alerts by cx_team",
			reflect.DeepEqual(r.Matchers, []monitoringv1alpha1.Matcher{{Name: "cx_team", Value: "checkout", MatchType: "="}})},
		{"the top route groups by objective and severity, so each breach notifies once per severity",
			reflect.DeepEqual(r.GroupBy, []string{"cx_objective", "cx_objective_namespace", "severity"})},
		{"the top route sends what no child route takes to the default receiver", r.Receiver == DefaultReceiver},
		{"the default receiver has no integrations, so unmatched alerts are dropped",
			receiverNamed(spec, DefaultReceiver) != nil && integrationCount(*receiverNamed(spec, DefaultReceiver)) == 0},
		{"the top route leaves the namespace matcher to prometheus-operator",
			!slices.ContainsFunc(r.Matchers, func(m monitoringv1alpha1.Matcher) bool { return m.Name == "namespace" })},
		{"the top route does not set continue, which prometheus-operator forces", !r.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("top route: %+v", r)
			}
		})
	}
}

func TestRoutingOfAlerts(t *testing.T) {
	spec := mustBuild(t, newTeam("checkout", withChannels(webhookChannel("hook", page, ticket))))
	tests := []struct {
		name   string
		alert  labels
		wantTo string
	}{
		{"a page goes to the page receiver", alert(), "page"},
		{"a ticket goes to the ticket receiver", alert("severity", "ticket"), "ticket"},
		{"a notice, which no channel receives, falls to the default receiver and is dropped",
			alert("severity", "notice", "cx_owner_team", "storefront"), DefaultReceiver},
		{"an alert without a severity falls to the default receiver", alert("severity", ""), DefaultReceiver},
		{"an alert of another team is not this team's", alert("cx_team", "storefront"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := routeOf(t, spec, tt.alert); got != tt.wantTo {
				t.Errorf("alert %v went to %q, want %q", tt.alert, got, tt.wantTo)
			}
		})
	}
}

func TestBusinessHours(t *testing.T) {
	hook := withChannels(webhookChannel("hook", page, ticket, notice))
	tests := []struct {
		name string
		team *cxv1alpha1.CXTeam
		held []cxv1alpha1.Severity
	}{
		{"business hours put the interval on the ticket and notice routes but not on the page route",
			newTeam("t", hook, withBusinessHours("09:00", "17:00", weekdays...)), []cxv1alpha1.Severity{ticket, notice}},
		{"pagesInHoursOnly puts the interval on the page route too",
			newTeam("t", hook, withBusinessHours("09:00", "17:00", weekdays...), withPagesInHoursOnly()),
			[]cxv1alpha1.Severity{page, ticket, notice}},
		{"a 24x7 team gets no time interval", newTeam("t", hook, with24x7()), nil},
		{"a team without hours is a 24x7 team", newTeam("t", hook), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustBuild(t, tt.team)
			for _, s := range severities {
				var want []string
				if slices.Contains(tt.held, s) {
					want = []string{BusinessHoursInterval}
				}
				if got := routeTo(t, spec, string(s)).ActiveTimeIntervals; !reflect.DeepEqual(got, want) {
					t.Errorf("the %s route has active time intervals %v, want %v", s, got, want)
				}
			}
			if got := len(spec.MuteTimeIntervals); (got == 1) != (len(tt.held) > 0) || got > 1 {
				t.Errorf("the spec has %d time intervals: %+v", got, spec.MuteTimeIntervals)
			}
			for _, r := range childRoutes(t, spec) {
				if len(r.MuteTimeIntervals) > 0 {
					t.Errorf("the %s route mutes %v; business hours are active intervals", r.Receiver, r.MuteTimeIntervals)
				}
			}
		})
	}
}

func TestBusinessHoursInTime(t *testing.T) {
	office := newTeam("office", withChannels(webhookChannel("hook", page, ticket, notice)),
		withBusinessHours("09:00", "17:30", weekdays...))
	weekend := newTeam("weekend", withChannels(webhookChannel("hook", ticket)),
		withBusinessHours("00:00", "24:00", "saturday", "sunday"))
	tests := []struct {
		name     string
		team     *cxv1alpha1.CXTeam
		severity cxv1alpha1.Severity
		at       time.Time
		sends    bool
	}{
		{"a ticket on Monday at 09:00 UTC goes out at once", office, ticket, utc(time.Monday, "09:00"), true},
		{"a ticket on Monday at 08:59 UTC waits for business hours", office, ticket, utc(time.Monday, "08:59"), false},
		{"a notice on Friday at 17:29 UTC goes out at once", office, notice, utc(time.Friday, "17:29"), true},
		{"a ticket on Friday at 17:30 UTC waits, as business hours end then", office, ticket, utc(time.Friday, "17:30"), false},
		{"a ticket on Saturday at noon waits for Monday", office, ticket, utc(time.Saturday, "12:00"), false},
		{"a page on Sunday at 03:00 UTC goes out at once", office, page, utc(time.Sunday, "03:00"), true},
		{"an end of 24:00 covers the last minute of the day", weekend, ticket, utc(time.Sunday, "23:59"), true},
		{"a weekend team takes tickets on Saturday, though Alertmanager's week starts on Sunday",
			weekend, ticket, utc(time.Saturday, "00:00"), true},
		{"a weekend team takes no tickets on Monday", weekend, ticket, utc(time.Monday, "12:00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustBuild(t, tt.team)
			r := routeTo(t, spec, string(tt.severity))
			if got := activeAt(t, spec, r.ActiveTimeIntervals, tt.at); got != tt.sends {
				t.Errorf("at %s the %s route sends: %v, want %v (intervals %+v)",
					tt.at.Format(time.RFC1123), tt.severity, got, tt.sends, spec.MuteTimeIntervals)
			}
		})
	}
}

func TestWeekdayRanges(t *testing.T) {
	tests := []struct {
		name string
		days []cxv1alpha1.Weekday
		want []monitoringv1alpha1.WeekdayRange
	}{
		{"monday to friday become one range", weekdays, []monitoringv1alpha1.WeekdayRange{"monday:friday"}},
		{"days apart stay apart, in Alertmanager's week order",
			[]cxv1alpha1.Weekday{"saturday", "thursday", "monday", "tuesday"},
			[]monitoringv1alpha1.WeekdayRange{"monday:tuesday", "thursday", "saturday"}},
		{"a weekend is two days, as a range cannot run from Saturday to Sunday",
			[]cxv1alpha1.Weekday{"saturday", "sunday"}, []monitoringv1alpha1.WeekdayRange{"sunday", "saturday"}},
		{"the whole week is one range",
			[]cxv1alpha1.Weekday{"friday", "monday", "sunday", "tuesday", "saturday", "thursday", "wednesday"},
			[]monitoringv1alpha1.WeekdayRange{"sunday:saturday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustBuild(t, newTeam("t", withChannels(webhookChannel("hook", ticket)),
				withBusinessHours("08:00", "18:00", tt.days...)))
			got := spec.MuteTimeIntervals[0].TimeIntervals[0].Weekdays
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("weekdays %v became %v, want %v", tt.days, got, tt.want)
			}
		})
	}
}

func TestReceivers(t *testing.T) {
	tests := []struct {
		name  string
		team  *cxv1alpha1.CXTeam
		check func(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec)
	}{
		{"a channel receiving page and ticket appears in both receivers",
			newTeam("checkout", withChannels(slackChannel("chat", "", ticket, notice), webhookChannel("hook", page, ticket))),
			func(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) {
				want := map[string][2]int{"page": {0, 1}, "ticket": {1, 1}, "notice": {1, 0}} // slack, webhook
				for name, n := range want {
					r := receiverNamed(spec, name)
					if r == nil || len(r.SlackConfigs) != n[0] || len(r.WebhookConfigs) != n[1] || integrationCount(*r) != n[0]+n[1] {
						t.Errorf("receiver %s: %+v, want %d slack and %d webhook integrations", name, r, n[0], n[1])
					}
				}
			}},
		{"a severity that no channel receives gets neither route nor receiver",
			newTeam("finance", withChannels(webhookChannel("hook", notice))),
			func(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) {
				if got := receiverNames(spec); got != "default,notice" {
					t.Errorf("receivers %s, want default,notice", got)
				}
				if n := len(childRoutes(t, spec)); n != 1 || routeTo(t, spec, "notice") == nil {
					t.Errorf("%d child routes, want only the notice route", n)
				}
			}},
		{"receivers and routes come in the order page, ticket, notice",
			newTeam("t", withChannels(webhookChannel("hook", notice, ticket, page))),
			func(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) {
				var routes []string
				for _, r := range childRoutes(t, spec) {
					routes = append(routes, r.Receiver)
				}
				if got := receiverNames(spec) + " " + strings.Join(routes, ","); got != "default,page,ticket,notice page,ticket,notice" {
					t.Errorf("receivers and routes: %s", got)
				}
			}},
		{"integrations of one kind keep the order of spec.channels",
			newTeam("t", withChannels(webhookChannel("second", page), webhookChannel("first", page))),
			func(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) {
				var keys []string
				for _, w := range receiverNamed(spec, "page").WebhookConfigs {
					keys = append(keys, w.URLSecret.Key)
				}
				if got := strings.Join(keys, ","); got != "second-url,first-url" {
					t.Errorf("webhook order %s, want second-url,first-url", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, mustBuild(t, tt.team)) })
	}
}

func TestUnrouted(t *testing.T) {
	tests := []struct {
		name string
		team *cxv1alpha1.CXTeam
		want []cxv1alpha1.Severity
	}{
		{"a team that only takes notices leaves pages and tickets unrouted",
			newTeam("finance", withChannels(webhookChannel("hook", notice))), []cxv1alpha1.Severity{page, ticket}},
		{"a team whose channels take every severity leaves nothing unrouted",
			newTeam("t", withChannels(webhookChannel("a", page), slackChannel("b", "", ticket, notice))), nil},
		{"a team without channels leaves every severity unrouted", newTeam("t"), []cxv1alpha1.Severity{page, ticket, notice}},
		{"a nil team has nothing to route", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unrouted(tt.team); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unrouted = %v, want %v", got, tt.want)
			}
			if tt.team == nil {
				return
			}
			spec := mustBuild(t, tt.team)
			for _, s := range severities {
				unrouted := slices.Contains(tt.want, s)
				if (routeTo(t, spec, string(s)) == nil) != unrouted || (receiverNamed(spec, string(s)) == nil) != unrouted {
					t.Errorf("severity %s: unrouted %v, but the spec disagrees: receivers %s", s, unrouted, receiverNames(spec))
				}
			}
		})
	}
}

func TestIntegrations(t *testing.T) {
	onlySmarthost := cxv1alpha1.EmailChannel{To: "desk@shop.example.com"}
	tests := []struct {
		name    string
		channel cxv1alpha1.Channel
		check   func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver)
	}{
		{"a slack channel becomes a slack integration with its channel override", slackChannel("chat", "#oncall", page),
			func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				c := r.SlackConfigs[0]
				if !reflect.DeepEqual(c.APIURL, &ch.Slack.APIURL) || c.Channel == nil || *c.Channel != "#oncall" {
					t.Errorf("slack: %+v", c)
				}
				if c.Title == nil || c.Text == nil || c.Footer == nil {
					t.Errorf("slack: title, text and footer should be set: %+v", c)
				}
			}},
		{"a slack channel without an override leaves the webhook's default channel", slackChannel("chat", "", page),
			func(t *testing.T, _ cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				if c := r.SlackConfigs[0]; c.Channel != nil {
					t.Errorf("slack channel %q, want none", *c.Channel)
				}
			}},
		{"an msteams channel becomes an msteams integration", msteamsChannel("teams", page),
			func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				if c := r.MSTeamsV2Configs[0]; !reflect.DeepEqual(*c.WebhookURL, ch.MSTeams.WebhookURL) {
					t.Errorf("msteams: %+v", c)
				}
			}},
		{"an email channel carries its addresses, smarthost, user and password reference", emailChannel("mail", fullEmail(), page),
			func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				c, e := r.EmailConfigs[0], ch.Email
				got := fmt.Sprint(deref(c.To), deref(c.From), deref(c.Smarthost), deref(c.AuthUsername))
				if want := fmt.Sprint(e.To, e.From, e.Smarthost, e.AuthUsername); got != want || !reflect.DeepEqual(c.AuthPassword, e.AuthPassword) {
					t.Errorf("email: %s and %v, want %s and %v", got, c.AuthPassword, want, e.AuthPassword)
				}
			}},
		{"an email channel with only an address leaves the rest to Alertmanager's global settings", emailChannel("mail", onlySmarthost, page),
			func(t *testing.T, _ cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				c := r.EmailConfigs[0]
				if deref(c.To) != onlySmarthost.To || c.From != nil || c.Smarthost != nil || c.AuthUsername != nil || c.AuthPassword != nil {
					t.Errorf("email: %+v", c)
				}
			}},
		{"a pagerduty channel sends Events API v2 events with its routing key", pagerdutyChannel("pager", page),
			func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				if c := r.PagerDutyConfigs[0]; !reflect.DeepEqual(c.RoutingKey, &ch.PagerDuty.RoutingKey) || c.ServiceKey != nil || c.URL != nil {
					t.Errorf("pagerduty: %+v", c)
				}
			}},
		{"a webhook channel reads its URL from the Secret", webhookChannel("hook", page),
			func(t *testing.T, ch cxv1alpha1.Channel, r monitoringv1alpha1.Receiver) {
				if c := r.WebhookConfigs[0]; !reflect.DeepEqual(c.URLSecret, &ch.Webhook.URL) || c.URL != nil {
					t.Errorf("webhook: %+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustBuild(t, newTeam("t", withChannels(tt.channel)))
			r := receiverNamed(spec, "page")
			if r == nil || integrationCount(*r) != 1 {
				t.Fatalf("want one integration in the page receiver: %+v", r)
			}
			if got := sendResolved(*r); !reflect.DeepEqual(got, []bool{true}) {
				t.Errorf("sendResolved %v, want true", got)
			}
			tt.check(t, tt.channel, *r)
		})
	}
}

// sendResolved lists sendResolved of every integration, false when unset.
func sendResolved(r monitoringv1alpha1.Receiver) []bool {
	var out []bool
	add := func(b *bool) { out = append(out, b != nil && *b) }
	for _, c := range r.SlackConfigs {
		add(c.SendResolved)
	}
	for _, c := range r.MSTeamsV2Configs {
		add(c.SendResolved)
	}
	for _, c := range r.EmailConfigs {
		add(c.SendResolved)
	}
	for _, c := range r.PagerDutyConfigs {
		add(c.SendResolved)
	}
	for _, c := range r.WebhookConfigs {
		add(c.SendResolved)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestPagerDutySeverity(t *testing.T) {
	spec := mustBuild(t, newTeam("t", withChannels(pagerdutyChannel("pager", page, ticket, notice))))
	for _, tt := range []struct {
		name     string
		receiver string
		want     string
	}{
		{"a page is a critical PagerDuty event", "page", "critical"},
		{"a ticket is a warning PagerDuty event", "ticket", "warning"},
		{"a notice is an info PagerDuty event", "notice", "info"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := deref(receiverNamed(spec, tt.receiver).PagerDutyConfigs[0].Severity); got != tt.want {
				t.Errorf("severity %s, want %s", got, tt.want)
			}
		})
	}
}

// Stand-ins for the fields of Alertmanager's template data that the Slack
// templates read.
type (
	templateAlert struct{ Labels, Annotations map[string]string }
	templateData  struct {
		Status       string
		CommonLabels map[string]string
		Alerts       []templateAlert
	}
)

// execute runs text as Alertmanager runs a notification template.
func execute(t *testing.T, text string, data templateData) string {
	t.Helper()
	tmpl, err := template.New("").Option("missingkey=zero").Parse(text)
	if err != nil {
		t.Fatalf("parsing %q: %v", text, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("executing %q: %v", text, err)
	}
	return b.String()
}

func TestSlackMessage(t *testing.T) {
	data := templateData{
		Status:       "firing",
		CommonLabels: alert(),
		Alerts: []templateAlert{
			{Labels: alert(), Annotations: map[string]string{"summary": "Checkout errors burn the budget", "description": "14x in 1h"}},
			{Labels: alert("alertname", "CXErrorBudgetExhaustion")},
		},
	}
	slackOf := func(t *testing.T, team *cxv1alpha1.CXTeam) monitoringv1alpha1.SlackConfig {
		return receiverNamed(mustBuild(t, team), "page").SlackConfigs[0]
	}
	chat := withChannels(slackChannel("chat", "", page))
	tests := []struct {
		name string
		text func(t *testing.T) string
		want string
	}{
		{"the title names the status, severity and objective",
			func(t *testing.T) string { return execute(t, deref(slackOf(t, newTeam("t", chat)).Title), data) },
			"[firing] page: shop/checkout-errors"},
		{"the text shows each alert's summary and description, or its name",
			func(t *testing.T) string { return execute(t, deref(slackOf(t, newTeam("t", chat)).Text), data) },
			"*Checkout errors burn the budget*\n14x in 1h\n*CXErrorBudgetExhaustion*\n"},
		{"the footer names the team by its display name",
			func(t *testing.T) string {
				return execute(t, deref(slackOf(t, newTeam("t", chat, withDisplayName("Checkout squad"))).Footer), data)
			},
			"cx-operator for Checkout squad"},
		{"a team without a display name is called by its name",
			func(t *testing.T) string {
				return execute(t, deref(slackOf(t, newTeam("checkout", chat)).Footer), data)
			},
			"cx-operator for checkout"},
		{"a display name with template braces is printed as it is",
			func(t *testing.T) string {
				return execute(t, deref(slackOf(t, newTeam("t", chat, withDisplayName(`Ops {{ "}}" }} "team"`))).Footer), data)
			},
			`cx-operator for Ops {{ "}}" }} "team"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.text(t); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	hook := withChannels(webhookChannel("hook", page, ticket, notice))
	type timings struct{ groupWait, groupInterval, page, ticket, notice string }
	tests := []struct {
		name string
		team *cxv1alpha1.CXTeam
		want timings
	}{
		{"without notifications the documented defaults land on the routes",
			newTeam("t", hook), timings{"30s", "5m", "1h", "24h", "24h"}},
		{"notification overrides land on the routes",
			newTeam("t", hook, withNotifications(cxv1alpha1.NotificationPolicy{
				GroupWait: "1m", GroupInterval: "10m", PageRepeatInterval: "30m", TicketRepeatInterval: "3d"})),
			timings{"1m", "10m", "30m", "3d", "3d"}},
		{"an override of one setting keeps the defaults of the others",
			newTeam("t", hook, withNotifications(cxv1alpha1.NotificationPolicy{PageRepeatInterval: "2h"})),
			timings{"30s", "5m", "2h", "24h", "24h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustBuild(t, tt.team)
			repeat := func(s cxv1alpha1.Severity) string {
				r := routeTo(t, spec, string(s))
				if r.GroupWait != nil || r.GroupInterval != nil {
					t.Errorf("the %s route should inherit grouping from the top route: %+v", s, r)
				}
				return durationText(r.RepeatInterval)
			}
			got := timings{durationText(spec.Route.GroupWait), durationText(spec.Route.GroupInterval),
				repeat(page), repeat(ticket), repeat(notice)}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if spec.Route.RepeatInterval != nil {
				t.Errorf("the top route repeats every %s; only child routes should", *spec.Route.RepeatInterval)
			}
		})
	}
}

func durationText(d *monitoringv1.NonEmptyDuration) string {
	if d == nil {
		return "<nil>"
	}
	return string(*d)
}

func TestInhibition(t *testing.T) {
	spec := mustBuild(t, newTeam("checkout", withChannels(webhookChannel("hook", page, ticket))))
	availability := alert("cx_sli", "availability", "cx_objective", "checkout-up")
	tests := []struct {
		name           string
		source, target labels
		silenced       bool
	}{
		{"an availability page silences an error-ratio page of the same journey", availability, alert(), true},
		{"an availability page silences a latency page of the same journey",
			availability, alert("cx_sli", "latency", "cx_objective", "checkout-fast"), true},
		{"an availability page leaves the pages of another journey alone",
			availability, alert("cx_journey", "search"), false},
		{"an availability page leaves another team's pages alone",
			availability, alert("cx_team", "storefront"), false},
		{"an availability page leaves another availability page alone",
			availability, alert("cx_sli", "availability", "cx_objective", "payment-up"), false},
		{"an availability page leaves a score page alone", availability, alert("cx_sli", "score"), false},
		{"a latency page does not silence an availability page",
			alert("cx_sli", "latency"), availability, false},
		{"an availability ticket does not silence a page",
			alert("cx_sli", "availability", "severity", "ticket"), alert(), false},
		{"a page silences the ticket of the same objective", alert(), alert("severity", "ticket"), true},
		{"a page leaves the ticket of another objective alone",
			alert(), alert("severity", "ticket", "cx_objective", "checkout-fast", "cx_sli", "latency", "cx_journey", "search"), false},
		{"a page leaves the ticket of a same-named objective in another namespace alone",
			alert(), alert("severity", "ticket", "cx_objective_namespace", "payments"), false},
		{"a page does not silence the notices of the same objective", alert(), alert("severity", "notice"), false},
		{"a ticket does not silence the page of the same objective", alert("severity", "ticket"), alert(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inhibits(t, spec, tt.source, tt.target); got != tt.silenced {
				t.Errorf("source %v silences target %v: %v, want %v", tt.source, tt.target, got, tt.silenced)
			}
		})
	}
}

// secretRefs returns pointers to the Secret references of a team.
func secretRefs(team *cxv1alpha1.CXTeam) []*corev1.SecretKeySelector {
	var out []*corev1.SecretKeySelector
	for i := range team.Spec.Channels {
		ch := &team.Spec.Channels[i]
		switch {
		case ch.Slack != nil:
			out = append(out, &ch.Slack.APIURL)
		case ch.MSTeams != nil:
			out = append(out, &ch.MSTeams.WebhookURL)
		case ch.Email != nil && ch.Email.AuthPassword != nil:
			out = append(out, ch.Email.AuthPassword)
		case ch.PagerDuty != nil:
			out = append(out, &ch.PagerDuty.RoutingKey)
		case ch.Webhook != nil:
			out = append(out, &ch.Webhook.URL)
		}
	}
	return out
}

// specSecretRefs returns pointers to the Secret references of a spec.
func specSecretRefs(spec monitoringv1alpha1.AlertmanagerConfigSpec) []*corev1.SecretKeySelector {
	var out []*corev1.SecretKeySelector
	for i := range spec.Receivers {
		r := &spec.Receivers[i]
		for j := range r.SlackConfigs {
			out = append(out, r.SlackConfigs[j].APIURL)
		}
		for j := range r.MSTeamsV2Configs {
			out = append(out, r.MSTeamsV2Configs[j].WebhookURL)
		}
		for j := range r.EmailConfigs {
			if r.EmailConfigs[j].AuthPassword != nil {
				out = append(out, r.EmailConfigs[j].AuthPassword)
			}
		}
		for j := range r.PagerDutyConfigs {
			out = append(out, r.PagerDutyConfigs[j].RoutingKey)
		}
		for j := range r.WebhookConfigs {
			out = append(out, r.WebhookConfigs[j].URLSecret)
		}
	}
	return out
}

// refSet names each Secret reference once, with its optional flag.
func refSet(refs []*corev1.SecretKeySelector) []string {
	var out []string
	for _, r := range refs {
		optional := "unset"
		if r.Optional != nil {
			optional = fmt.Sprint(*r.Optional)
		}
		out = append(out, r.Name+"/"+r.Key+" optional="+optional)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestSecrets(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run("secrets pass through by reference and no secret value or URL appears in the output of "+s.team.Name, func(t *testing.T) {
			spec := mustBuild(t, s.team)
			if got, want := refSet(specSecretRefs(spec)), refSet(secretRefs(s.team)); !reflect.DeepEqual(got, want) {
				t.Errorf("the spec references the Secret keys %v, want %v", got, want)
			}
			out := string(toYAML(t, spec))
			var values []string
			for _, sec := range s.secrets {
				for _, v := range sec.StringData {
					values = append(values, v)
				}
				for _, v := range sec.Data {
					values = append(values, string(v))
				}
			}
			if len(values) == 0 {
				t.Fatalf("%s ships no Secret values to look for", s.file)
			}
			for _, v := range append(values, "://") {
				if strings.Contains(out, v) {
					t.Errorf("the spec contains %q:\n%s", v, out)
				}
			}
		})
	}

	t.Run("the spec shares no memory with the team", func(t *testing.T) {
		team := busyTeam()
		for _, r := range secretRefs(team) {
			r.Optional = ptrTo(false)
		}
		before := team.DeepCopy()
		spec := mustBuild(t, team)
		for _, r := range specSecretRefs(spec) {
			r.Name, r.Key = "changed", "changed"
			*r.Optional = true
		}
		for _, r := range spec.Receivers {
			for _, c := range r.EmailConfigs {
				*c.To, *c.From = "changed", "changed"
			}
		}
		if !reflect.DeepEqual(team, before) {
			t.Errorf("changing the spec changed the team:\n%+v\nwas\n%+v", team.Spec, before.Spec)
		}
	})
}

func TestPurity(t *testing.T) {
	teams := []*cxv1alpha1.CXTeam{busyTeam()}
	for _, s := range loadSamples(t) {
		teams = append(teams, s.team)
	}
	for _, team := range teams {
		t.Run("the input is not mutated: "+team.Name, func(t *testing.T) {
			before := team.DeepCopy()
			mustBuild(t, team)
			if !reflect.DeepEqual(team, before) {
				t.Errorf("Build changed the team:\n%+v\nwas\n%+v", team, before)
			}
		})
		t.Run("two builds give byte-identical YAML: "+team.Name, func(t *testing.T) {
			first := toYAML(t, mustBuild(t, team))
			second := toYAML(t, mustBuild(t, team.DeepCopy()))
			if !bytes.Equal(first, second) {
				t.Errorf("the builds differ:\n%s", lineDiff(first, second))
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	// withChannel adds base, changed by mutate. mutate writes through the
	// channel's pointers, so each case builds its base afresh.
	withChannel := func(mutate func(*cxv1alpha1.Channel), base cxv1alpha1.Channel) teamOption {
		mutate(&base)
		return withChannels(base)
	}
	hook := func() cxv1alpha1.Channel { return webhookChannel("hook", page) }
	tests := []struct {
		name       string
		team       *cxv1alpha1.CXTeam
		wantFields []string
	}{
		{"a slack channel without its slack block names spec.channels[1].slack",
			newTeam("t", withChannels(hook(), cxv1alpha1.Channel{Name: "chat", Type: cxv1alpha1.ChannelSlack, Receive: []cxv1alpha1.Severity{ticket}})),
			[]string{"spec.channels[1].slack"}},
		{"a channel that also sets the block of another type names that block",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Slack = slackChannel("x", "", page).Slack }, hook())),
			[]string{"spec.channels[0].slack"}},
		{"an unknown channel type names the type",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Type = "sms" }, hook())),
			[]string{"spec.channels[0].type"}},
		{"a Secret reference without a key names the key",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Webhook.URL.Key = "" }, hook())),
			[]string{"spec.channels[0].webhook.url.key"}},
		{"a Secret reference without a Secret name names the name",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Slack.APIURL.Name = "" }, slackChannel("chat", "", page))),
			[]string{"spec.channels[0].slack.apiURL.name"}},
		{"an email password reference without a key names it",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Email.AuthPassword.Key = "" }, emailChannel("mail", fullEmail(), page))),
			[]string{"spec.channels[0].email.authPassword.key"}},
		{"an email channel without an address names to",
			newTeam("t", withChannels(emailChannel("mail", cxv1alpha1.EmailChannel{}, page))),
			[]string{"spec.channels[0].email.to"}},
		{"a channel that receives nothing names receive",
			newTeam("t", withChannel(func(c *cxv1alpha1.Channel) { c.Receive = nil }, hook())),
			[]string{"spec.channels[0].receive"}},
		{"an unknown severity names its entry in receive",
			newTeam("t", withChannels(webhookChannel("hook", page, "urgent"))),
			[]string{"spec.channels[0].receive[1]"}},
		{"a severity listed twice names the second entry",
			newTeam("t", withChannels(webhookChannel("hook", page, ticket, page))),
			[]string{"spec.channels[0].receive[2]"}},
		{"a repeat interval too long for Alertmanager names the interval",
			newTeam("t", withChannels(hook()), withNotifications(cxv1alpha1.NotificationPolicy{PageRepeatInterval: "200000d"})),
			[]string{"spec.notifications.pageRepeatInterval"}},
		{"a number too large for any duration names the setting",
			newTeam("t", withChannels(hook()), withNotifications(cxv1alpha1.NotificationPolicy{GroupInterval: "99999999999999999999ms"})),
			[]string{"spec.notifications.groupInterval"}},
		{"a group wait that is not a duration names it",
			newTeam("t", withChannels(hook()), withNotifications(cxv1alpha1.NotificationPolicy{GroupWait: "soon"})),
			[]string{"spec.notifications.groupWait"}},
		{"a zero ticket repeat interval names it, as Alertmanager rejects zero",
			newTeam("t", withChannels(hook()), withNotifications(cxv1alpha1.NotificationPolicy{TicketRepeatInterval: "0s"})),
			[]string{"spec.notifications.ticketRepeatInterval"}},
		{"business hours without weekdays name weekdays",
			newTeam("t", withChannels(hook()), withBusinessHours("09:00", "17:00")),
			[]string{"spec.hours.weekdays"}},
		{"business hours that end before they start name the end",
			newTeam("t", withChannels(hook()), withBusinessHours("17:00", "09:00", weekdays...)),
			[]string{"spec.hours.end"}},
		{"business hours that start at 24:00 name the start",
			newTeam("t", withChannels(hook()), withBusinessHours("24:00", "24:00", weekdays...)),
			[]string{"spec.hours.start"}},
		{"business hours without an end name the end",
			newTeam("t", withChannels(hook()), withBusinessHours("09:00", "", weekdays...)),
			[]string{"spec.hours.end"}},
		{"an unknown weekday names its entry",
			newTeam("t", withChannels(hook()), withBusinessHours("09:00", "17:00", "monday", "someday")),
			[]string{"spec.hours.weekdays[1]"}},
		{"a weekday listed twice names the second entry",
			newTeam("t", withChannels(hook()), withBusinessHours("09:00", "17:00", "monday", "monday")),
			[]string{"spec.hours.weekdays[1]"}},
		{"an unknown schedule names the schedule",
			newTeam("t", withChannels(hook()), func(t *cxv1alpha1.CXTeam) { t.Spec.Hours = &cxv1alpha1.Hours{Schedule: "weekends"} }),
			[]string{"spec.hours.schedule"}},
		{"a team without a name names metadata.name", newTeam("", withChannels(hook())), []string{"metadata.name"}},
		{"a team name too long for the config name names metadata.name",
			newTeam(strings.Repeat("a", 251), withChannels(hook())), []string{"metadata.name"}},
		{"every problem is reported, not only the first",
			newTeam("t", withChannels(webhookChannel("hook", "urgent")), withNotifications(cxv1alpha1.NotificationPolicy{GroupWait: "soon"})),
			[]string{"spec.notifications.groupWait", "spec.channels[0].receive[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.team.DeepCopy()
			spec, err := Build(tt.team)
			if !IsInvalid(err) {
				t.Fatalf("Build returned %v, want an InvalidError", err)
			}
			if !reflect.DeepEqual(spec, monitoringv1alpha1.AlertmanagerConfigSpec{}) {
				t.Errorf("Build returned a spec with its error: %+v", spec)
			}
			if !reflect.DeepEqual(tt.team, before) {
				t.Errorf("Build changed the invalid team")
			}
			var got []string
			for _, fe := range err.(*InvalidError).Errors {
				got = append(got, fe.Field)
			}
			if !reflect.DeepEqual(got, tt.wantFields) {
				t.Errorf("errors name %v, want %v: %v", got, tt.wantFields, err)
			}
		})
	}
}

func TestInvalidError(t *testing.T) {
	_, invalid := Build(newTeam("t", withChannels(webhookChannel("hook", "urgent"))))
	_, nilTeam := Build(nil)
	tests := []struct {
		name string
		ok   bool
	}{
		{"IsInvalid sees through wrapping", IsInvalid(fmt.Errorf("reconciling CXTeam shop/t: %w", invalid))},
		{"errors.As finds the field error", func() bool {
			var fe *field.Error
			return errors.As(invalid, &fe) && fe.Field == "spec.channels[0].receive[0]" && fe.Type == field.ErrorTypeNotSupported
		}()},
		{"the message names the field", invalid != nil && strings.Contains(invalid.Error(), "spec.channels[0].receive[0]")},
		{"a nil team is an error but not an invalid spec", nilTeam != nil && !IsInvalid(nilTeam)},
		{"other errors are not invalid specs", !IsInvalid(errors.New("connection refused")) && !IsInvalid(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("invalid: %v; nil team: %v", invalid, nilTeam)
			}
		})
	}
}

func TestConfigName(t *testing.T) {
	longest := strings.Repeat("a", maxObjectName-len("cx-"))
	tests := []struct {
		name string
		team string
		want string
	}{
		{"the config name is cx- and the team name", "checkout", "cx-checkout"},
		{"the longest team name that Build accepts gives a valid object name", longest, "cx-" + longest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConfigName(tt.team)
			if got != tt.want {
				t.Errorf("ConfigName(%q) = %q, want %q", tt.team, got, tt.want)
			}
			if problems := validation.IsDNS1123Subdomain(got); len(problems) > 0 {
				t.Errorf("%q is not an object name: %v", got, problems)
			}
			mustBuild(t, newTeam(tt.team, withChannels(webhookChannel("hook", page))))
		})
	}
}
