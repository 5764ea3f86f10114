package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChannelType is the kind of a notification channel.
// +kubebuilder:validation:Enum=slack;msteams;email;pagerduty;webhook
type ChannelType string

// Channel types.
const (
	ChannelSlack     ChannelType = "slack"
	ChannelMSTeams   ChannelType = "msteams"
	ChannelEmail     ChannelType = "email"
	ChannelPagerDuty ChannelType = "pagerduty"
	ChannelWebhook   ChannelType = "webhook"
)

// Severity says how urgent a notification is.
// +kubebuilder:validation:Enum=page;ticket;notice
type Severity string

// Severities. A page wakes someone up; a ticket is work for the next
// business hours; a notice tells a stakeholder team about another team's
// breach and never pages.
const (
	SeverityPage   Severity = "page"
	SeverityTicket Severity = "ticket"
	SeverityNotice Severity = "notice"
)

// Weekday is a day of the week, lower case.
// +kubebuilder:validation:Enum=monday;tuesday;wednesday;thursday;friday;saturday;sunday
type Weekday string

// HoursSchedule says when a team takes notifications.
// +kubebuilder:validation:Enum="24x7";businessHours
type HoursSchedule string

// Schedules.
const (
	// Hours24x7 sends every notification at once, day and night.
	Hours24x7 HoursSchedule = "24x7"
	// HoursBusiness holds tickets (and pages, if asked) until business hours.
	HoursBusiness HoursSchedule = "businessHours"
)

