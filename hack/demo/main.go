// Command demo starts a local control plane (the kube-apiserver and etcd that
// `make envtest` builds), installs the CRDs, applies config/samples and shows
// them with kubectl. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cxops/cx-operator/test/utils"
)

const demoNamespace = "shop"

func main() {
	kubectl := flag.String("kubectl", "kubectl", "kubectl binary")
	flag.String("assets", "", "folder with kube-apiserver and etcd (KUBEBUILDER_ASSETS)")
	flag.Parse()
	if err := run(*kubectl); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(kubectl string) (err error) {
	env, err := utils.NewEnvironment()
	if err != nil {
		return err
	}
	say("Starting a local control plane (kube-apiserver and etcd) with the cx-operator and prometheus-operator CRDs")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		if stopErr := env.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping the control plane: %w", stopErr)
		}
	}()
	user, err := env.AddUser(envtest.User{Name: "demo", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the demo user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing a kubeconfig: %w", err)
	}
	dir, err := os.MkdirTemp("", "cx-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfigPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}

	c, err := client.New(cfg, client.Options{Scheme: utils.Scheme()})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", demoNamespace, err)
	}
	say("Applying config/samples: a team per department and an objective per touchpoint")
	if err := kubectlRun(kubectl, kubeconfigPath, "apply", "-n", demoNamespace, "-k", filepath.Join(utils.RepoRoot(), "config", "samples")); err != nil {
		return err
	}
	say("kubectl get cxteam,cxo -A")
	if err := kubectlRun(kubectl, kubeconfigPath, "get", "cxteam,cxo", "-A"); err != nil {
		return err
	}
	say("kubectl explain cxobjective.spec.sli")
	if err := kubectlRun(kubectl, kubeconfigPath, "explain", "cxobjective.spec.sli"); err != nil {
		return err
	}
	if os.Getenv("DEMO_EXIT") == "1" {
		return nil
	}
	say(fmt.Sprintf("The control plane keeps running. Try:\n  export KUBECONFIG=%s\n  %s get cx -A\nCtrl-C stops it and cleans up.", kubeconfigPath, kubectl))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

func say(msg string) { fmt.Printf("\n==> %s\n", msg) }

func kubectlRun(kubectl, kubeconfig string, args ...string) error {
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %v: %w", args, err)
	}
	return nil
}
