package cli

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
)

// oidcFlags are the flags of signing in with an OpenID Connect provider.
type oidcFlags struct {
	provider string
	recovery bool
	link     bool
}

// addOIDCFlags registers --oidc on fs; for login also --recovery-key and
// --link.
func addOIDCFlags(fs *flag.FlagSet, login bool) *oidcFlags {
	o := &oidcFlags{}
	fs.StringVar(&o.provider, "oidc", "", "sign in with the server's identity `PROVIDER` (for example google) in the browser")
	if login {
		fs.BoolVar(&o.recovery, "recovery-key", false, "with --oidc: unlock the data with the recovery key instead of the encryption passphrase")
		fs.BoolVar(&o.link, "link", false, "with --oidc: link the provider to the signed-in account, so it signs in to it from now on")
	}
	return o
}

// oidcAuthorize runs the browser part: a loopback listener, the
// authorization URL printed and opened, the redirect awaited.
func oidcAuthorize(ctx context.Context, env *Env, s *accountSession, provider string, link bool) (app.OIDCResult, error) {
	lb, err := syncclient.ListenLoopback()
	if err != nil {
		return app.OIDCResult{}, err
	}
	defer lb.Close()
	ctx, cancel := context.WithTimeout(ctx, syncproto.OIDCFlowTTL)
	defer cancel()
	in := app.OIDCInput{ServerURL: s.server, CAFile: s.ca, Provider: provider, Redirect: lb, Open: func(u string) error {
		fmt.Fprintf(env.Stderr, "Sign in with %s in your browser. If it does not open, open this address:\n\n    %s\n\nWaiting for the browser...\n", provider, u)
		if err := env.openBrowser(ctx, u); err != nil {
			env.Logger.Debug("open the browser", "err", err)
		}
		return nil
	}}
	if link {
		return app.OIDCResult{Status: syncproto.OIDCStatusLinked}, s.acc.OIDCLink(ctx, in)
	}
	return s.acc.OIDCAuthorize(ctx, in)
}

// openBrowser opens u with Main.OpenBrowser, else the system's opener.
func (m *Main) openBrowser(ctx context.Context, u string) error {
	if m.OpenBrowser != nil {
		return m.OpenBrowser(ctx, u)
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go cmd.Wait()
	return nil
}

// runOIDCLogin is `courier login --oidc PROVIDER`.
func runOIDCLogin(ctx context.Context, env *Env, f serverFlags, o *oidcFlags, join joinChoice) error {
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if err := needKeyring(ctx, s.acc); err != nil {
		return err
	}
	res, err := oidcAuthorize(ctx, env, s, o.provider, o.link)
	if err != nil {
		return err
	}
	switch res.Status {
	case syncproto.OIDCStatusLinked:
		fmt.Fprintf(env.Stdout, "%s now signs in to this account.\n", o.provider)
		return nil
	case syncproto.OIDCStatusNeedsSignUp:
		return Exitf(ExitFailure, "no account signs in with this %s identity (%s); create one with 'courier signup --oidc %s --username NAME'", o.provider, res.Email, o.provider)
	}
	p := newPrompter(env, f.passwordStdin)
	var a app.Account
	if o.recovery {
		var rk string
		if rk, err = p.secretLine("Recovery key"); err == nil {
			a, err = s.acc.OIDCUnlockWithRecoveryKey(ctx, res, rk)
		}
	} else {
		var pw string
		if pw, err = p.password("Encryption passphrase", false); err == nil {
			a, err = s.acc.OIDCUnlock(ctx, res, pw)
		}
	}
	if err != nil {
		s.acc.OIDCCancel(ctx, res)
		return err
	}
	fmt.Fprintf(env.Stdout, "Signed in as %s (%s) on %s.\n", a.Username, a.Email, a.ServerURL)
	return joinAfterLogin(ctx, env.Stdout, s.store, a.AccountID, join)
}

// runOIDCSignup is `courier signup --oidc PROVIDER --username U`.
func runOIDCSignup(ctx context.Context, env *Env, f serverFlags, o *oidcFlags, username string) error {
	if username == "" {
		return Usagef("signup --oidc needs --username")
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if err := needKeyring(ctx, s.acc); err != nil {
		return err
	}
	res, err := oidcAuthorize(ctx, env, s, o.provider, false)
	if err != nil {
		return err
	}
	if res.Status != syncproto.OIDCStatusNeedsSignUp {
		s.acc.OIDCCancel(ctx, res)
		return Exitf(ExitFailure, "this %s identity already has an account (%s); sign in with 'courier login --oidc %s'", o.provider, res.Username, o.provider)
	}
	fmt.Fprintf(env.Stderr, "Choose an encryption passphrase (at least %d characters): it locks your synced data; %s never sees it.\n", app.MinPasswordLen, o.provider)
	pw, err := newPrompter(env, f.passwordStdin).password("Encryption passphrase", true)
	if err != nil {
		return err
	}
	a, rk, err := s.acc.OIDCCreateAccount(ctx, res, username, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Account %s (%s) created on %s and signed in.\n\n", a.Username, a.Email, a.ServerURL)
	fmt.Fprintf(env.Stdout, "Your recovery key (shown only this once):\n\n    %s\n\n", rk)
	fmt.Fprintln(env.Stdout, "Keep it somewhere safe, away from this computer. On a new device, 'courier login --oidc")
	fmt.Fprintln(env.Stdout, "PROVIDER' asks for the encryption passphrase; the recovery key opens the data without it.")
	return joinAfterLogin(ctx, env.Stdout, s.store, a.AccountID, joinChoice{})
}