// CXTeamSpec is the desired state of a CXTeam.
//
// +kubebuilder:validation:XValidation:rule="self.channels.all(c, self.channels.exists_one(d, d.name == c.name))",message="channel names must be unique"
type CXTeamSpec struct {
	// department is the part of the company that owns this team's
	// objectives, in free text: Support, Tech, Product, Marketing, Finance.
	// It is shown by `kubectl get cxteam` and put on the team's alerts as the
	// cx_department label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Department string `json:"department"`

	// displayName is a human name for the team, used in notifications.
	// Defaults to metadata.name.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// channels are the places that notifications reach: Slack, Microsoft
	// Teams, email, PagerDuty or a generic webhook. Secret parts (webhook
	// URLs, routing keys, passwords) are references to Secrets in the team's
	// namespace, never inline values. Each channel says in receive which
	// severities it gets.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Channels []Channel `json:"channels"`

	// hours says when the team takes notifications. Defaults to 24x7.
	// +optional
	Hours *Hours `json:"hours,omitempty"`

	// notifications tunes grouping and repetition of notifications.
	// +optional
	Notifications *NotificationPolicy `json:"notifications,omitempty"`

	// allowedNamespaces lists the other namespaces whose CXObjectives may
	// name this team as their owner or as a stakeholder. "*" allows every
	// namespace. The team's own namespace is always allowed; by default no
	// other is.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$`
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`
}

// Channel is one destination of notifications. Set type, and the block of
// the same name, and nothing else.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'slack' || has(self.slack)",message="a slack channel needs the slack block"
// +kubebuilder:validation:XValidation:rule="self.type != 'msteams' || has(self.msteams)",message="an msteams channel needs the msteams block"
// +kubebuilder:validation:XValidation:rule="self.type != 'email' || has(self.email)",message="an email channel needs the email block"
// +kubebuilder:validation:XValidation:rule="self.type != 'pagerduty' || has(self.pagerduty)",message="a pagerduty channel needs the pagerduty block"
// +kubebuilder:validation:XValidation:rule="self.type != 'webhook' || has(self.webhook)",message="a webhook channel needs the webhook block"
// +kubebuilder:validation:XValidation:rule="[has(self.slack), has(self.msteams), has(self.email), has(self.pagerduty), has(self.webhook)].filter(x, x).size() == 1",message="a channel sets exactly one of slack, msteams, email, pagerduty, webhook, the one named in type"
type Channel struct {
	// name identifies the channel within the team, e.g. "oncall" or
	// "support-slack".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// type is the kind of channel: slack, msteams, email, pagerduty or
	// webhook. The block of the same name must be set.
	// +required
	Type ChannelType `json:"type"`

	// receive lists the severities this channel gets: page (a fast burn of
	// the error budget, at any hour unless hours.pagesInHoursOnly is set),
	// ticket (a slow burn, held to business hours for businessHours teams)
	// and notice (breaches of other teams' objectives that name this team
	// as a stakeholder; never paging).
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	Receive []Severity `json:"receive"`

	// slack sends to a Slack incoming webhook.
	// +optional
	Slack *SlackChannel `json:"slack,omitempty"`
	// msteams sends to a Microsoft Teams Workflows webhook (Alertmanager's
	// msteamsv2 integration). Needs Alertmanager 0.28 or newer.
	// +optional
	MSTeams *MSTeamsChannel `json:"msteams,omitempty"`
	// email sends mail through an SMTP smarthost.
	// +optional
	Email *EmailChannel `json:"email,omitempty"`
	// pagerduty sends events to a PagerDuty service (Events API v2).
	// +optional
	PagerDuty *PagerDutyChannel `json:"pagerduty,omitempty"`
	// webhook posts Alertmanager's webhook payload to a URL.
	// +optional
	Webhook *WebhookChannel `json:"webhook,omitempty"`
}

// SlackChannel is a Slack incoming webhook.
type SlackChannel struct {
	// apiURL is a reference to the key of a Secret, in the team's namespace,
	// that holds the incoming webhook URL.
	// +required
	APIURL corev1.SecretKeySelector `json:"apiURL"`
	// channel overrides the webhook's default channel, e.g. "#checkout-oncall".
	// +optional
	// +kubebuilder:validation:MaxLength=80
	Channel string `json:"channel,omitempty"`
}

// MSTeamsChannel is a Microsoft Teams Workflows webhook.
type MSTeamsChannel struct {
	// webhookURL is a reference to the key of a Secret, in the team's
	// namespace, that holds the Workflows webhook URL.
	// +required
	WebhookURL corev1.SecretKeySelector `json:"webhookURL"`
}

// EmailChannel sends mail.
type EmailChannel struct {
	// to is the address notifications go to.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	To string `json:"to"`
	// from is the sender address. Defaults to Alertmanager's global setting.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	From string `json:"from,omitempty"`
	// smarthost is the SMTP server as host:port. Defaults to Alertmanager's
	// global setting; prometheus-operator skips the team's whole
	// AlertmanagerConfig when neither sets it (and likewise for from).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[^:\s]+:[0-9]+$`
	Smarthost string `json:"smarthost,omitempty"`
	// authUsername is the SMTP user name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	AuthUsername string `json:"authUsername,omitempty"`
	// authPassword is a reference to the key of a Secret, in the team's
	// namespace, that holds the SMTP password.
	// +optional
	AuthPassword *corev1.SecretKeySelector `json:"authPassword,omitempty"`
}

// PagerDutyChannel is a PagerDuty service.
type PagerDutyChannel struct {
	// routingKey is a reference to the key of a Secret, in the team's
	// namespace, that holds the Events API v2 integration key.
	// +required
	RoutingKey corev1.SecretKeySelector `json:"routingKey"`
}

// WebhookChannel is a generic webhook receiving Alertmanager's JSON payload.
type WebhookChannel struct {
	// url is a reference to the key of a Secret, in the team's namespace,
	// that holds the URL. URLs often carry tokens, so they are never inline.
	// +required
	URL corev1.SecretKeySelector `json:"url"`
}

