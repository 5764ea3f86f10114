// Command kubectl-cx is the kubectl plugin of cx-operator: with the binary
// on the PATH, `kubectl cx render|validate|route|test|import ...` runs it.
// It needs no cluster. The subcommands live in internal/cli.
//
// KUBECTL_CX_CPUPROFILE=FILE writes a CPU profile of the run to FILE, for
// `go tool pprof`.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/cxops/cx-operator/internal/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	if path := os.Getenv("KUBECTL_CX_CPUPROFILE"); path != "" {
		stop, err := profile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kubectl-cx: %v\n", err)
			return cli.ExitError
		}
		defer stop()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: out, ErrOut: os.Stderr})
	if err := out.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "kubectl-cx: writing the output: %v\n", err)
		if code == cli.ExitOK {
			code = cli.ExitError
		}
	}
	return code
}

// profile starts a CPU profile into path and returns the function that
// ends it.
func profile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "kubectl-cx: writing the CPU profile: %v\n", err)
		}
	}, nil
}
