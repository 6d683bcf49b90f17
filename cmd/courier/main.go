// Command courier is the Courier desktop app; with a subcommand it runs
// headless (see courier --help). It only wires the parts together: the
// command itself is package cli.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/courierapp/courier/cmd/courier/cli"
	_ "github.com/courierapp/courier/cmd/courier/internal/quietlocale" // before Fyne's init
	"github.com/courierapp/courier/ui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := cli.NewMain()
	m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(os.Getenv("COURIER_LOG"))}))
	m.RunGUI = guiRunner(m.Logger, m.SetStatusSource)
	m.ShowStartError = func(msg string) error {
		signal.Reset(os.Interrupt, syscall.SIGTERM) // as the main window does
		return ui.ShowStartError(msg)
	}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// logLevel reads COURIER_LOG (debug, info, warn, error); warn by default.
func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelWarn
	}
	return l
}
