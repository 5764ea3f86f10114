package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// InvalidError says that a CXTeam passed admission but cannot be routed:
// retrying will not help until the spec changes. Each error names its field,
// for example spec.channels[1].slack.
type InvalidError struct {
	// Errors are the problems, each with its field path.
	Errors field.ErrorList
}

// Error lists the problems in one line.
func (e *InvalidError) Error() string { return e.Errors.ToAggregate().Error() }

// Unwrap returns the problems, so that errors.As finds each *field.Error.
func (e *InvalidError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// IsInvalid says whether err is, or wraps, an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Defaults of spec.notifications, as documented on the API type.
const (
	defaultGroupWait            = "30s"
	defaultGroupInterval        = "5m"
	defaultPageRepeatInterval   = "1h"
	defaultTicketRepeatInterval = "24h"
)

// plan is a CXTeam that can be routed, with its defaults filled in. It
// points into the team (channels); nothing may write through it.
type plan struct {
	name                     string
	displayName              string
	groupWait, groupInterval monitoringv1.NonEmptyDuration
	pageRepeat, ticketRepeat monitoringv1.NonEmptyDuration
	hours                    *businessHours // nil for a 24x7 team
	pagesInHoursOnly         bool
	channels                 []cxv1alpha1.Channel
}

// businessHours is a validated hours block of schedule businessHours.
type businessHours struct {
	weekdays   []monitoringv1alpha1.WeekdayRange
	start, end monitoringv1alpha1.Time
}

// resolve checks what the API server's schema and CEL rules leave open, or
// might not have checked (an object built in Go, a CRD without its CEL
// rules), and fills in the defaults.
func resolve(team *cxv1alpha1.CXTeam) (plan, field.ErrorList) {
	spec := field.NewPath("spec")
	p := plan{name: team.Name, displayName: team.Spec.DisplayName, channels: team.Spec.Channels}
	if p.displayName == "" {
		p.displayName = team.Name
	}
	errs := checkName(team.Name, field.NewPath("metadata", "name"))
	errs = append(errs, checkNotifications(&p, team.Spec.Notifications, spec.Child("notifications"))...)
	errs = append(errs, checkHours(&p, team.Spec.Hours, spec.Child("hours"))...)
	errs = append(errs, checkChannels(team.Spec.Channels, spec.Child("channels"))...)
	return p, errs
}

// checkName requires a team name that leaves room for the config name.
func checkName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "the team name is the value of the cx_team label")}
	}
	if len(ConfigName(name)) > maxObjectName {
		return field.ErrorList{field.TooLong(path, name, maxObjectName-len(configNamePrefix))}
	}
	return nil
}

// checkNotifications parses the durations of spec.notifications, or takes
// their defaults.
func checkNotifications(p *plan, np *cxv1alpha1.NotificationPolicy, path *field.Path) field.ErrorList {
	var in cxv1alpha1.NotificationPolicy
	if np != nil {
		in = *np
	}
	var errs field.ErrorList
	get := func(value, def, name string) monitoringv1.NonEmptyDuration {
		if value == "" {
			return monitoringv1.NonEmptyDuration(def)
		}
		if err := checkDuration(value); err != nil {
			errs = append(errs, field.Invalid(path.Child(name), value, err.Error()))
		}
		return monitoringv1.NonEmptyDuration(value)
	}
	p.groupWait = get(in.GroupWait, defaultGroupWait, "groupWait")
	p.groupInterval = get(in.GroupInterval, defaultGroupInterval, "groupInterval")
	p.pageRepeat = get(in.PageRepeatInterval, defaultPageRepeatInterval, "pageRepeatInterval")
	p.ticketRepeat = get(in.TicketRepeatInterval, defaultTicketRepeatInterval, "ticketRepeatInterval")
	return errs
}

// durationRE is the union of the API's duration patterns: one positive
// number and one unit.
var durationRE = regexp.MustCompile(`^([1-9][0-9]*)(ms|s|m|h|d)$`)

