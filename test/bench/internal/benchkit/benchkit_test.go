package benchkit

import (
	"os"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func ptr[T any](v T) *T { return &v }

func counter(value float64, labels ...string) *dto.Metric {
	m := &dto.Metric{Counter: &dto.Counter{Value: ptr(value)}}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Label = append(m.Label, &dto.LabelPair{Name: ptr(labels[i]), Value: ptr(labels[i+1])})
	}
	return m
}

func TestRequests(t *testing.T) {
	family := func(ms ...*dto.Metric) map[string]*dto.MetricFamily {
		return map[string]*dto.MetricFamily{"apiserver_request_total": {Metric: ms}}
	}
	before := RequestsIn(family(
		counter(2, "resource", "cxobjectives", "subresource", "status", "verb", "PATCH", "code", "200"),
		counter(5, "resource", "cxobjectives", "verb", "LIST"),
	))
	after := RequestsIn(family(
		// Response codes are summed.
		counter(4, "resource", "cxobjectives", "subresource", "status", "verb", "PATCH", "code", "200"),
		counter(1, "resource", "cxobjectives", "subresource", "status", "verb", "PATCH", "code", "409"),
		counter(1, "resource", "cxobjectives", "subresource", "status", "verb", "APPLY", "code", "200"),
		counter(5, "resource", "cxobjectives", "verb", "LIST"),
		counter(3, "resource", "events", "verb", "DELETECOLLECTION"),
	))
	d := after.Minus(before)
	if _, ok := d[RequestKey{"cxobjectives", "", "LIST"}]; ok {
		t.Errorf("Minus kept a series that did not move: %v", d)
	}
	if got := d.Writes("cxobjectives", "status"); got != 4 {
		t.Errorf("status writes = %d, want 4 (3 PATCH, 1 APPLY)", got)
	}
	if got := d.Writes("events", ""); got != 3 {
		t.Errorf("event writes = %d, want 3", got)
	}
	if got, want := (RequestKey{"cxobjectives", "status", "PATCH"}).String(), "PATCH cxobjectives/status"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestReadStat(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != os.Getppid() {
		t.Errorf("ppid = %d, want %d", st.ppid, os.Getppid())
	}
	if st.comm == "" {
		t.Error("no command name")
	}
	if rss, hwm, err := ReadMemory(os.Getpid()); err != nil || rss <= 0 || hwm < rss {
		t.Errorf("ReadMemory = %d, %d, %v; want 0 < VmRSS <= VmHWM", rss, hwm, err)
	}
}
