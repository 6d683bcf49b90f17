// Command courier-server is Courier's sync server. See --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	buildversion "github.com/courierapp/courier/internal/version"
)

// version is the release's version, set by the Makefile with
// -ldflags "-X main.version=..."; empty in a development build.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	m.Version = version
	code := run(ctx, m, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	os.Exit(code)
}

// run runs the server of the command line args until ctx ends, and
// returns the exit code: 0 after a clean shutdown (or --help, --version),
// 1 when it failed, 2 for a wrong command line. Errors go to m's stderr.
func run(ctx context.Context, m *Main, args []string, getenv func(string) string, stdout io.Writer) int {
	fail := func(code int, err error) int {
		fmt.Fprintln(m.stderr(), "courier-server:", errorText(err))
		return code
	}
	if err := m.ParseFlags(args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return fail(2, err)
	}
	if m.ShowVersion {
		fmt.Fprintf(stdout, "courier-server %s\n", buildversion.String(m.Version))
		return 0
	}
	if m.MarkRestored {
		if err := m.RunMarkRestored(ctx); err != nil {
			return fail(1, err)
		}
		return 0
	}
	if err := m.Open(ctx); err != nil {
		return fail(1, err)
	}
	err := m.Run(ctx)
	m.Close()
	if err != nil {
		return fail(1, err)
	}
	return 0
}

// errorText is err as the server prints it: for now, its message.
func errorText(err error) string { return err.Error() }
