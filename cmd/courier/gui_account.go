package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/cmd/courier/cli"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/ui"
)

// keyringService is the OS keyring service Courier's secrets live under
// (the same as the command line's).
const keyringService = "courier"

// desktopAccounts wires the window's accounts, sync and links as the
// command line does: the OS keyring with a memory fallback, a syncclient
// for the server, the sync engine. The extra CA file can change while the
// window runs (the forms have a field for it).
type desktopAccounts struct {
	mu sync.Mutex
	ca string
}

// wireAccounts builds the account options of the window over core's
// store. The forms' server and CA come from the remembered account, else
// COURIER_SERVER and COURIER_CA, else app.DefaultServerURL. A store that
// cannot sync gets no accounts (nil).
func wireAccounts(ctx context.Context, core *app.App, getenv func(string) string, log *slog.Logger) (*ui.AccountOptions, error) {
	st := core.Store()
	syncStore, ok := st.(syncclient.Store)
	if !ok {
		return nil, nil
	}
	w := &desktopAccounts{}
	secrets := keyring.NewFallback(keyring.New(keyringService, keyring.ProfileID(st.Dir())), keyring.NewMemory())
	acc, err := app.NewAccounts(st, app.AccountsOptions{Dial: w.dial, Secrets: secrets, Logger: log})
	if err != nil {
		return nil, err
	}
	server, ca := defaultServer(ctx, acc, getenv)
	if err := w.useCA(ca); err != nil {
		log.Warn("extra CA file unusable", "file", ca, "err", err)
		ca = ""
	}
	newEngine := func(sess app.Session) (app.SyncEngine, error) {
		settings, err := core.Settings(context.Background())
		if err != nil {
			return nil, err
		}
		ca := sess.Account.CAFile
		if ca == "" {
			ca = w.currentCA()
		}
		return syncclient.NewEngine(syncclient.EngineConfig{
			ServerURL: sess.Account.ServerURL, CAFile: ca, Proxy: settings.Proxy,
			Token: sess.Token, Key: sess.Key, DeviceID: deviceID(sess.Account.SessionID),
			Store: syncStore, Logger: log,
		})
	}
	sy, err := app.NewSync(st, acc, newEngine, log)
	if err != nil {
		return nil, err
	}
	links, err := app.NewLinks(core, acc)
	if err != nil {
		return nil, err
	}
	return &ui.AccountOptions{
		Accounts: acc, Syncer: sy, Links: links, Profile: profileJoin{st: st},
		UseCA: w.useCA, DefaultServer: server, DefaultCA: ca, OIDCListen: listenOIDC,
	}, nil
}

// defaultServer chooses the forms' server and CA file.
func defaultServer(ctx context.Context, acc *app.Accounts, getenv func(string) string) (server, ca string) {
	if cur, err := acc.Current(ctx); err == nil && cur.ServerURL != "" {
		return cur.ServerURL, cur.CAFile
	}
	server = strings.TrimSpace(getenv("COURIER_SERVER"))
	if server == "" {
		server = app.DefaultServerURL
	}
	if ca = strings.TrimSpace(getenv("COURIER_CA")); ca != "" {
		if abs, err := filepath.Abs(ca); err == nil {
			ca = abs
		}
	}
	return server, ca
}

// useCA makes the calls that follow trust the CA certificates in path
// ("" for none); a file that cannot be read or holds no certificate is
// an error wrapping model.ErrInvalid, and the previous one stays.
func (w *desktopAccounts) useCA(path string) error {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("CA file %s: %w: %w", path, model.ErrInvalid, err)
		}
		if _, err := syncclient.New(app.DefaultServerURL, syncclient.Options{CAFile: abs}); err != nil {
			return err
		}
		path = abs
	}
	w.mu.Lock()
	w.ca = path
	w.mu.Unlock()
	return nil
}

func (w *desktopAccounts) currentCA() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ca
}

// dial is the app.DialAccountAPI of the window.
func (w *desktopAccounts) dial(server, token string) (app.AccountAPI, error) {
	c, err := syncclient.New(server, syncclient.Options{CAFile: w.currentCA()})
	if err != nil {
		return nil, err
	}
	return c.WithToken(token), nil
}

// deviceID makes a session id fit hello's device_id (as the command
// line does).
func deviceID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		return "courier"
	}
	return s
}

// profileJoin is the window's ui.ProfileJoiner over the profile's store.
type profileJoin struct{ st app.Store }

func (p profileJoin) HoldsLocalWork(ctx context.Context, accountID string) (bool, error) {
	return app.HoldsLocalWork(ctx, p.st, accountID)
}

func (p profileJoin) HoldsOtherAccountData(ctx context.Context, accountID string) (bool, error) {
	return app.HoldsOtherAccountData(ctx, p.st, accountID)
}

func (p profileJoin) Join(ctx context.Context, accountID string, keepLocal bool) (app.JoinResult, error) {
	res, err := app.JoinAccount(ctx, p.st, accountID, keepLocal)
	if err == nil && res.KeptAside != "" {
		// The copy's secret values are sealed with this profile's key.
		if err := cli.CopyProfileKey(ctx, p.st.Dir(), res.KeptAside); err != nil {
			return res, fmt.Errorf("the local data was kept aside in %s, but its secret values will not open: %w", res.KeptAside, err)
		}
	}
	return res, err
}

func (p profileJoin) RemoveAccountData(ctx context.Context) error {
	return app.RemoveAccountData(ctx, p.st)
}
