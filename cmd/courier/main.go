// Command courier is the Courier desktop app; with a subcommand it runs
// headless (see courier --help). It only wires the parts together: the
// command itself is package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierapp/courier/cmd/courier/cli"
	_ "github.com/courierapp/courier/cmd/courier/internal/quietlocale" // before Fyne's init
	"github.com/courierapp/courier/ui"
)

// version is the release's version, set by the Makefile with
// -ldflags "-X main.version=..."; empty in a development build.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Diagnostics go to stderr: the window's at WARN, a command's only
	// when COURIER_LOG asks (see cli.Main.LogOutput).
	m := cli.NewMain()
	m.Version = version
	m.RunGUI = guiRunner(m)
	m.ShowStartError = func(msg string) error {
		signal.Reset(os.Interrupt, syscall.SIGTERM) // as the main window does
		return ui.ShowStartError(msg)
	}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
