package stack

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Sync targets, as SyncEvent.Target names them.
const (
	// TargetPrometheus is Prometheus's rule folder.
	TargetPrometheus = "prometheus"
	// TargetAlertmanager is Alertmanager's configuration file.
	TargetAlertmanager = "alertmanager"
)

// SyncEvent is one change the sync loop carried from prometheus-operator's
// output to Prometheus or Alertmanager.
type SyncEvent struct {
	// Time is when the reload was asked for.
	Time time.Time
	// Target is TargetPrometheus or TargetAlertmanager.
	Target string
	// Changes lists what changed: "+file", "~file", "-file" for rule
	// files, "alertmanager.yaml" for the configuration.
	Changes []string
	// Err is nil when the files were written and the reload succeeded;
	// otherwise why not. A rejected reload (a broken rule file or
	// configuration) keeps the old one running.
	Err error
}

func (e SyncEvent) String() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %v failed: %v", e.Target, e.Changes, e.Err)
	}
	return fmt.Sprintf("%s %v reloaded", e.Target, e.Changes)
}

// errRejected marks a reload the server refused (HTTP 500): its input is
// broken, and trying again without a change is pointless.
var errRejected = errors.New("reload rejected")

// syncer plays the kubelet and the config reloader of a cluster: it copies
// prometheus-operator's rule ConfigMaps into Prometheus's rule folder and
// its generated Alertmanager Secret into Alertmanager's configuration file,
// and reloads each on a change.
type syncer struct {
	s        *Stack
	cache    cache.Cache
	ns       string
	ruleCMs  string // name prefix of the rule ConfigMaps
	amSecret string // name of the generated Alertmanager Secret

	ruleDir, tmpDir, amConfigPath string

	kick chan struct{}

	// Owned by the loop goroutine.
	rules                  map[string]string // file name -> content, as written
	amConfig               []byte
	retryProm, retryAM     bool // a reload failed for a reason that may pass
	promChanges, amChanges []string

	mu     sync.Mutex
	events []SyncEvent
}

// startSync starts watching the monitoring namespace and the loop; it
// returns once the watches have listed the namespace once.
func (s *Stack) startSync(ctx context.Context) error {
	c, err := cache.New(s.restConfig, cache.Options{
		Scheme:            s.scheme,
		DefaultNamespaces: map[string]cache.Config{s.opts.MonitoringNamespace: {}},
	})
	if err != nil {
		return fmt.Errorf("creating the watch of the monitoring namespace: %w", err)
	}
	y := &syncer{
		s:            s,
		cache:        c,
		ns:           s.opts.MonitoringNamespace,
		ruleCMs:      "prometheus-" + ResourceName + "-rulefiles-",
		amSecret:     "alertmanager-" + ResourceName + "-generated",
		ruleDir:      s.ruleDir,
		tmpDir:       filepath.Join(s.workDir, "sync-tmp"),
		amConfigPath: s.amConfigPath,
		kick:         make(chan struct{}, 1),
		rules:        map[string]string{},
	}
	if err := os.MkdirAll(y.tmpDir, 0o755); err != nil {
		return fmt.Errorf("creating the sync loop's folder: %w", err)
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { y.onEvent(obj) },
		UpdateFunc: func(_, obj any) { y.onEvent(obj) },
		DeleteFunc: func(obj any) { y.onEvent(obj) },
	}
	for _, obj := range []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watching %T in %s: %w", obj, y.ns, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watching %T in %s: %w", obj, y.ns, err)
		}
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cacheErr := make(chan error, 1)
	wg.Go(func() { cacheErr <- c.Start(loopCtx) })
	s.stopSync = func() error {
		cancel()
		wg.Wait()
		if err := <-cacheErr; err != nil {
			return fmt.Errorf("the watch of the monitoring namespace: %w", err)
		}
		return nil
	}
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("waiting for the watch of %s to list it: %w", y.ns, context.Cause(ctx))
	}
	s.syncer = y
	wg.Go(func() { y.loop(loopCtx) })
	y.trigger()
	return nil
}

