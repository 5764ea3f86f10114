package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cxops/cx-operator/internal/desired"
)

// Streams are the standard streams of a run.
type Streams struct {
	In          io.Reader
	Out, ErrOut io.Writer
}

// Main runs kubectl-cx with the arguments (without the program name) and
// returns the exit code: ExitOK, ExitError or ExitUsage. Errors are written
// to s.ErrOut as one line each, prefixed "kubectl-cx: "; a panic is caught
// and written the same way, without a stack trace.
func Main(ctx context.Context, args []string, s Streams) (code int) {
	defer func() {
		if r := recover(); r != nil {
			diagnose(s.ErrOut, "internal error: %v (please report it, with the command line)", r)
			if os.Getenv("KUBECTL_CX_DEBUG") != "" {
				_, _ = s.ErrOut.Write(debug.Stack())
			}
			code = ExitError
		}
	}()
	root := newCommand(s)
	root.SetArgs(args)
	err := unknownCommand(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	var usage *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrReported):
		return ExitError
	case errors.As(err, &usage):
		cmd, _, findErr := root.Find(args)
		if findErr != nil || cmd == nil {
			cmd = root
		}
		diagnose(s.ErrOut, "%s\nSee '%s --help'.", oneLine(err.Error()), cmd.CommandPath())
		return ExitUsage
	default:
		diagnose(s.ErrOut, "%s", oneLine(err.Error()))
		return ExitError
	}
}

// newCommand builds the command tree that Main runs; a test replaces it to
// reach the recovery from a panic.
var newCommand = NewCommand

// NewCommand returns the kubectl-cx command tree. Commands print to s and
// return errors; Main turns them into exit codes.
func NewCommand(s Streams) *cobra.Command {
	var namespace string
	root := &cobra.Command{
		Use:   "kubectl-cx",
		Short: "Check, render and simulate cx-operator objectives and teams before they reach a cluster",
		Long: `kubectl cx answers, before merge and without a cluster, what a GitOps pipeline asks of
CXObjective and CXTeam manifests: are they valid, what will the controller generate,
which team and channels would an alert reach, and would it actually page.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl cx"},
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.PersistentFlags().StringVarP(&namespace, "namespace", "n", "default",
		"namespace of the objects that have none, as kubectl apply would give them")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SuggestionsMinimumDistance = 2

	in := func(o *InputOptions) {
		o.Namespace = namespace
		o.Stdin = s.In
	}
	root.AddCommand(
		renderCommand(s, in),
		validateCommand(s, in),
		routeCommand(s, in),
		testCommand(s, in),
		importCommand(s, &namespace),
	)
	return root
}

// unknownCommand refuses a first argument that names no command before
// flags are parsed, so that `kubectl cx lint -f x` says that lint is not a
// command rather than that -f is not a flag of kubectl cx.
func unknownCommand(root *cobra.Command, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil
	}
	for _, c := range root.Commands() {
		if c.Name() == args[0] || c.HasAlias(args[0]) || args[0] == "help" {
			return nil
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], "kubectl cx")
	if suggestions := root.SuggestionsFor(args[0]); len(suggestions) > 0 {
		msg += "; did you mean " + strings.Join(suggestions, " or ") + "?"
	}
	return usagef("%s", msg)
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usagef("%s takes no arguments, got %q (give manifests with -f)", cmd.CommandPath(), strings.Join(args, " "))
}

// inputFlags binds the flags that choose manifests.
func inputFlags(fs *pflag.FlagSet, o *InputOptions) {
	fs.StringSliceVarP(&o.Files, "filename", "f", nil, "manifest file or folder to read (repeatable; - reads standard input)")
	fs.BoolVarP(&o.Recursive, "recursive", "R", false, "read the subfolders of folders given with -f too")
	fs.BoolVar(&o.SkipUnknownKinds, "skip-unknown-kinds", false,
		"skip objects of kinds other than CXObjective, CXTeam and Secret with a warning, instead of failing")
}

func renderCommand(s Streams, in func(*InputOptions)) *cobra.Command {
	o := RenderCommand{Options: desired.Options{
		RuleLabels: maps.Clone(desired.DefaultSelectorLabels), ConfigLabels: maps.Clone(desired.DefaultSelectorLabels)}}
	cmd := &cobra.Command{
		Use:   "render -f FILE|DIR [-o yaml|json] [--format objects|rule-file]",
		Short: "Print the PrometheusRules and AlertmanagerConfigs the controller would apply",
		Long: `render prints, for each CXTeam, the AlertmanagerConfig and, for each CXObjective, the
PrometheusRule that the controller applies: the same code path, byte for byte the
server-side apply payload. Objects read from files have no metadata.uid; their output
has no ownerReferences (a note on stderr says so). Secrets are never printed.

An objective whose owner team is not among the manifests is reported as the controller
reports it (TeamNotFound); everything else is still printed and the exit code is 1.

--format=rule-file prints plain Prometheus rule files instead, for Prometheus servers
without prometheus-operator.`,
		Example: `  kubectl cx render -f config/samples
  kubectl cx render -f config/samples -n shop -o json
  kubectl cx render -f config/samples --format=rule-file --output-dir rules/
  kubectl get cxo,cxteam -A -o yaml | kubectl cx render -f -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in(&o.Input)
			return RunRender(cmd.Context(), s.Out, s.ErrOut, o)
		},
	}
	inputFlags(cmd.Flags(), &o.Input)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "yaml", "yaml or json")
	cmd.Flags().StringVar(&o.Format, "format", FormatObjects, FormatObjects+" (the Kubernetes objects) or "+FormatRuleFile+" (Prometheus rule files)")
	cmd.Flags().StringVar(&o.OutputDir, "output-dir", "", "with --format=rule-file, write one rule file per objective into this folder")
	cmd.Flags().Var(labelsValue{&o.Options.RuleLabels}, "rule-labels",
		"labels put on every PrometheusRule, as key=value,... (the manager's flag of the same name)")
	cmd.Flags().Var(labelsValue{&o.Options.ConfigLabels}, "alertmanager-config-labels",
		"labels put on every AlertmanagerConfig, as key=value,... (the manager's flag of the same name)")
	return cmd
}

