package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/ui"
)

// guiRunner returns what runs the desktop window.
func guiRunner() func(ctx context.Context, core *app.App, notice string) error {
	return func(_ context.Context, core *app.App, notice string) error {
		// The window owns the process now: Ctrl+C in a terminal ends it
		// the ordinary way (the store is crash-safe), rather than
		// cancelling a context the window does not watch.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		return ui.Run(core, ui.Options{Notice: notice})
	}
}