// onEvent wakes the loop for the objects it copies.
func (y *syncer) onEvent(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, ok := obj.(client.Object)
	if !ok {
		return
	}
	if strings.HasPrefix(o.GetName(), y.ruleCMs) || o.GetName() == y.amSecret {
		y.trigger()
	}
}

func (y *syncer) trigger() {
	select {
	case y.kick <- struct{}{}:
	default: // a sync is pending already and will see this change
	}
}

func (y *syncer) loop(ctx context.Context) {
	// Retries only after a reload failed for a reason that may pass (the
	// server not answering); a rejected input waits for the next change.
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-y.kick:
		case <-retry.C:
			if !y.retryProm && !y.retryAM {
				continue
			}
		}
		y.syncRules(ctx)
		y.syncAlertmanager(ctx)
	}
}

// syncRules makes the rule folder hold exactly the rule ConfigMaps' files
// and reloads Prometheus when it changed.
func (y *syncer) syncRules(ctx context.Context) {
	var cms corev1.ConfigMapList
	if err := y.cache.List(ctx, &cms, client.InNamespace(y.ns)); err != nil {
		y.record(TargetPrometheus, nil, fmt.Errorf("listing the rule ConfigMaps: %w", err))
		return
	}
	want := map[string]string{}
	for _, cm := range cms.Items {
		if !strings.HasPrefix(cm.Name, y.ruleCMs) {
			continue
		}
		for key, content := range cm.Data {
			name := key
			if !strings.HasSuffix(name, ".yaml") {
				name += ".yaml"
			}
			want[name] = content
		}
	}
	var changes []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		old, had := y.rules[name]
		switch {
		case !had:
			changes = append(changes, "+"+name)
		case old != want[name]:
			changes = append(changes, "~"+name)
		default:
			continue
		}
		if err := y.writeFile(filepath.Join(y.ruleDir, name), []byte(want[name])); err != nil {
			y.retryProm = true
			y.record(TargetPrometheus, changes, err)
			return
		}
		y.rules[name] = want[name]
	}
	for _, name := range slices.Sorted(maps.Keys(y.rules)) {
		if _, ok := want[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(y.ruleDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			y.retryProm = true
			y.record(TargetPrometheus, changes, fmt.Errorf("removing a stale rule file: %w", err))
			return
		}
		delete(y.rules, name)
		changes = append(changes, "-"+name)
	}
	// After a failed reload, the changes of the failed attempt are what
	// the retry delivers.
	y.promChanges = append(y.promChanges, changes...)
	if len(changes) == 0 && !y.retryProm {
		return
	}
	err := reload(ctx, y.s.promURL)
	if errors.Is(err, errRejected) {
		// Prometheus's answer names no file; promtool does.
		err = fmt.Errorf("%w; %s", err, y.checkRules(ctx))
	}
	y.retryProm = err != nil && !errors.Is(err, errRejected)
	y.record(TargetPrometheus, y.promChanges, err)
	if !y.retryProm {
		y.promChanges = nil
	}
}

// checkRules runs promtool check rules on the rule folder and returns what
// it found, to explain a refused reload.
func (y *syncer) checkRules(ctx context.Context) string {
	promtool := filepath.Join(y.s.opts.BinDir, "promtool")
	if _, err := os.Stat(promtool); err != nil {
		return "no promtool in " + y.s.opts.BinDir + " to say why"
	}
	files := slices.Sorted(maps.Keys(y.rules))
	args := []string{"check", "rules"}
	for _, f := range files {
		args = append(args, filepath.Join(y.ruleDir, f))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
	var problems []string
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "Checking ") && !strings.HasPrefix(line, "SUCCESS") && line != "FAILED:" {
			problems = append(problems, line)
		}
	}
	if err == nil {
		return "promtool check rules finds no problem"
	}
	return "promtool check rules: " + strings.Join(problems, "; ")
}