func validateCommand(s Streams, in func(*InputOptions)) *cobra.Command {
	var o ValidateCommand
	cmd := &cobra.Command{
		Use:   "validate -f FILE|DIR",
		Short: "Report every problem the API server or the controller would report",
		Long: `validate checks each CXObjective and CXTeam the way the API server checks a create, with
the CRDs built into kubectl-cx (schema defaults, OpenAPI schema, list types and the
CRDs' CEL rules, evaluated by the API server's own libraries), and then the way the
controller does (owner team among the manifests, PromQL, rules and routes).

It prints one line per problem, FILE: document N (Kind namespace/name): FIELD: message,
documents counted from 1, and exits with 1 when there is an error.`,
		Example: `  kubectl cx validate -f config/samples
  kubectl cx validate -f team.yaml -f objectives/ -n shop`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in(&o.Input)
			return RunValidate(cmd.Context(), s.Out, s.ErrOut, o)
		},
	}
	inputFlags(cmd.Flags(), &o.Input)
	return cmd
}

// labelsValue is a flag of labels as key=value,key=value.
type labelsValue struct{ m *map[string]string }

func (l labelsValue) String() string {
	if l.m == nil || *l.m == nil {
		return ""
	}
	keys := make([]string, 0, len(*l.m))
	for k := range *l.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + (*l.m)[k]
	}
	return strings.Join(parts, ",")
}

func (l labelsValue) Set(s string) error {
	out, err := parseLabels(s, true)
	if err != nil {
		return err
	}
	*l.m = out
	return nil
}

func (labelsValue) Type() string { return "labels" }

// parseLabels reads key=value,key=value. Kubernetes label syntax is
// checked when kube is set; alert labels are Prometheus labels instead.
func parseLabels(s string, kube bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if kube {
			if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(msgs) > 0 {
				return nil, fmt.Errorf("%s: %s", kv, strings.Join(msgs, "; "))
			}
		}
		out[k] = v
	}
	return out, nil
}

func routeCommand(s Streams, in func(*InputOptions)) *cobra.Command {
	var o RouteCommand
	cmd := &cobra.Command{
		Use:   "route -f DIR (--labels k=v,... | --objective NAME)",
		Short: "Show which team, receiver and channels an alert would reach",
		Long: `route builds the AlertmanagerConfig of each CXTeam given, as the controller does, adds
what prometheus-operator adds (namespace="<team namespace>" on the team's route and
inhibition rules, continue: true), and simulates Alertmanager's routing for one alert
(--labels) or for every alert that an objective's generated rules can raise
(--objective, labels taken from the alerting rules): the team, the receiver, the
channels and their kinds, the business hours (UTC) and the inhibition rules that could
mute it, with the alerts of the objectives given that would.`,
		Example: `  kubectl cx route -f config/samples -n shop --objective checkout-errors
  kubectl cx route -f config/samples --labels cx_team=checkout,namespace=default,severity=page
  kubectl cx route -f config/samples --objective support-first-response --at 2026-03-07T10:00:00Z`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in(&o.Input)
			return RunRoute(cmd.Context(), s.Out, s.ErrOut, o)
		},
	}
	inputFlags(cmd.Flags(), &o.Input)
	cmd.Flags().StringVar(&o.Labels, "labels", "", "labels of the alert, as name=value,... (e.g. cx_team=checkout,namespace=shop,severity=page)")
	cmd.Flags().StringVar(&o.Objective, "objective", "", "route every alert of this CXObjective (name, or namespace/name)")
	cmd.Flags().StringVar(&o.At, "at", "", "also say whether the alert is sent at this instant (RFC 3339, e.g. 2026-03-02T08:30:00Z)")
	return cmd
}

