package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
)

// keyringService is the OS keyring service Courier's secrets live under.
const keyringService = "courier"

// serverFlags are the flags of the commands that talk to a server.
type serverFlags struct {
	server, ca    string
	passwordStdin bool
}

// add registers --server and --ca on fs; withPassword adds --password-stdin.
func (f *serverFlags) add(fs *flag.FlagSet, withPassword bool) {
	fs.Var((*serverFlag)(&f.server), "server", "the sync server's `URL` (https://; default: $COURIER_SERVER, else the account's, else "+app.DefaultServerURL+")")
	f.addCA(fs)
	if withPassword {
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input instead of the terminal")
	}
}

// serverFlag is --server: an https:// URL, checked as the flag is parsed
// so that a bad one is a usage error.
type serverFlag string

func (f *serverFlag) String() string { return string(*f) }

func (f *serverFlag) Set(s string) error {
	if _, err := syncclient.ParseServerURL(s); err != nil {
		return errors.New(strings.TrimSuffix(err.Error(), ": "+model.ErrInvalid.Error()))
	}
	*f = serverFlag(s)
	return nil
}

// addCA registers --ca alone, for commands that talk to the signed-in
// account's server.
func (f *serverFlags) addCA(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "ca", "", "also trust the CA certificates in PEM `FILE` (default: $COURIER_CA, else the one given at sign-in)")
}

// accountSession is an open profile with its account use cases.
type accountSession struct {
	acc    *app.Accounts
	store  app.Store
	server string // the server chosen by flag, environment or memory
	ca     string // the CA file chosen likewise, absolute
	// caGiven says that ca came from --ca or COURIER_CA, not from the
	// sign-in.
	caGiven bool
	// key seals the profile's secret values (nil without a keyring): a
	// command that serves the profile asks it of the commands beside it.
	key   []byte
	close func()
}

// caMissingError is a CA file remembered at sign-in that is gone.
type caMissingError struct {
	file string
	err  error
}

func (e *caMissingError) Error() string {
	return fmt.Sprintf("the CA file given at sign-in, %s, is missing: pass the server's CA certificate with --ca FILE (or COURIER_CA), or sign in again with --ca FILE", e.file)
}

func (e *caMissingError) Unwrap() error { return e.err }

// caError tells err, a failure to use the CA file, as a caMissingError
// when the file was remembered at sign-in and is gone.
func (s *accountSession) caError(err error) error {
	if err == nil || s.caGiven || s.ca == "" || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return &caMissingError{file: s.ca, err: err}
}

// openAccounts opens the profile and wires Accounts to the OS keyring
// (memory when none is reachable) and a syncclient for the chosen server.
func openAccounts(ctx context.Context, env *Env, f serverFlags) (*accountSession, error) {
	dir, err := app.ProfileDirFrom(env.profile, env.Getenv)
	if err != nil {
		return nil, err
	}
	p, err := env.openOwned(ctx, dir)
	if err != nil {
		return nil, err
	}
	if p.Notice != "" {
		fmt.Fprintf(env.Stderr, "courier: %s\n", p.Notice)
	}
	s := &accountSession{store: p.Store, key: p.SecretKey, close: func() {
		if err := p.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "courier: %s\n", Message(err))
		}
	}}
	secrets := keyring.NewFallback(keyring.New(keyringService, keyring.ProfileID(dir)), keyring.NewMemory())
	s.acc, err = app.NewAccounts(p.Store, app.AccountsOptions{Dial: s.dial, Secrets: secrets, Logger: env.Logger})
	if err != nil {
		s.close()
		return nil, err
	}
	if err := s.choose(ctx, env, f); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// choose picks the server and CA file: flag, else environment, else the
