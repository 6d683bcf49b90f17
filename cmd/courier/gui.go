package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/cmd/courier/cli"
	"github.com/courierapp/courier/ui"
)

// guiRunner returns what runs the desktop window of m, with accounts,
// sync and collection links wired in (gui_account.go). The window logs to
// m's Logger, which m makes before it runs the window.
func guiRunner(m *cli.Main) func(ctx context.Context, core *app.App, notice string) error {
	return func(ctx context.Context, core *app.App, notice string) error {
		log := m.Logger
		// The window owns the process now: Ctrl+C in a terminal ends it
		// the ordinary way (the store is crash-safe), rather than
		// cancelling a context the window does not watch.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		acct, err := wireAccounts(ctx, core, os.Getenv, log)
		if err != nil {
			// The window still works offline; say why accounts are missing.
			log.Warn("accounts unavailable", "err", err)
		}
		if acct != nil { // for courier status beside the window
			m.SetStatusSource(func(ctx context.Context) (app.Account, app.SyncStatus, error) {
				a, err := acct.Accounts.Current(ctx)
				return a, acct.Syncer.Status(), err
			})
		}
		return ui.Run(core, ui.Options{Notice: notice, Account: acct})
	}
}
