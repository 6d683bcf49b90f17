package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/ui"
)

// guiRunner returns what runs the desktop window, with accounts, sync and
// collection links wired in (gui_account.go).
func guiRunner(log *slog.Logger, setStatus func(func(context.Context) (app.Account, app.SyncStatus, error))) func(ctx context.Context, core *app.App, notice string) error {
	return func(ctx context.Context, core *app.App, notice string) error {
		// The window owns the process now: Ctrl+C in a terminal ends it
		// the ordinary way (the store is crash-safe), rather than
		// cancelling a context the window does not watch.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		acct, err := wireAccounts(ctx, core, os.Getenv, log)
		if err != nil {
			// The window still works offline; say why accounts are missing.
			log.Warn("accounts unavailable", "err", err)
		}
		if acct != nil && setStatus != nil { // for courier status beside the window
			setStatus(func(ctx context.Context) (app.Account, app.SyncStatus, error) {
				a, err := acct.Accounts.Current(ctx)
				return a, acct.Syncer.Status(), err
			})
		}
		return ui.Run(core, ui.Options{Notice: notice, Account: acct})
	}
}
