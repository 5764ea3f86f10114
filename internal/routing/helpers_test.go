package routing

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// samplesDir holds the sample CXTeams, relative to this package.
const samplesDir = "../../config/samples"

// Shorthands for severities.
const (
	page   = cxv1alpha1.SeverityPage
	ticket = cxv1alpha1.SeverityTicket
	notice = cxv1alpha1.SeverityNotice
)

// sample is one sample file: its CXTeam and the Secrets shipped with it.
type sample struct {
	file    string
	team    *cxv1alpha1.CXTeam
	secrets []corev1.Secret
}

// loadSamples reads every config/samples/cx_v1alpha1_cxteam_*.yaml.
func loadSamples(t *testing.T) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "cx_v1alpha1_cxteam_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("finding the sample CXTeams in %s: %v (%d files)", samplesDir, err, len(files))
	}
	var out []sample
	for _, file := range files {
		s := sample{file: file}
		for _, doc := range readDocuments(t, file) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("reading %s: %v", file, err)
			}
			switch tm.Kind {
			case "CXTeam":
				s.team = &cxv1alpha1.CXTeam{}
				if err := yaml.UnmarshalStrict(doc, s.team); err != nil {
					t.Fatalf("reading the CXTeam in %s: %v", file, err)
				}
			case "Secret":
				var sec corev1.Secret
				if err := yaml.UnmarshalStrict(doc, &sec); err != nil {
					t.Fatalf("reading the Secret in %s: %v", file, err)
				}
				s.secrets = append(s.secrets, sec)
			}
		}
		if s.team == nil {
			t.Fatalf("%s holds no CXTeam", file)
		}
		out = append(out, s)
	}
	return out
}

// readDocuments splits a multi-document YAML file.
func readDocuments(t *testing.T, file string) [][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("opening %s: %v", file, err)
	}
	defer func() { _ = f.Close() }()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// toYAML marshals a spec the way the golden files hold it.
func toYAML(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) []byte {
	t.Helper()
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatalf("marshalling the spec: %v", err)
	}
	return b
}

// mustBuild builds the team's spec, and fails unless prometheus-operator
// would accept it (see checkAccepted).
func mustBuild(t *testing.T, team *cxv1alpha1.CXTeam) monitoringv1alpha1.AlertmanagerConfigSpec {
	t.Helper()
	spec, err := Build(team)
	if err != nil {
		t.Fatalf("Build(%s): %v", team.Name, err)
	}
	checkAccepted(t, spec)
	return spec
}

// teamOption changes a test team.
type teamOption func(*cxv1alpha1.CXTeam)

