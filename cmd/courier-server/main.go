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
	"regexp"
	"strings"
	"syscall"

	buildversion "github.com/courierapp/courier/internal/version"
	"github.com/courierapp/courier/model"
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
		fail(2, err)
		fmt.Fprintln(m.stderr(), "Run 'courier-server --help' for the flags.")
		return 2
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

// badFlag is how package flag words a value a flag's Set refused.
var badFlag = regexp.MustCompile(`^invalid value ".*" for flag -([^:]+): (.*)$`)

// errorText is err as the server prints it: without the error kinds of
// package model (": invalid input", ": unavailable", ...), which are for
// code, and a refused flag value as "--name: why", without the value
// (an --oidc value holds a client secret).
func errorText(err error) string {
	msg := err.Error()
	for _, kind := range []error{model.ErrInvalid, model.ErrUnavailable, model.ErrNotFound, model.ErrConflict, model.ErrUnauthorized, model.ErrTooLarge} {
		msg = strings.ReplaceAll(msg, ": "+kind.Error()+":", ":")
		msg = strings.TrimSuffix(msg, ": "+kind.Error())
	}
	if m := badFlag.FindStringSubmatch(msg); m != nil {
		name, why := "--"+m[1], m[2]
		if !strings.HasPrefix(why, name+" ") && !strings.HasPrefix(why, name+":") {
			why = name + ": " + why
		}
		msg = why
	}
	return msg
}

// quietError is a sentence for the operator that wraps its cause
// without quoting it.
type quietError struct {
	msg string
	err error
}

func (e *quietError) Error() string { return e.msg }
func (e *quietError) Unwrap() error { return e.err }