// Hours says when a team takes notifications. All times are UTC: the
// time intervals of prometheus-operator's AlertmanagerConfig (v1alpha1)
// have no time zone.
//
// +kubebuilder:validation:XValidation:rule="self.schedule != 'businessHours' || (has(self.weekdays) && has(self.start) && has(self.end))",message="businessHours needs weekdays, start and end"
// +kubebuilder:validation:XValidation:rule="!has(self.start) || !has(self.end) || self.start < self.end",message="start must be before end (both HH:MM, UTC, on the same day)"
// +kubebuilder:validation:XValidation:rule="self.schedule == 'businessHours' || !(has(self.weekdays) || has(self.start) || has(self.end) || has(self.pagesInHoursOnly))",message="weekdays, start, end and pagesInHoursOnly only apply to businessHours"
type Hours struct {
	// schedule is 24x7 (every notification at once, day and night) or
	// businessHours (tickets, and pages if pagesInHoursOnly, only within
	// the weekdays and times below).
	// +required
	Schedule HoursSchedule `json:"schedule"`

	// weekdays are the days with business hours, e.g. [monday, tuesday,
	// wednesday, thursday, friday].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=7
	Weekdays []Weekday `json:"weekdays,omitempty"`

	// start is the time business hours start, HH:MM in UTC, e.g. "09:00".
	// +optional
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	Start string `json:"start,omitempty"`

	// end is the time business hours end, HH:MM in UTC, e.g. "17:00";
	// "24:00" is the end of the day.
	// +optional
	// +kubebuilder:validation:Pattern=`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`
	End string `json:"end,omitempty"`

	// pagesInHoursOnly holds pages, too, to business hours. By default
	// pages go out at any time and only tickets wait.
	// +optional
	PagesInHoursOnly bool `json:"pagesInHoursOnly,omitempty"`
}

// NotificationPolicy tunes how Alertmanager groups and repeats the team's
// notifications. Durations are Alertmanager durations such as 30s, 5m, 4h.
type NotificationPolicy struct {
	// groupWait is how long to wait for more alerts of the same objective
	// before the first notification. Defaults to 30s.
	// +optional
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*(ms|s|m|h)$`
	GroupWait string `json:"groupWait,omitempty"`
	// groupInterval is how long to wait before notifying about new alerts
	// of a group that was already notified. Defaults to 5m.
	// +optional
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*(ms|s|m|h)$`
	GroupInterval string `json:"groupInterval,omitempty"`
	// pageRepeatInterval is how often a page that still fires is sent
	// again. Defaults to 1h.
	// +optional
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*(s|m|h|d)$`
	PageRepeatInterval string `json:"pageRepeatInterval,omitempty"`
	// ticketRepeatInterval is how often a ticket or notice that still fires
	// is sent again. Defaults to 24h.
	// +optional
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*(s|m|h|d)$`
	TicketRepeatInterval string `json:"ticketRepeatInterval,omitempty"`
}

// CXTeamStatus is the observed state of a CXTeam.
type CXTeamStatus struct {
	// observedGeneration is the generation of the spec that the conditions
	// and generated objects describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Stalled and Reconciling.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// alertmanagerConfig is the name of the generated AlertmanagerConfig,
	// in the team's namespace.
	// +optional
	AlertmanagerConfig string `json:"alertmanagerConfig,omitempty"`

	// channels is the number of channels, for `kubectl get`.
	// +optional
	Channels int32 `json:"channels,omitempty"`

	// objectives is the number of CXObjectives that name this team as owner.
	// +optional
	Objectives int32 `json:"objectives,omitempty"`

	// breaching is the number of owned objectives with a page or ticket
	// alert firing now. Empty until the manager reads Prometheus.
	// +optional
	Breaching *int32 `json:"breaching,omitempty"`

	// lowestBudgetRemaining is the smallest error budget left among the
	// owned objectives, as a percentage of their budgets, e.g. "42.5%".
	// +optional
	LowestBudgetRemaining string `json:"lowestBudgetRemaining,omitempty"`
}

// CXTeam is a team that owns customer-experience objectives, and the
// channels, hours and routing that reach it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cxteam;cxteams,categories=cx
// +kubebuilder:printcolumn:name="Department",type=string,JSONPath=`.spec.department`
// +kubebuilder:printcolumn:name="Channels",type=integer,JSONPath=`.status.channels`
// +kubebuilder:printcolumn:name="Objectives",type=integer,JSONPath=`.status.objectives`
// +kubebuilder:printcolumn:name="Breaching",type=integer,JSONPath=`.status.breaching`
// +kubebuilder:printcolumn:name="Lowest budget",type=string,JSONPath=`.status.lowestBudgetRemaining`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CXTeam struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the team's desired state.
	// +required
	Spec CXTeamSpec `json:"spec"`

	// status is the team's observed state.
	// +optional
	Status CXTeamStatus `json:"status,omitempty"`
}

// CXTeamList is a list of CXTeams.
//
// +kubebuilder:object:root=true
type CXTeamList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CXTeam `json:"items"`
}