// syncAlertmanager writes the generated configuration, gunzipped, into
// Alertmanager's file and reloads Alertmanager when it changed.
func (y *syncer) syncAlertmanager(ctx context.Context) {
	var sec corev1.Secret
	err := y.cache.Get(ctx, client.ObjectKey{Namespace: y.ns, Name: y.amSecret}, &sec)
	if apierrors.IsNotFound(err) {
		return // not generated yet: the harness's placeholder runs
	}
	if err != nil {
		y.record(TargetAlertmanager, nil, fmt.Errorf("reading the Secret %s: %w", y.amSecret, err))
		return
	}
	cfg, err := generatedConfig(&sec)
	if err != nil {
		y.record(TargetAlertmanager, nil, err)
		return
	}
	if !bytes.Equal(cfg, y.amConfig) {
		if err := y.writeFile(y.amConfigPath, cfg); err != nil {
			y.retryAM = true
			y.record(TargetAlertmanager, []string{filepath.Base(y.amConfigPath)}, err)
			return
		}
		y.amConfig = cfg
		y.amChanges = []string{filepath.Base(y.amConfigPath)}
	} else if !y.retryAM {
		return
	}
	err = reload(ctx, y.s.amURL)
	y.retryAM = err != nil && !errors.Is(err, errRejected)
	y.record(TargetAlertmanager, y.amChanges, err)
	if !y.retryAM {
		y.amChanges = nil
	}
}

// generatedConfig returns the Alertmanager configuration of
// prometheus-operator's Secret: alertmanager.yaml.gz gunzipped, or a plain
// alertmanager.yaml.
func generatedConfig(sec *corev1.Secret) ([]byte, error) {
	if gz, ok := sec.Data["alertmanager.yaml.gz"]; ok {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, fmt.Errorf("gunzipping alertmanager.yaml.gz of %s: %w", sec.Name, err)
		}
		cfg, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("gunzipping alertmanager.yaml.gz of %s: %w", sec.Name, err)
		}
		return cfg, nil
	}
	if cfg, ok := sec.Data["alertmanager.yaml"]; ok {
		return cfg, nil
	}
	return nil, fmt.Errorf("the Secret %s has neither alertmanager.yaml.gz nor alertmanager.yaml; keys: %v", sec.Name, slices.Sorted(maps.Keys(sec.Data)))
}

// writeFile replaces path with data in one rename, so that a reload never
// reads half a file.
func (y *syncer) writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(y.tmpDir, filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", path, err), os.Remove(f.Name()))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", path, err), os.Remove(f.Name()))
	}
	return nil
}

// reload POSTs /-/reload. A 500 means the server refused its new input and
// runs the old one (errRejected).
func reload(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST /-/reload: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusInternalServerError:
		return fmt.Errorf("%w: POST /-/reload: %s: %s", errRejected, resp.Status, strings.TrimSpace(string(body)))
	default:
		return fmt.Errorf("POST /-/reload: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
}

func (y *syncer) record(target string, changes []string, err error) {
	e := SyncEvent{Time: time.Now(), Target: target, Changes: slices.Clone(changes), Err: err}
	y.mu.Lock()
	y.events = append(y.events, e)
	y.mu.Unlock()
	if err != nil {
		y.s.Logf("sync: %s: FAILED, the old configuration keeps running: %s", target, e)
		return
	}
	y.s.Logf("sync: %s", e)
}

// SyncEvents returns every change the sync loop carried so far, oldest
// first: what was written and whether the reload succeeded.
func (s *Stack) SyncEvents() []SyncEvent {
	if s.syncer == nil {
		return nil
	}
	s.syncer.mu.Lock()
	defer s.syncer.mu.Unlock()
	return slices.Clone(s.syncer.events)
}

// lastSync describes the last sync of target, for wait errors.
func (s *Stack) lastSync(target string) string {
	events := s.SyncEvents()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Target == target {
			return fmt.Sprintf("%s at +%.3fs", events[i], events[i].Time.Sub(s.started).Seconds())
		}
	}
	return "none yet"
}
