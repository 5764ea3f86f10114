package stack

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const firingPayload = `{"version":"4","groupKey":"{}:{alertname=\"CXSmoke\"}","truncatedAlerts":0,
"status":"firing","receiver":"shop/checkout/oncall","groupLabels":{"alertname":"CXSmoke"},
"commonLabels":{"alertname":"CXSmoke","cx_team":"checkout","namespace":"shop","severity":"page"},
"commonAnnotations":{"summary":"always"},"externalURL":"http://127.0.0.1:9093",
"alerts":[{"status":"firing","labels":{"alertname":"CXSmoke","cx_team":"checkout"},"annotations":{},
"startsAt":"2026-01-05T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"abc"}]}`

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestSinkRecordsNotificationsAndWakesWaiters(t *testing.T) {
	k, err := StartSink("checkout", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := k.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Notification, 1)
	go func() {
		n, err := k.WaitFor(ctx, func(n Notification) bool { return n.Status == "firing" })
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	if code := post(t, k.URL(), firingPayload); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	n := <-got
	if n.Receiver != "shop/checkout/oncall" || n.CommonLabels["cx_team"] != "checkout" || len(n.Alerts) != 1 || n.Received.IsZero() {
		t.Errorf("recorded %+v", n)
	}
	if !n.Alerts[0].StartsAt.Equal(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("startsAt %v", n.Alerts[0].StartsAt)
	}
	if code := post(t, k.URL(), "not json"); code != http.StatusBadRequest {
		t.Errorf("a body that is not JSON: status %d, want 400", code)
	}
	if len(k.All()) != 1 {
		t.Errorf("All() has %d notifications, want 1", len(k.All()))
	}
}

func TestSinkWaitForSaysWhatItGotOnTheDeadline(t *testing.T) {
	k, err := StartSink("finance", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := k.Close(); err != nil {
			t.Error(err)
		}
	}()
	post(t, k.URL(), firingPayload)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = k.WaitFor(ctx, func(n Notification) bool { return n.Status == "resolved" })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "CXSmoke") {
		t.Errorf("error %v, want a deadline that names the firing CXSmoke notification", err)
	}
}

func TestPollNamesTheLastReasonOnTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	err := poll(ctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		return false, errors.New("not yet")
	})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not yet") {
		t.Errorf("error %v", err)
	}
	err = poll(context.Background(), time.Hour, func(context.Context) (bool, error) {
		return false, stopPolling(errors.New("cannot work"))
	})
	if err == nil || err.Error() != "cannot work" {
		t.Errorf("a permanent error: %v", err)
	}
}

func TestStackPollEndsWhenAProcessDies(t *testing.T) {
	s := &Stack{opts: Options{LogDir: t.TempDir(), Logf: t.Logf}, workDir: t.TempDir(), sinks: map[string]*Sink{}}
	quitter, err := s.startProcess("quitter", "/bin/sh", []string{"-c", "echo bind: address already in use; exit 3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = s.Poll(ctx, 20*time.Millisecond, func(context.Context) (bool, error) {
		return false, errors.New("no rule group yet")
	})
	if err == nil || errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "quitter exited by itself: exit status 3") || !strings.Contains(err.Error(), quitter.logPath) {
		t.Errorf("Poll with a dead process: %v, want at once the process, its exit and its log", err)
	}

	// A process the harness stopped is no failure.
	s = &Stack{opts: Options{LogDir: t.TempDir(), Logf: t.Logf}, workDir: t.TempDir(), sinks: map[string]*Sink{}}
	sleeper, err := s.startProcess("sleeper", "/bin/sh", []string{"-c", "exec sleep 60"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sleeper.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = s.Poll(ctx, 20*time.Millisecond, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Poll after a stop: %v after %d calls, want nil after 3", err, calls)
	}
}

func TestGeneratedConfigGunzipsTheOperatorsSecret(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write([]byte("route: {receiver: x}\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    map[string][]byte
		want    string
		wantErr bool
	}{
		{"a gzipped configuration is gunzipped", map[string][]byte{"alertmanager.yaml.gz": gz.Bytes()}, "route: {receiver: x}\n", false},
		{"a plain configuration is taken as is", map[string][]byte{"alertmanager.yaml": []byte("plain")}, "plain", false},
		{"a Secret without either key is an error", map[string][]byte{"other": nil}, "", true},
		{"a key that is not gzip is an error", map[string][]byte{"alertmanager.yaml.gz": []byte("plain")}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := &corev1.Secret{Data: tt.data}
			sec.Name = "alertmanager-cx-generated"
			got, err := generatedConfig(sec)
			if (err != nil) != tt.wantErr || string(got) != tt.want {
				t.Errorf("got %q, %v", got, err)
			}
		})
	}
}

func TestStartSaysHowToBuildMissingBinaries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := Start(ctx, Options{BinDir: t.TempDir()})
	if err == nil {
		_ = st.Stop()
		t.Fatal("Start succeeded without binaries")
	}
	if !strings.Contains(err.Error(), "hack/build-stack.sh") {
		t.Errorf("error %v, want it to name hack/build-stack.sh", err)
	}
}
