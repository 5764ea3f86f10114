package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Notification is one webhook notification from Alertmanager, as a sink
// received it (Alertmanager's webhook payload, version 4).
type Notification struct {
	// Received is when the sink got it.
	Received time.Time `json:"-"`
	// Version is the payload version, "4".
	Version string `json:"version"`
	// GroupKey identifies the alert group.
	GroupKey string `json:"groupKey"`
	// TruncatedAlerts is how many alerts were left out (max_alerts).
	TruncatedAlerts int `json:"truncatedAlerts"`
	// Status is "firing" or "resolved".
	Status string `json:"status"`
	// Receiver is the Alertmanager receiver that sent it; prometheus-operator
	// names it <namespace>/<AlertmanagerConfig>/<receiver>.
	Receiver string `json:"receiver"`
	// GroupLabels are the labels the route groups by.
	GroupLabels map[string]string `json:"groupLabels"`
	// CommonLabels are the labels every alert of the notification has.
	CommonLabels map[string]string `json:"commonLabels"`
	// CommonAnnotations are the annotations every alert has.
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	// ExternalURL is Alertmanager's URL.
	ExternalURL string `json:"externalURL"`
	// Alerts are the alerts of the group.
	Alerts []NotificationAlert `json:"alerts"`
}

// NotificationAlert is one alert of a Notification.
type NotificationAlert struct {
	// Status is "firing" or "resolved".
	Status string `json:"status"`
	// Labels identify the alert.
	Labels map[string]string `json:"labels"`
	// Annotations are the alert's annotations.
	Annotations map[string]string `json:"annotations"`
	// StartsAt is when the alert started firing.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it resolved (zero time, 0001-01-01, while firing).
	EndsAt time.Time `json:"endsAt"`
	// GeneratorURL links to the expression in Prometheus.
	GeneratorURL string `json:"generatorURL"`
	// Fingerprint identifies the label set.
	Fingerprint string `json:"fingerprint"`
}

// AlertNames returns the alertname label of each alert, sorted.
func (n Notification) AlertNames() []string {
	names := make([]string, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		names = append(names, a.Labels["alertname"])
	}
	slices.Sort(names)
	return names
}

// String is a one-line summary for logs.
func (n Notification) String() string {
	return fmt.Sprintf("%s %d alert(s) %v from receiver %q, group %v", n.Status, len(n.Alerts), n.AlertNames(), n.Receiver, n.GroupLabels)
}

// Sink is a webhook receiver on 127.0.0.1 that records every notification
// it gets and answers 200 OK. The stack starts one per team; StartSink
// starts one alone.
type Sink struct {
	team string
	url  string
	srv  *http.Server
	logf func(string, ...any)

	mu            sync.Mutex
	notifications []Notification
	// arrived is closed and replaced on each notification, to wake waiters.
	arrived chan struct{}
	served  chan error

	closeOnce sync.Once
	closeErr  error
}

// StartSink starts a sink for team on a free port of 127.0.0.1. logf, if
// not nil, gets a line per notification. Close stops it.
func StartSink(team string, logf func(string, ...any)) (*Sink, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the sink of team %s: %w", team, err)
	}
	k := &Sink{
		team:    team,
		url:     "http://" + lis.Addr().String() + "/hooks/" + team,
		logf:    logf,
		arrived: make(chan struct{}),
		served:  make(chan error, 1),
	}
	k.srv = &http.Server{Handler: http.HandlerFunc(k.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { k.served <- k.srv.Serve(lis) }()
	return k, nil
}

// Team returns the team the sink stands for.
func (k *Sink) Team() string { return k.team }

// URL returns the URL to post notifications to; a CXTeam's webhook channel
// Secret holds it.
func (k *Sink) URL() string { return k.url }

func (k *Sink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a webhook notification", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		k.log("sink %s: refused a body that is not a notification: %v: %.200s", k.team, err, body)
		http.Error(w, "not an Alertmanager webhook payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	n.Received = time.Now()
	k.mu.Lock()
	k.notifications = append(k.notifications, n)
	close(k.arrived)
	k.arrived = make(chan struct{})
	k.mu.Unlock()
	k.log("sink %s: got %s", k.team, n)
}

func (k *Sink) log(format string, args ...any) {
	if k.logf != nil {
		k.logf(format, args...)
	}
}

// All returns every notification received so far, oldest first.
func (k *Sink) All() []Notification {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.notifications)
}

// WaitFor returns the first notification, received so far or later, for
// which match is true; or an error when ctx ends first, which says what the
// sink did receive. To wait only for new ones, check Received in match.
func (k *Sink) WaitFor(ctx context.Context, match func(Notification) bool) (Notification, error) {
	seen := 0
	for {
		k.mu.Lock()
		all := k.notifications
		arrived := k.arrived
		k.mu.Unlock()
		for _, n := range all[seen:] {
			if match(n) {
				return n, nil
			}
		}
		seen = len(all)
		select {
		case <-arrived:
		case <-ctx.Done():
			return Notification{}, fmt.Errorf("waiting for a notification to team %s: %w; it got %d: %s",
				k.team, context.Cause(ctx), len(all), summarize(all))
		}
	}
}

func summarize(ns []Notification) string {
	if len(ns) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, n.String())
	}
	return strings.Join(parts, "; ")
}

// Close stops the sink's server; what it recorded stays readable. Later
// calls return the first call's result.
func (k *Sink) Close() error {
	k.closeOnce.Do(func() { k.closeErr = k.close() })
	return k.closeErr
}

func (k *Sink) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errShutdown := k.srv.Shutdown(ctx)
	if errShutdown != nil {
		errShutdown = fmt.Errorf("stopping the sink of team %s: %w", k.team, errShutdown)
	}
	var errServe error
	if err := <-k.served; !errors.Is(err, http.ErrServerClosed) {
		errServe = fmt.Errorf("the sink of team %s: %w", k.team, err)
	}
	return errors.Join(errShutdown, errServe)
}