func testCommand(s Streams, in func(*InputOptions)) *cobra.Command {
	var o TestCommand
	cmd := &cobra.Command{
		Use:   "test -f DIR --objective NAME --scenario outage|recovery|lowtraffic|burn=Nx",
		Short: "Simulate the objective's alerts with the Prometheus rules engine and print a timeline",
		Long: `test builds the objective's PrometheusRule as the controller does, loads it into the
Prometheus rules engine (in-process, the engine the tests use), feeds it synthetic raw
series that match the SLI's selectors, and prints when each alert fires and resolves,
to which team and channels. Times are since the onset of the scenario, after a
history of good traffic (by default the objective's longest alert window).

Scenarios:
  outage      every event bad from the onset until every alert that can fire has fired
  recovery    a short outage that pages, then good events until every alert resolved
  lowtraffic  one event every 2 minutes, a fifth of them bad (SLIs that count events)
  burn=Nx     a constant burn of N times the error budget, e.g. burn=10x`,
		Example: `  kubectl cx test -f config/samples --objective checkout-errors --scenario outage
  kubectl cx test -f config/samples --objective storefront-latency --scenario burn=10x
  kubectl cx test -f config/samples --objective support-first-response --scenario lowtraffic`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in(&o.Input)
			return RunTest(cmd.Context(), s.Out, s.ErrOut, o)
		},
	}
	inputFlags(cmd.Flags(), &o.Input)
	cmd.Flags().StringVar(&o.Objective, "objective", "", "the CXObjective to simulate (name, or namespace/name)")
	cmd.Flags().StringVar(&o.Scenario, "scenario", "", "outage, recovery, lowtraffic or burn=Nx")
	cmd.Flags().DurationVar(&o.History, "history", 0, "good traffic before the onset (default: the objective's longest alert window)")
	cmd.Flags().DurationVar(&o.Duration, "duration", 0, "how long to simulate after the onset (default: long enough for the scenario)")
	cmd.Flags().Float64Var(&o.Rate, "rate", 10, "events per second at normal traffic")
	return cmd
}

func importCommand(s Streams, namespace *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Turn objectives of other formats into CXObjective manifests",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	var o ImportCommand
	openslo := &cobra.Command{
		Use:   "openslo -f FILE|DIR [--owner TEAM]",
		Short: "Turn OpenSLO v1 SLOs into CXObjective manifests",
		Long: `import openslo reads OpenSLO v1 documents (SLO, with its SLI inline or by indicatorRef,
and its alert policies and conditions inline or by reference, among the files given)
and writes one CXObjective manifest per SLO objective to stdout:

  ratioMetric (bad or good, and total; Prometheus queries that are selectors or
      sum(rate(selector[w])))                     -> sli.errorRatio
  thresholdMetric with histogram_quantile(...)   -> sli.latency (share under the threshold)
  thresholdMetric with a gauge                   -> sli.score
  objectives[].target / targetPercent            -> target
  timeWindow[0].duration                         -> window (rolling)
  burnrate alert conditions                      -> alerting.pageWindows / ticketWindows
  spec.service                                   -> journey
  metadata.labels owner or team, or --owner      -> owner.team

Each field that does not map gets a warning on stderr; an SLO that cannot map at all
an error (exit code 1). Every manifest written passes the CRD's validation.`,
		Example: `  kubectl cx import openslo -f slos/ --owner checkout > objectives.yaml
  kubectl cx import openslo -f checkout-slo.yaml -n shop`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") || cmd.InheritedFlags().Changed("namespace") {
				o.Namespace = *namespace
			}
			o.Stdin = s.In
			return RunImportOpenSLO(cmd.Context(), s.Out, s.ErrOut, o)
		},
	}
	openslo.Flags().StringSliceVarP(&o.Files, "filename", "f", nil, "OpenSLO file or folder to read (repeatable; - reads standard input)")
	openslo.Flags().BoolVarP(&o.Recursive, "recursive", "R", false, "read the subfolders of folders given with -f too")
	openslo.Flags().StringVar(&o.Owner, "owner", "", "owner CXTeam of every objective (default: the SLO's owner or team label)")
	cmd.AddCommand(openslo)
	return cmd
}
