package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// profiles are CPU profiles being taken while the objectives are created.
type profiles struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// startProfiles starts the CPU profiles that cfg asks for; without
// --profile it does nothing.
func startProfiles(ctx context.Context, cfg config, cp *benchkit.ControlPlane, n int) *profiles {
	p := &profiles{}
	if cfg.profileDir == "" {
		return p
	}
	seconds := fmt.Sprintf("?seconds=%d", cfg.profileSeconds)
	p.fetch(ctx, cp.MetricsClient, strings.TrimSuffix(cp.Admin.Host, "/")+"/debug/pprof/profile"+seconds,
		filepath.Join(cfg.profileDir, fmt.Sprintf("kube-apiserver-cpu-%d.pprof", n)))
	if cfg.managerPprof != "" {
		p.fetch(ctx, http.DefaultClient, "http://"+cfg.managerPprof+"/debug/pprof/profile"+seconds,
			filepath.Join(cfg.profileDir, fmt.Sprintf("manager-cpu-%d.pprof", n)))
	}
	return p
}

func (p *profiles) fetch(ctx context.Context, hc *http.Client, url, path string) {
	p.wg.Go(func() {
		if err := download(ctx, hc, url, path); err != nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.errs = append(p.errs, err)
		}
	})
}

// finish waits for the CPU profiles and takes the manager's heap profile.
func (p *profiles) finish(ctx context.Context, cfg config, n int) error {
	if cfg.profileDir != "" && cfg.managerPprof != "" {
		p.fetch(ctx, http.DefaultClient, "http://"+cfg.managerPprof+"/debug/pprof/heap",
			filepath.Join(cfg.profileDir, fmt.Sprintf("manager-heap-%d.pprof", n)))
	}
	p.wg.Wait()
	return errors.Join(p.errs...)
}

func download(ctx context.Context, hc *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("profiling: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling: GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("profiling: reading %s: %w", url, err)
	}
	return f.Close()
}
