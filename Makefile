# cx-operator Makefile. `make help` lists the targets.

# Image to build and deploy.
IMG ?= ghcr.io/cxops/cx-operator:dev

# Pinned versions of everything the build and the tests use. Tools are built
# from the Go module proxy into ./bin (and cached outside the clone, keyed by
# version, see hack/gotool.sh and hack/build-k8s.sh).
K8S_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.16
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
PROMETHEUS_OPERATOR_VERSION ?= v0.93.1
# Prometheus 3.16 is the module version v0.316.0; the same engine as the
# github.com/prometheus/prometheus library the tests evaluate rules with.
PROMETHEUS_VERSION ?= v0.316.0
ALERTMANAGER_VERSION ?= v0.34.2

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(K8S_VERSION:v%=%)
KUBE_APISERVER := $(ENVTEST_ASSETS)/kube-apiserver
# kubectl: the one on the PATH, else one of the same Kubernetes version as the
# local control plane, built into ./bin.
KUBECTL ?= $(shell command -v kubectl 2>/dev/null || echo $(ENVTEST_ASSETS)/kubectl)

# Where the prometheus-operator CRDs that tests and the demo install live.
PROMETHEUS_OPERATOR_CRDS := test/crds/prometheus-operator-$(PROMETHEUS_OPERATOR_VERSION)

GO_TEST_FLAGS ?=
export KUBEBUILDER_ASSETS := $(ENVTEST_ASSETS)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the markers in api/ and internal/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## Run golangci-lint and fix what it can.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: verify
verify: manifests generate prometheus-operator-crds fmt ## Regenerate everything and fail if the tree changed.
	go mod tidy
	@if [ -n "$$(git status --porcelain)" ]; then \
	  echo "verify: the tree is dirty after regenerating; commit the result:"; git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

.PHONY: test
test: manifests generate vet envtest stack ## Run every test: unit, golden, envtest suites and the end to end test (the README's test command).
	go test $(GO_TEST_FLAGS) ./...
	$(MAKE) test-e2e

.PHONY: test-e2e
test-e2e: envtest stack ## Run the end-to-end test on the local stack: kube-apiserver, prometheus-operator, Prometheus, Alertmanager, the manager.
	go test -tags e2e -count=1 -parallel 8 -timeout 25m $(GO_TEST_FLAGS) ./test/e2e/ ./test/utils/stack/

.PHONY: test-unit
test-unit: ## Run only the tests that need no control plane.
	go test $(GO_TEST_FLAGS) ./api/... ./internal/slo/... ./internal/rules/...

BENCH_RENDER_FLAGS ?=
.PHONY: bench-render
bench-render: ## Time kubectl cx render on 1,000 objectives against sloth generate on the same SLOs; prints the table for docs/benchmarks.md.
	go run ./test/bench/render $(BENCH_RENDER_FLAGS)

BENCH_RULES_FLAGS ?=
.PHONY: bench-rules
bench-rules: ## Measure rule evaluation cost and detection against Sloth and Pyrra; rewrites docs/benchmarks.md (BENCH_RULES_FLAGS="--days 30" for 30 days).
	go run ./test/bench/rules --markdown $(BENCH_RULES_FLAGS)

BENCH_RECONCILE_FLAGS ?=
.PHONY: bench-reconcile
bench-reconcile: envtest ## Measure the manager binary on a local control plane at 1,000 and 10,000 objectives (time to rules, latency, peak RSS, API writes); rewrites its results in docs/benchmarks.md.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	go run ./test/bench/reconcile --manager $(LOCALBIN)/manager --markdown $(BENCH_RECONCILE_FLAGS)

BENCH_BUDGET_FLAGS ?=
.PHONY: bench-budget
bench-budget: envtest ## Measure the budget reader with 10,000 objectives and a fake Prometheus (queries/s, in flight, API writes/min, manager CPU and RSS); prints the block for docs/benchmarks.md.
	go run ./test/bench/budget $(BENCH_BUDGET_FLAGS)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary and the kubectl plugin (bin/kubectl-cx).
	go build -o bin/manager ./cmd/manager
	go build -o bin/kubectl-cx ./cmd/kubectl-cx

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager

.PHONY: demo
demo: envtest stack ## The main job: the local stack, the samples, a checkout incident paging the checkout team (DEMO_EXIT=1 ends after the story).
	go run ./hack/demo

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the manager image.
	docker push $(IMG)

##@ Deployment

.PHONY: install
install: manifests $(KUBECTL) ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests $(KUBECTL) ## Remove the CRDs from the cluster of the current kubeconfig.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests $(KUBECTL) ## Deploy the manager (image IMG) to the cluster of the current kubeconfig.
	cd config/manager && $(KUBECTL) kustomize . >/dev/null
	$(KUBECTL) kustomize config/default | sed 's|controller:latest|$(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: $(KUBECTL) ## Remove the manager from the cluster of the current kubeconfig.
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Dependencies

.PHONY: envtest
envtest: $(KUBE_APISERVER) $(ENVTEST_ASSETS)/kube-controller-manager ## Build kube-apiserver, etcd, kube-controller-manager (its garbage collector runs in the tests) and kubectl for the local control plane into ./bin.

$(KUBE_APISERVER) $(ENVTEST_ASSETS)/kube-controller-manager:
	hack/build-k8s.sh $(ENVTEST_ASSETS) $(K8S_VERSION) $(ETCD_VERSION)

$(ENVTEST_ASSETS)/kubectl: $(KUBE_APISERVER)

$(CONTROLLER_GEN):
	hack/gotool.sh $(LOCALBIN) $(notdir $@) sigs.k8s.io/controller-tools/cmd/controller-gen $(CONTROLLER_TOOLS_VERSION)

$(GOLANGCI_LINT):
	hack/gotool.sh $(LOCALBIN) $(notdir $@) github.com/golangci/golangci-lint/v2/cmd/golangci-lint $(GOLANGCI_LINT_VERSION)

STACK := $(LOCALBIN)/prometheus-operator

.PHONY: stack
stack: $(STACK) ## Build prometheus-operator, Prometheus (and promtool) and Alertmanager (and amtool) into ./bin, for the end-to-end stack.

$(STACK):
	hack/build-stack.sh $(LOCALBIN) $(PROMETHEUS_OPERATOR_VERSION) $(PROMETHEUS_VERSION) $(ALERTMANAGER_VERSION)

.PHONY: prometheus-operator-crds
prometheus-operator-crds: ## Copy the prometheus-operator CRDs the tests install from its Go module into test/crds.
	hack/prometheus-operator-crds.sh $(PROMETHEUS_OPERATOR_VERSION) $(PROMETHEUS_OPERATOR_CRDS)