var durationUnits = map[string]time.Duration{
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// checkDuration accepts what Alertmanager can parse of the API's durations:
// the API's patterns admit numbers too large for a time.Duration, which
// Alertmanager rejects as out of range.
func checkDuration(s string) error {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return errors.New("must be a positive number and one unit of ms, s, m, h or d, such as 30s or 4h")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	unit := durationUnits[m[2]]
	if err != nil || n > int64(time.Duration(1<<63-1)/unit) {
		return errors.New("is too long: Alertmanager takes durations up to about 290 years")
	}
	return nil
}

// hhmmRE is the API's pattern of a time of day; end may also be 24:00.
var hhmmRE = regexp.MustCompile(`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`)

// weekdayNumbers counts the days from Sunday, as Alertmanager does: its
// weekday ranges run from Sunday to Saturday and cannot wrap around.
var weekdayNumbers = map[cxv1alpha1.Weekday]int{
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
}

// weekdaysByNumber is weekdayNumbers reversed.
var weekdaysByNumber = []cxv1alpha1.Weekday{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// checkHours validates spec.hours; no hours block means 24x7.
func checkHours(p *plan, h *cxv1alpha1.Hours, path *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	switch h.Schedule {
	case cxv1alpha1.Hours24x7:
		// CEL forbids weekdays, start, end and pagesInHoursOnly here; a
		// 24x7 team has no time interval whatever they say.
		return nil
	case cxv1alpha1.HoursBusiness:
	default:
		return field.ErrorList{field.NotSupported(path.Child("schedule"), h.Schedule,
			[]cxv1alpha1.HoursSchedule{cxv1alpha1.Hours24x7, cxv1alpha1.HoursBusiness})}
	}

	var errs field.ErrorList
	var days [7]bool
	if len(h.Weekdays) == 0 {
		errs = append(errs, field.Required(path.Child("weekdays"), "businessHours needs weekdays"))
	}
	for i, d := range h.Weekdays {
		n, ok := weekdayNumbers[d]
		switch {
		case !ok:
			errs = append(errs, field.NotSupported(path.Child("weekdays").Index(i), d, weekdaysByNumber))
		case days[n]:
			errs = append(errs, field.Duplicate(path.Child("weekdays").Index(i), d))
		default:
			days[n] = true
		}
	}
	start, startErrs := checkTimeOfDay(h.Start, path.Child("start"), false)
	end, endErrs := checkTimeOfDay(h.End, path.Child("end"), true)
	errs = append(append(errs, startErrs...), endErrs...)
	if len(startErrs) == 0 && len(endErrs) == 0 && start >= end {
		errs = append(errs, field.Invalid(path.Child("end"), h.End, "must be after start ("+h.Start+"), on the same day"))
	}
	if len(errs) > 0 {
		return errs
	}
	p.hours = &businessHours{
		weekdays: weekdayRanges(days),
		start:    monitoringv1alpha1.Time(h.Start),
		end:      monitoringv1alpha1.Time(h.End),
	}
	p.pagesInHoursOnly = h.PagesInHoursOnly
	return nil
}

// checkTimeOfDay parses HH:MM into minutes after midnight; only an end may
// be 24:00.
func checkTimeOfDay(s string, path *field.Path, isEnd bool) (int, field.ErrorList) {
	if s == "" {
		return 0, field.ErrorList{field.Required(path, "businessHours needs start and end")}
	}
	if !hhmmRE.MatchString(s) || (!isEnd && s == "24:00") {
		return 0, field.ErrorList{field.Invalid(path, s, "must be a time of day HH:MM in UTC, such as 09:00")}
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	return h*60 + m, nil
}

// weekdayRanges writes the days as Alertmanager weekday ranges, from Sunday
// on: a run of days becomes one range such as monday:friday, a lone day its
// name.
func weekdayRanges(days [7]bool) []monitoringv1alpha1.WeekdayRange {
	var out []monitoringv1alpha1.WeekdayRange
	for first := 0; first < len(days); first++ {
		if !days[first] {
			continue
		}
		last := first
		for last+1 < len(days) && days[last+1] {
			last++
		}
		r := string(weekdaysByNumber[first])
		if last > first {
			r += ":" + string(weekdaysByNumber[last])
		}
		out = append(out, monitoringv1alpha1.WeekdayRange(r))
		first = last
	}
	return out
}

// channelTypes are the channel types Build knows, in the API's order.
var channelTypes = []cxv1alpha1.ChannelType{
	cxv1alpha1.ChannelSlack, cxv1alpha1.ChannelMSTeams, cxv1alpha1.ChannelEmail,
	cxv1alpha1.ChannelPagerDuty, cxv1alpha1.ChannelWebhook,
}

// checkChannels checks each channel: its severities, that exactly the block
// named by its type is set, and its Secret references.
func checkChannels(channels []cxv1alpha1.Channel, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ch := range channels {
		p := path.Index(i)
		errs = append(errs, checkReceive(ch.Receive, p.Child("receive"))...)
		errs = append(errs, checkBlocks(ch, p)...)
	}
	return errs
}

// checkReceive requires known severities, each once.
func checkReceive(receive []cxv1alpha1.Severity, path *field.Path) field.ErrorList {
	if len(receive) == 0 {
		return field.ErrorList{field.Required(path, "a channel receives at least one of page, ticket, notice")}
	}
	var errs field.ErrorList
	seen := map[cxv1alpha1.Severity]bool{}
	for j, s := range receive {
		switch {
		case s != cxv1alpha1.SeverityPage && s != cxv1alpha1.SeverityTicket && s != cxv1alpha1.SeverityNotice:
			errs = append(errs, field.NotSupported(path.Index(j), s, severities))
		case seen[s]:
			errs = append(errs, field.Duplicate(path.Index(j), s))
		}
		seen[s] = true
	}
	return errs
}

// checkBlocks requires the block named by the channel's type, and no other.
func checkBlocks(ch cxv1alpha1.Channel, path *field.Path) field.ErrorList {
	set := map[cxv1alpha1.ChannelType]bool{
		cxv1alpha1.ChannelSlack:     ch.Slack != nil,
		cxv1alpha1.ChannelMSTeams:   ch.MSTeams != nil,
		cxv1alpha1.ChannelEmail:     ch.Email != nil,
		cxv1alpha1.ChannelPagerDuty: ch.PagerDuty != nil,
		cxv1alpha1.ChannelWebhook:   ch.Webhook != nil,
	}
	if _, known := set[ch.Type]; !known {
		return field.ErrorList{field.NotSupported(path.Child("type"), ch.Type, channelTypes)}
	}
	var errs field.ErrorList
	for _, t := range channelTypes {
		if t != ch.Type && set[t] {
			errs = append(errs, field.Forbidden(path.Child(string(t)),
				fmt.Sprintf("a %s channel sets only the %s block", ch.Type, ch.Type)))
		}
	}
	if !set[ch.Type] {
		return append(errs, field.Required(path.Child(string(ch.Type)),
			fmt.Sprintf("a %s channel needs the %s block", ch.Type, ch.Type)))
	}
	switch ch.Type {
	case cxv1alpha1.ChannelSlack:
		errs = append(errs, checkSecretRef(&ch.Slack.APIURL, path.Child("slack", "apiURL"))...)
	case cxv1alpha1.ChannelMSTeams:
		errs = append(errs, checkSecretRef(&ch.MSTeams.WebhookURL, path.Child("msteams", "webhookURL"))...)
	case cxv1alpha1.ChannelEmail:
		if ch.Email.To == "" {
			errs = append(errs, field.Required(path.Child("email", "to"), "an email channel needs an address"))
		}
		if ch.Email.AuthPassword != nil {
			errs = append(errs, checkSecretRef(ch.Email.AuthPassword, path.Child("email", "authPassword"))...)
		}
	case cxv1alpha1.ChannelPagerDuty:
		errs = append(errs, checkSecretRef(&ch.PagerDuty.RoutingKey, path.Child("pagerduty", "routingKey"))...)
	case cxv1alpha1.ChannelWebhook:
		errs = append(errs, checkSecretRef(&ch.Webhook.URL, path.Child("webhook", "url"))...)
	}
	return errs
}

// checkSecretRef requires a Secret name and a key: the schema of
// SecretKeySelector makes the name optional, but prometheus-operator cannot
// look up a Secret without one.
func checkSecretRef(sel *corev1.SecretKeySelector, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "the name of a Secret in the team's namespace"))
	}
	if sel.Key == "" {
		errs = append(errs, field.Required(path.Child("key"), "the key in the Secret"))
	}
	return errs
}
