package cli

import (
	"context"
	"fmt"

	"github.com/courierapp/courier/app"
)

func runPassword(ctx context.Context, env *Env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "forgot":
		return runPasswordForgot(ctx, env, args[1:])
	case "reset":
		return runPasswordReset(ctx, env, args[1:])
	case "change":
		return runPasswordChange(ctx, env, args[1:])
	}
	fs := env.FlagSet("password", "forgot|reset|change [flags]")
	env.Details = `Subcommands:
  password forgot --email E               email a reset code to E
  password reset --email E --code C       set a new password with the code
      [--recovery-key-stdin | --erase-data]
  password change                         change the signed-in account's password

Run 'courier password SUBCOMMAND --help' for its flags.
`
	if _, err := env.Parse(fs, args); err != nil {
		return err
	}
	return Usagef("usage: courier password forgot|reset|change [flags]")
}

func runPasswordForgot(ctx context.Context, env *Env, args []string) error {
	return runEmailRequest(ctx, env, "password forgot", args, func(s *accountSession, email string) error {
		if err := s.acc.ForgotPassword(ctx, s.server, email); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "If %s has an account on %s, a reset code is on its way (valid 30 minutes).\n", email, s.server)
		fmt.Fprintf(env.Stdout, "Then run 'courier password reset --email %s --code CODE'.\n", email)
		return nil
	})
}

func runPasswordReset(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("password reset", "--email E --code C [--recovery-key-stdin | --erase-data] [flags]")
	f.add(fs, true)
	email := fs.String("email", "", "the account's email `ADDRESS`")
	code := fs.String("code", "", "the emailed reset `CODE`")
	rkStdin := fs.Bool("recovery-key-stdin", false, "read the recovery key from standard input (asked without echo on a terminal)")
	erase := fs.Bool("erase-data", false, "without password or recovery key: delete the account's synced data and start afresh")
	env.Details = "The synced data stays readable with the key this device holds for the account,\n" +
		"or with --recovery-key-stdin. Without either, --erase-data deletes every synced\n" +
		"record on the server (this device's data stays) and prints a new recovery key.\n" +
		"With both --recovery-key-stdin and --password-stdin, the first line of standard\n" +
		"input is the recovery key and the second the new password.\n"
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *email == "" || *code == "" {
		return Usagef("password reset needs --email and --code")
	}
	if *rkStdin && *erase {
		return Usagef("--recovery-key-stdin and --erase-data exclude each other")
	}
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	in := app.ResetInput{ServerURL: s.server, Email: *email, Code: *code, Erase: *erase}
	p := newPrompter(env, f.passwordStdin)
	if *erase {
		if err := p.confirmErase(*email); err != nil {
			return err
		}
	}
	if *rkStdin {
		if in.RecoveryKey, err = p.secretLine("Recovery key"); err != nil {
			return err
		}
	}
	if in.NewPassword, err = p.password("New password", true); err != nil {
		return err
	}
	res, err := s.acc.ResetPassword(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Password reset. Every device was signed out; sign in with 'courier login --email %s'.\n", *email)
	if res.RecoveryKey != "" {
		fmt.Fprintln(env.Stdout, "The synced data was erased and the account starts afresh.")
		fmt.Fprintf(env.Stdout, "Your new recovery key (shown only this once; the old one no longer works):\n\n    %s\n\n", res.RecoveryKey)
		fmt.Fprintln(env.Stdout, "Keep it somewhere safe, away from this computer.")
	}
	return nil
}

func runPasswordChange(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("password change", "[flags]")
	f.addCA(fs)
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the current password, then the new one, from the first two lines of standard input")
	env.Details = "Every other device is signed out; this one stays signed in.\n"
	s, err := parseAndOpen(ctx, env, fs, args, f)
	if err != nil {
		return err
	}
	defer s.close()
	p := newPrompter(env, f.passwordStdin)
	cur, err := p.password("Current password", false)
	if err != nil {
		return err
	}
	next, err := p.password("New password", true)
	if err != nil {
		return err
	}
	if err := s.acc.ChangePassword(ctx, cur, next); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Password changed. Every other device was signed out.")
	return nil
}

// eraseWarning is shown before --erase-data does anything.
const eraseWarning = "courier: warning: --erase-data deletes, for good, every collection, request,\n" +
	"environment and preset synced to the account of %s from the server. Nobody can\n" +
	"read them back afterwards. The data on this device stays.\n"

// confirmErase warns, and on a terminal asks the person to type ERASE.
func (p *prompter) confirmErase(email string) error {
	fmt.Fprintf(p.env.Stderr, eraseWarning, email)
	if _, ok := p.terminal(); !ok {
		return nil // the flag is the consent of a script
	}
	fmt.Fprint(p.env.Stderr, "Type ERASE to go on: ")
	answer, err := p.line("confirmation")
	if err != nil {
		return err
	}
	if answer != "ERASE" {
		return Exitf(ExitFailure, "nothing was erased or changed")
	}
	return nil
}
