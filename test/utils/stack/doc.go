// Package stack runs the local end-to-end stack of cx-operator on one machine,
// every server on 127.0.0.1 and on ports chosen at start, without Docker or a
// cluster:
//
//   - a control plane: envtest with the real kube-apiserver and etcd
//     (KUBEBUILDER_ASSETS), our CRDs and the prometheus-operator CRDs of
//     test/crds, plus ServiceMonitor, PodMonitor and Probe as the operator
//     binary prints them (`prometheus-operator crds`: its Prometheus
//     controller waits for them before it writes any rule file), and a
//     kubeconfig file (user in system:masters) for processes and for people;
//   - the real prometheus-operator binary against it, with one Prometheus
//     and one Alertmanager resource (both named "cx" in the monitoring
//     namespace) that select every PrometheusRule and AlertmanagerConfig;
//   - real Prometheus and real Alertmanager processes. prometheus-operator
//     cannot run them (there is no kubelet), so a sync loop plays the
//     kubelet and the config reloader: it copies the rule files from the
//     operator's ConfigMaps prometheus-cx-rulefiles-N into Prometheus's rule
//     folder and the gunzipped alertmanager.yaml.gz of the Secret
//     alertmanager-cx-generated into Alertmanager's config file, and POSTs
//     /-/reload on each change. Prometheus's own prometheus.yml is written by
//     the harness (the operator's is made for pods);
//   - the synthetic shop exporter (test/shop), built with `go build` and run
//     as a separate process, scraped with honor_labels;
//   - one in-process webhook sink per team that records every Alertmanager
//     notification;
//   - optionally the cx-operator manager binary, run as a user would run it
//     (KUBECONFIG in its environment).
//
// Start returns once everything is up and prometheus-operator's first
// Alertmanager configuration is loaded; Stop stops it all and returns every
// cleanup error. Every wait takes a context and polls until its condition or
// the context's deadline; none sleeps a fixed time.
//
// The binaries come from `hack/build-stack.sh bin ...` (prometheus-operator,
// prometheus, alertmanager in Options.BinDir) and `make envtest`
// (kube-apiserver and etcd in KUBEBUILDER_ASSETS).
//
// Every process writes its stdout and stderr to <name>.log in
// Options.LogDir, the harness its own timeline to harness.log; DumpLogs
// prints the tail of each, for failure messages.
package stack