// newTeam returns a 24x7 team in namespace shop without channels.
func newTeam(name string, opts ...teamOption) *cxv1alpha1.CXTeam {
	t := &cxv1alpha1.CXTeam{
		TypeMeta:   metav1.TypeMeta{APIVersion: "cx.cxops.io/v1alpha1", Kind: "CXTeam"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec:       cxv1alpha1.CXTeamSpec{Department: "Tech"},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

func withChannels(chs ...cxv1alpha1.Channel) teamOption {
	return func(t *cxv1alpha1.CXTeam) { t.Spec.Channels = append(t.Spec.Channels, chs...) }
}

func withDisplayName(name string) teamOption {
	return func(t *cxv1alpha1.CXTeam) { t.Spec.DisplayName = name }
}

func with24x7() teamOption {
	return func(t *cxv1alpha1.CXTeam) { t.Spec.Hours = &cxv1alpha1.Hours{Schedule: cxv1alpha1.Hours24x7} }
}

func withBusinessHours(start, end string, days ...cxv1alpha1.Weekday) teamOption {
	return func(t *cxv1alpha1.CXTeam) {
		t.Spec.Hours = &cxv1alpha1.Hours{Schedule: cxv1alpha1.HoursBusiness, Weekdays: days, Start: start, End: end}
	}
}

// withPagesInHoursOnly needs withBusinessHours before it.
func withPagesInHoursOnly() teamOption {
	return func(t *cxv1alpha1.CXTeam) { t.Spec.Hours.PagesInHoursOnly = true }
}

func withNotifications(np cxv1alpha1.NotificationPolicy) teamOption {
	return func(t *cxv1alpha1.CXTeam) { t.Spec.Notifications = &np }
}

// weekdays are Monday to Friday.
var weekdays = []cxv1alpha1.Weekday{"monday", "tuesday", "wednesday", "thursday", "friday"}

func secretRef(name, key string) corev1.SecretKeySelector {
	return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
}

func webhookChannel(name string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{Name: name, Type: cxv1alpha1.ChannelWebhook, Receive: receive,
		Webhook: &cxv1alpha1.WebhookChannel{URL: secretRef("hooks", name+"-url")}}
}

func slackChannel(name, channel string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{Name: name, Type: cxv1alpha1.ChannelSlack, Receive: receive,
		Slack: &cxv1alpha1.SlackChannel{APIURL: secretRef("hooks", name+"-url"), Channel: channel}}
}

func msteamsChannel(name string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{Name: name, Type: cxv1alpha1.ChannelMSTeams, Receive: receive,
		MSTeams: &cxv1alpha1.MSTeamsChannel{WebhookURL: secretRef("hooks", name+"-url")}}
}

func emailChannel(name string, e cxv1alpha1.EmailChannel, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{Name: name, Type: cxv1alpha1.ChannelEmail, Receive: receive, Email: &e}
}

func pagerdutyChannel(name string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{Name: name, Type: cxv1alpha1.ChannelPagerDuty, Receive: receive,
		PagerDuty: &cxv1alpha1.PagerDutyChannel{RoutingKey: secretRef("keys", name+"-key")}}
}

// fullEmail sets every field of an email channel.
func fullEmail() cxv1alpha1.EmailChannel {
	pw := secretRef("smtp", "password")
	return cxv1alpha1.EmailChannel{To: "sre@shop.example.com", From: "cx@shop.example.com",
		Smarthost: "smtp.example.com:587", AuthUsername: "cx", AuthPassword: &pw}
}

// busyTeam uses every feature: each channel type, business hours with
// pages held, and every notification setting.
func busyTeam() *cxv1alpha1.CXTeam {
	return newTeam("busy",
		withDisplayName("Busy {{ team }}"),
		withChannels(
			slackChannel("chat", "#busy", ticket, notice),
			msteamsChannel("teams", notice),
			emailChannel("mail", fullEmail(), ticket),
			pagerdutyChannel("pager", page),
			webhookChannel("hook", page, ticket, notice),
		),
		withBusinessHours("07:30", "24:00", "saturday", "monday", "tuesday", "thursday"),
		withPagesInHoursOnly(),
		withNotifications(cxv1alpha1.NotificationPolicy{GroupWait: "10s", GroupInterval: "2m",
			PageRepeatInterval: "15m", TicketRepeatInterval: "2d"}),
	)
}

// childRoutes decodes the child routes of the top route.
func childRoutes(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec) []monitoringv1alpha1.Route {
	t.Helper()
	if spec.Route == nil {
		t.Fatal("the spec has no route")
	}
	children, err := spec.Route.ChildRoutes()
	if err != nil {
		t.Fatalf("decoding the child routes: %v", err)
	}
	return children
}

// routeTo returns the child route to the named receiver, or nil.
func routeTo(t *testing.T, spec monitoringv1alpha1.AlertmanagerConfigSpec, receiver string) *monitoringv1alpha1.Route {
	t.Helper()
	for _, r := range childRoutes(t, spec) {
		if r.Receiver == receiver {
			return &r
		}
	}
	return nil
}

// receiverNamed returns the named receiver, or nil.
func receiverNamed(spec monitoringv1alpha1.AlertmanagerConfigSpec, name string) *monitoringv1alpha1.Receiver {
	for i := range spec.Receivers {
		if spec.Receivers[i].Name == name {
			return &spec.Receivers[i]
		}
	}
	return nil
}

// integrationCount counts the integrations of every kind in a receiver.
func integrationCount(r monitoringv1alpha1.Receiver) int {
	return len(r.OpsGenieConfigs) + len(r.PagerDutyConfigs) + len(r.DiscordConfigs) + len(r.SlackConfigs) +
		len(r.WebhookConfigs) + len(r.WeChatConfigs) + len(r.EmailConfigs) + len(r.VictorOpsConfigs) +
		len(r.PushoverConfigs) + len(r.SNSConfigs) + len(r.TelegramConfigs) + len(r.WebexConfigs) +
		len(r.MSTeamsConfigs) + len(r.MSTeamsV2Configs) + len(r.RocketChatConfigs)
}

// receiverNames lists the names of the receivers.
func receiverNames(spec monitoringv1alpha1.AlertmanagerConfigSpec) string {
	var names []string
	for _, r := range spec.Receivers {
		names = append(names, r.Name)
	}
	return strings.Join(names, ",")
}