// remembered account's (its CA only with its server, or while signed in).
func (s *accountSession) choose(ctx context.Context, env *Env, f serverFlags) error {
	server := firstNonEmpty(f.server, env.Getenv("COURIER_SERVER"))
	s.server = s.acc.ServerURL(ctx, server)
	s.ca = firstNonEmpty(f.ca, env.Getenv("COURIER_CA"))
	s.caGiven = s.ca != ""
	if s.ca == "" {
		// The signed-in account's calls go to its own server.
		if cur, err := s.acc.Current(ctx); err == nil && (cur.ServerURL == s.server || cur.SignedIn) {
			s.ca = cur.CAFile
		}
		return nil
	}
	abs, err := filepath.Abs(s.ca)
	if err != nil {
		return fmt.Errorf("CA file %s: %w: %w", s.ca, model.ErrInvalid, err)
	}
	s.ca = abs
	_, err = syncclient.New(s.server, syncclient.Options{CAFile: s.ca}) // a bad URL or CA file fails now, clearly
	return err
}

// dial is the app.DialAccountAPI of the session.
func (s *accountSession) dial(server, token string) (app.AccountAPI, error) {
	c, err := syncclient.New(server, syncclient.Options{CAFile: s.ca})
	if err != nil {
		return nil, s.caError(err)
	}
	return c.WithToken(token), nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// prompter reads passwords and other secrets: from the terminal without
// echo, or from standard input lines when asked to (--password-stdin) or
// when that is the only way.
type prompter struct {
	env   *Env
	in    *bufio.Reader
	stdin bool // --password-stdin
}

func newPrompter(env *Env, passwordStdin bool) *prompter {
	return &prompter{env: env, in: bufio.NewReader(env.Stdin), stdin: passwordStdin}
}

// terminal returns stdin's file descriptor when it is a terminal.
func (p *prompter) terminal() (int, bool) {
	f, ok := p.env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// password asks for a password. With confirm (a new password) the
// terminal asks twice.
func (p *prompter) password(label string, confirm bool) (string, error) {
	if p.stdin {
		return p.line(label)
	}
	fd, ok := p.terminal()
	if !ok {
		return "", Usagef("no terminal to ask for the %s; pass --password-stdin and give it on standard input", strings.ToLower(label))
	}
	pw, err := p.hidden(fd, label+": ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := p.hidden(fd, "Repeat the "+strings.ToLower(label)+": ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", Exitf(ExitFailure, "the two %ss differ; nothing was changed", strings.ToLower(label))
	}
	return pw, nil
}

// secretLine reads a secret from the terminal without echo, or from the
// next line of standard input when it is not a terminal.
func (p *prompter) secretLine(label string) (string, error) {
	if fd, ok := p.terminal(); ok && !p.stdin {
		return p.hidden(fd, label+": ")
	}
	return p.line(label)
}

func (p *prompter) hidden(fd int, prompt string) (string, error) {
	fmt.Fprint(p.env.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(p.env.Stderr)
	if err != nil {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	return string(b), nil
}

// line reads the next line of standard input, without its line end.
func (p *prompter) line(label string) (string, error) {
	s, err := p.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", Usagef("standard input ended before the %s", strings.ToLower(label))
		}
		return "", fmt.Errorf("read the %s from standard input: %w", strings.ToLower(label), err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// needKeyring refuses a sign-in before it starts when no OS keyring is
// reachable: the session and account key would be kept in memory and end
// with this command, leaving a session on the server that no command
// could use. (The desktop app signs in for its run.)
func needKeyring(ctx context.Context, acc *app.Accounts) error {
	if acc.ProbeSecrets(ctx) {
		return nil
	}
	return Exitf(ExitFailure, "no system keyring is reachable, and Courier keeps the session and account key only there, so a sign-in would end with this command; start a keyring (Secret Service, Keychain) or unlock it, then sign in again")
}

// parseAndOpen parses a command's flags, refuses positional arguments and
// opens the accounts of the profile: the start of every account command
// that takes no other input.
func parseAndOpen(ctx context.Context, env *Env, fs *flag.FlagSet, args []string, f serverFlags) (*accountSession, error) {
	if err := parseNoArgs(env, fs, args); err != nil {
		return nil, err
	}
	return openAccounts(ctx, env, f)
}

// parseNoArgs parses a command's flags and refuses positional arguments.
func parseNoArgs(env *Env, fs *flag.FlagSet, args []string) error {
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	return noArgs(pos)
}
