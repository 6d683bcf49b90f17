package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// noArgs refuses positional arguments.
func noArgs(pos []string) error {
	if len(pos) > 0 {
		return Usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func runSignup(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("signup", "--email E --username U [flags]")
	f.add(fs, true)
	email := fs.String("email", "", "the account's email `ADDRESS` (a confirmation link is sent there)")
	user := fs.String("username", "", "the account's `NAME`: 3 to 32 letters, digits, '.', '_' or '-'")
	oidc := addOIDCFlags(fs, false)
	env.Details = fmt.Sprintf("The password (at least %d characters) is asked on the terminal, twice.\n"+
		"The recovery key is printed once: keep it somewhere safe. Without it and\n"+
		"without the password, the synced data cannot be read by anyone.\n", app.MinPasswordLen)
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if oidc.provider != "" && *email != "" {
		return Usagef("signup --oidc takes the email from the provider; drop --email")
	}
	if oidc.provider != "" {
		return runOIDCSignup(ctx, env, f, oidc, *user)
	}
	if *email == "" || *user == "" {
		return Usagef("signup needs --email and --username")
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	pw, err := newPrompter(env, f.passwordStdin).password("Password", true)
	if err != nil {
		return err
	}
	rk, err := s.acc.SignUp(ctx, app.SignUpInput{ServerURL: s.server, CAFile: s.ca, Email: *email, Username: *user, Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Account %s created on %s.\n", *user, s.server)
	fmt.Fprintf(env.Stdout, "A confirmation link was sent to %s: open it, then run 'courier login --username %s'.\n\n", *email, *user)
	fmt.Fprintf(env.Stdout, "Your recovery key (shown only this once):\n\n    %s\n\n", rk)
	fmt.Fprintln(env.Stdout, "Keep it somewhere safe, away from this computer. If you forget your password,")
	fmt.Fprintln(env.Stdout, "it is the only way to keep your synced data; nobody, not even the server, can recover it.")
	return nil
}

func runConfirmResend(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("confirm-resend", "[--email E] [flags]")
	f.add(fs, false)
	email := fs.String("email", "", "the `ADDRESS` to confirm (default: the one signed up with)")
	s, err := parseAndOpen(ctx, env, fs, args, f)
	if err != nil {
		return err
	}
	defer s.close()
	addr, err := rememberedEmail(ctx, s.acc, *email)
	if err != nil {
		return err
	}
	if err := s.acc.ResendConfirmation(ctx, s.server, addr); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "If %s has an unconfirmed account on %s, a new confirmation link is on its way.\n", addr, s.server)
	return nil
}

func runConfirm(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("confirm", "[flags] LINK|TOKEN")
	f.add(fs, false)
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("confirm needs the emailed link (or its token)")
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.acc.ConfirmEmail(ctx, s.server, pos[0]); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Email confirmed. Sign in with 'courier login'.")
	return nil
}

// rememberedEmail returns given, else the remembered account's email.
func rememberedEmail(ctx context.Context, acc *app.Accounts, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if cur, err := acc.Current(ctx); err == nil && cur.Email != "" {
		return cur.Email, nil
	}
	return "", Usagef("give the address with --email")
}

func runLogin(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("login", "--email E | --username U [flags]")
	f.add(fs, true)
	email := fs.String("email", "", "sign in with the account's email `ADDRESS`")
	user := fs.String("username", "", "sign in with the account's user `NAME`")
	var join joinChoice
	fs.BoolVar(&join.keepLocal, "keep-local", false, "keep this profile's local data aside in a new profile folder instead of merging it into the account")
	fs.BoolVar(&join.merge, "merge", false, "merge into the account the data another account left in this profile (work never synced merges without it)")
	oidc := addOIDCFlags(fs, true)
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if join.keepLocal && join.merge {
		return Usagef("--keep-local and --merge exclude each other")
	}
	if oidc.provider != "" {
		return runOIDCLogin(ctx, env, f, oidc, join)
	}
	if (*email == "") == (*user == "") {
		return Usagef("login needs exactly one of --email and --username")
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if err := needKeyring(ctx, s.acc); err != nil {
		return err
	}
	pw, err := newPrompter(env, f.passwordStdin).password("Password", false)
	if err != nil {
		return err
	}
	a, err := s.acc.SignIn(ctx, app.SignInInput{ServerURL: s.server, CAFile: s.ca, Identifier: firstNonEmpty(*email, *user), Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Signed in as %s (%s) on %s.\n", a.Username, a.Email, a.ServerURL)
	return joinAfterLogin(ctx, env.Stdout, s.store, a.AccountID, join)
}

func runLogout(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("logout", "[--remove-data] [flags]")
	f.addCA(fs)
	remove := fs.Bool("remove-data", false, "also remove this account's collections, environments, history and presets from this profile")
	env.Details = "The session is revoked on the server and its secrets are removed from the\n" +
		"keyring. The data on this device stays, unless --remove-data is given: then\n" +
		"the changes made here that the server lacks are pushed first, and if some\n" +
		"cannot be, nothing is done (the session and the data stay) and the\n" +
		"command fails saying so. Signed out\n" +
		"already, --remove-data still removes the account's data (when nothing made\n" +
		"here waits for the server).\n"
	if err := parseNoArgs(env, fs, args); err != nil {
		return err
	}
	s, err := openSync(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if *remove {
		// Signed in, a change that cannot be pushed stops everything
		// here: signed out, the person could not push it any more
		// without signing in again.
		if n, err := pushBeforeRemoval(ctx, s); err != nil && !signedOut(ctx, s) {
			what := fmt.Sprintf("%d changes made here have", n)
			if n == 1 {
				what = "1 change made here has"
			}
			return fmt.Errorf("nothing was done (sync first, or sign out without --remove-data to keep the data here): %s not reached the server, and pushing failed: %w", what, err)
		}
	}
	res, err := s.acc.SignOut(ctx)
	switch {
	case err != nil && *remove && signedOut(ctx, s):
		fmt.Fprintln(env.Stdout, "Signed out already on this device.")
	case err != nil:
		return err
	default:
		fmt.Fprintln(env.Stdout, "Signed out on this device.")
		if res.ServerErr != nil {
			fmt.Fprintf(env.Stderr, "courier: warning: the server could not be told (%s); revoke this device's session from another one with 'courier devices --revoke %s'\n", Message(res.ServerErr), res.SessionID)
		}
	}
	if !*remove {
		return nil
	}
	if err := app.RemoveAccountData(ctx, s.store); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "This account's data was removed from this profile.")
	return nil
}

// signedOut reports whether the profile remembers an account it signed
// out of (its data may still be here).
func signedOut(ctx context.Context, s *syncSession) bool {
	a, err := s.acc.Current(ctx)
	return err == nil && !a.SignedIn
}

// logoutPushTimeout bounds the push of pending changes before
// `courier logout --remove-data` removes the data.
const logoutPushTimeout = 30 * time.Second

// pushBeforeRemoval syncs once when changes made here are pending, so
// that removing the account's data loses none of them; when the sync
// fails, it returns how many were pending and why.
func pushBeforeRemoval(ctx context.Context, s *syncSession) (int, error) {
	if err := s.sync.Load(ctx); err != nil {
		return 0, err
	}
	n := s.sync.Status().Pending
	if n == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, logoutPushTimeout)
	defer cancel()
	_, err := s.sync.Once(ctx)
	return n, err
}

func runUsername(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "remind" {
		fs := env.FlagSet("username", "remind --email E [flags]")
		env.Details = "Subcommands:\n  username remind --email E   email the username of the account of E\n"
		if _, err := env.Parse(fs, args); errors.Is(err, flag.ErrHelp) {
			return err // the help is printed
		}
		// Whatever came instead of remind (--email E, say), the fix is
		// the same.
		return Usagef("usage: courier username remind --email E")
	}
	return runEmailRequest(ctx, env, "username remind", args[1:], func(s *accountSession, email string) error {
		if err := s.acc.ForgotUsername(ctx, s.server, email); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "If %s has an account on %s, its username is on its way there.\n", email, s.server)
		return nil
	})
}

// runEmailRequest runs a command whose one flag (beside the server's) is
// --email: it parses args, opens the accounts and calls do with the email.
func runEmailRequest(ctx context.Context, env *Env, name string, args []string, do func(s *accountSession, email string) error) error {
	var f serverFlags
	fs := env.FlagSet(name, "--email E [flags]")
	f.add(fs, false)
	email := fs.String("email", "", "the account's email `ADDRESS`")
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *email == "" {
		return Usagef("%s needs --email", name)
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	return do(s, *email)
}

func runDevices(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("devices", "[--revoke ID] [flags]")
	f.addCA(fs)
	revoke := fs.String("revoke", "", "sign the device with this `ID` out (this device's own: a logout)")
	if err := parseNoArgs(env, fs, args); err != nil {
		return err
	}
	env.onlyReads = *revoke == "" // the list; a revocation may sign this device out
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if *revoke != "" {
		if err := s.acc.RevokeDevice(ctx, *revoke); err != nil {
			if errors.Is(err, model.ErrNotFound) {
				return &hintedError{msg: fmt.Sprintf("this account has no device with the ID %s (see courier devices)", *revoke), err: err}
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "Device %s signed out.\n", *revoke)
		return nil
	}
	ds, err := s.acc.Devices(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIGNED IN\tLAST SEEN\t")
	for _, d := range ds {
		mark := ""
		if d.Current {
			mark = "(this device)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.CreatedAt.Local().Format("2006-01-02 15:04"), d.LastSeenAt.Local().Format("2006-01-02 15:04"), mark)
	}
	return tw.Flush()
}
