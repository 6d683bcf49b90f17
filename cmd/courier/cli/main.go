package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/internal/version"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the work failed: transport error, profile in use, I/O
	ExitUsage   = 2 // the command line is wrong, or variables are unresolved
	// ExitCanceled: interrupted (Ctrl+C), as shells report SIGINT.
	ExitCanceled = 130
)

// Command is one subcommand. Run gets the arguments after the command's
// name; it returns nil for success, an error made by Usagef or Exitf for
// a given exit code, or any other error (exit 1, message on stderr).
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) error
}

// Profile is an open profile: its store and what closes it.
type Profile struct {
	Store app.Store
	// Notice is a sentence for the user about the opening (a damaged file
	// that was set aside, a profile opened read-only), or "".
	Notice string
	Close  func() error
	// SecretKey is the key that seals the profile's secret values, read
	// from the OS keyring (nil: none). The window proves with it that a
	// command may use its profile (see shared.go).
	SecretKey []byte
}

// Main is the courier command with its surroundings. The zero value reads
// and writes nothing; NewMain fills it in from the process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (COURIER_PROFILE); nil reads none.
	Getenv func(string) string
	// IsTerminal reports whether w is a terminal; nil checks for a
	// character device behind an *os.File.
	IsTerminal func(w io.Writer) bool
	// RunGUI shows the desktop window over core until it is closed. nil
	// means this binary has none: running without a subcommand fails.
	RunGUI func(ctx context.Context, core *app.App, notice string) error
	// ShowStartError shows msg, why the profile could not be opened for
	// the desktop window, in a window (it is printed too). nil: it is
	// printed only.
	ShowStartError func(msg string) error
	// OpenProfile opens the store of a profile directory; nil opens the
	// bbolt store with store.Open, sealing secret values with a key kept
	// in ProfileSecrets (see openStore).
	OpenProfile func(ctx context.Context, dir string) (*Profile, error)
	// OpenProfileReadOnly opens the store of a profile directory for
	// reading only, for a command that only reads when OpenProfile says
	// the profile may not be written (store.ErrNotWritable); nil opens it
	// with store.Open and Options.ReadOnly (see openStoreReadOnly).
	OpenProfileReadOnly func(ctx context.Context, dir string) (*Profile, error)
	// ProfileSecrets returns the secret storage of the profile in dir
	// that holds its store key; nil uses the OS keyring, falling back to
	// memory (then secret values are stored unencrypted, with a warning).
	ProfileSecrets func(dir string) keyring.PersistentSecrets

	// keyringTimeout bounds each OS keyring call of the profile's opening
	// (keyring.DefaultTimeout when 0).
	keyringTimeout time.Duration
	// Logger receives diagnostics; nil makes one that writes to
	// LogOutput (see setLogger).
	Logger *slog.Logger
	// LogOutput is where the diagnostics go when Logger is nil: the
	// desktop window's at WARN and above, a command's only when
	// COURIER_LOG asks for them (a command tells the person what matters
	// in its own words). nil discards them.
	LogOutput io.Writer
	// OpenBrowser opens a sign-in page (login --oidc); nil uses the
	// system's opener (xdg-open, open, rundll32).
	OpenBrowser func(ctx context.Context, url string) error

	// Version is the version the build was given (the Makefile sets it
	// with -ldflags); empty means a development build (courier --version
	// then tells what the Go toolchain recorded).
	Version string

	// live is the window's account and sync status, for courier status
	// run beside it (see SetStatusSource).
	live liveStatus
}

// SetStatusSource gives the window's account and live sync status to
// courier status run beside it (through the profile's socket); the
// window calls it once its sync is wired. fn is called per request.
func (m *Main) SetStatusSource(fn func(context.Context) (app.Account, app.SyncStatus, error)) {
	m.live.fn.Store(&fn)
}

// NewMain returns a Main over the process's streams and environment; its
// diagnostics go to stderr (see LogOutput).
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, LogOutput: os.Stderr}
}

// Run runs the command line args (without the program name) and returns
// the exit code. It never panics on input: a panic in a command is turned
// into a one-line message and exit 1.
func (m *Main) Run(ctx context.Context, args []string) (code int) {
	m.defaults()
	defer func() {
		if p := recover(); p != nil {
			if m.Logger != nil {
				m.Logger.Error("panic in command", "panic", p)
			}
			fmt.Fprintf(m.Stderr, "courier: internal error: %v\n", p)
			code = ExitFailure
		}
	}()
	env := &Env{Main: m}
	fs := env.FlagSet("", "")
	fs.Usage = func() {}
	showVersion := fs.Bool("version", false, "print the version and exit")
	rest, err := parseLeading(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		m.usage(m.Stdout)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "courier: %s\nRun 'courier --help' for usage.\n", flagError(fs, err))
		return ExitUsage
	}
	if *showVersion {
		fmt.Fprintf(m.Stdout, "courier %s\n", version.String(m.Version))
		return ExitOK
	}
	env.globalProfile = env.profile
	m.setLogger(len(rest) == 0)
	if len(rest) == 0 {
		// The desktop may show an unlock prompt: give the person time.
		m.keyringTimeout = desktopKeyringTimeout
		return m.exit("courier", runGUI(ctx, env))
	}
	if rest[0] == "help" {
		return m.help(rest[1:])
	}
	if isOpenURL(rest[0]) {
		return m.exit("courier", runOpenURL(ctx, env, rest))
	}
	cmd, ok := lookup(rest[0])
	if !ok {
		fmt.Fprintf(m.Stderr, "courier: unknown command %q\nRun 'courier --help' for the list of commands.\n", rest[0])
		return ExitUsage
	}
	env.command, env.summary = cmd.Name, cmd.Summary
	return m.exitEnv(env, interrupted(ctx, cmd.Run(ctx, env, rest[1:])))
}

// interrupted tells err, the failure of a command whose ctx ended (Ctrl+C
// or SIGTERM), as the interruption it is, with ExitCanceled as shells
// report SIGINT: what the command was doing then (context canceled, a
// signal received) says nothing more. A command that says it itself (an
// ExitError: send's) is left alone, as is one that ends well on Ctrl+C
// (sync --watch).
func interrupted(ctx context.Context, err error) error {
	var ee *ExitError
	if err == nil || ctx.Err() == nil || errors.As(err, &ee) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &ExitError{Code: ExitCanceled, Err: &hintedError{msg: "interrupted", err: err}}
}

// exitEnv is exit for the command of env: its message starts with the
// command's name, and a usage error points to the help of the command or
// subcommand that was run.
func (m *Main) exitEnv(env *Env, err error) int {
	return m.report("courier "+env.command, "courier "+env.helpName(), err)
}

func (m *Main) defaults() {
	if m.Stdin == nil {
		m.Stdin = strings.NewReader("")
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	if m.Getenv == nil {
		m.Getenv = func(string) string { return "" }
	}
	if m.IsTerminal == nil {
		m.IsTerminal = isTerminal
	}
	if m.Logger == nil && m.LogOutput == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.OpenProfile == nil {
		m.OpenProfile = m.openStore
	}
	if m.OpenProfileReadOnly == nil {
		m.OpenProfileReadOnly = m.openStoreReadOnly
	}
}

// setLogger makes the Logger, when none was given, from LogOutput and
// COURIER_LOG (debug, info, warn, error; off for none). The desktop
// window (window) logs at WARN and above unless COURIER_LOG says
// otherwise. A command logs nothing unless COURIER_LOG is set: its
// messages already say what went wrong, and a log line above them
// would only repeat it less clearly. A command's logger also becomes
// slog's default, so that no package logs past it.
func (m *Main) setLogger(window bool) {
	if m.Logger != nil {
		return
	}
	level, on := logLevel(m.Getenv("COURIER_LOG"), window)
	if !on {
		m.Logger = slog.New(slog.DiscardHandler)
	} else {
		m.Logger = slog.New(slog.NewTextHandler(m.LogOutput, &slog.HandlerOptions{Level: level}))
	}
	if !window {
		slog.SetDefault(m.Logger)
	}
}

// logLevel reads COURIER_LOG: the level to log at, and whether to log at
// all. Unset, only the window logs (at WARN); "off" (or "none") logs
// nothing; a value that is no level logs at WARN.
func logLevel(v string, window bool) (slog.Level, bool) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return slog.LevelWarn, window
	case strings.EqualFold(v, "off"), strings.EqualFold(v, "none"):
		return 0, false
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return slog.LevelWarn, true
	}
	return l, true
}

func lookup(name string) (Command, bool) {
	for _, c := range commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// exit prints err (if any) and returns its exit code.
func (m *Main) exit(prefix string, err error) int {
	return m.report(prefix, prefix, err)
}

// report prints err (if any) after prefix, with a pointer to the help of
// helpOf for a usage error, and returns its exit code.
func (m *Main) report(prefix, helpOf string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailure
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
		if ee.Silent {
			return code
		}
	}
	msg := Message(err)
	// "courier sync: sync: cannot connect ..." says "sync" once.
	if _, cmd, ok := strings.Cut(prefix, " "); ok {
		msg = strings.TrimPrefix(msg, cmd+": ")
	}
	fmt.Fprintf(m.Stderr, "%s: %s\n", prefix, msg)
	if code == ExitUsage && ee != nil && ee.Usage {
		fmt.Fprintf(m.Stderr, "Run '%s --help' for usage.\n", helpOf)
	}
	return code
}

// ExitError carries an exit code with its error.
type ExitError struct {
	Code   int
	Err    error
	Usage  bool // point to --help
	Silent bool // the command already said everything
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// Usagef returns an error for a wrong command line (exit 2, with a pointer
// to --help).
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...), Usage: true}
}

// Exitf returns an error with exit code code.
func Exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// cliTrustCAHint is how courier says to trust a server's CA, in place of
// the app's syncclient.TrustCAHint: every command that talks to a sync
// server or fetches a link takes --ca.
const cliTrustCAHint = " (for a self-hosted server, pass its CA certificate with --ca FILE)"

// syncOffMessage is app.ErrSyncOff in courier's words.
const syncOffMessage = "sync is off on this profile; turn it on first ('courier sync on')"

// cliWords are the app's errors that leave the way out to the front end,
// in courier's words: the command to run.
var cliWords = []struct {
	err   error
	words string
}{
	{app.ErrSyncOff, syncOffMessage},
	{app.ErrNotSignedIn, "not signed in; sign in with 'courier login'"},
	{app.ErrSessionEnded, strings.TrimSuffix(app.ErrSessionEnded.Error(), ": "+model.ErrUnauthorized.Error()) + " with 'courier login'"},
}

// Message returns err as one line for a person: the model vocabulary
// words that wrapping leaves in the middle of messages are dropped, and so
// is anything after the first line, unless err joins several errors (the
// problems of a form), which are all kept, separated by "; ". The app's
// hints are worded for courier.
func Message(err error) string {
	text := err.Error()
	var api *syncproto.Error
	if errors.As(err, &api) && api.Message != "" {
		// The server's words, without the code meant for programs.
		text = strings.Replace(text, api.Error(), api.Message, 1)
	}
	text = strings.ReplaceAll(text, syncclient.TrustCAHint, cliTrustCAHint)
	for _, w := range cliWords {
		if errors.Is(err, w.err) {
			text = strings.Replace(text, w.err.Error(), w.words, 1)
		}
	}
	var ca *caMissingError
	if errors.As(err, &ca) {
		text = ca.Error() // it says all: which call needed it adds nothing
	}
	lines := strings.Split(text, "\n")
	if !joined(err) {
		lines = lines[:1] // the rest is detail: a server's page, say
	}
	out := lines[:0]
	for _, l := range lines {
		if l = plainLine(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// joined reports whether err holds several errors joined by errors.Join
// (each problem of a form, say), one per line of its message.
func joined(err error) bool {
	var j interface{ Unwrap() []error }
	return errors.As(err, &j) && strings.Contains(j.(error).Error(), "\n")
}

// plainLine drops from one line of a message the error kinds meant for
// code (": invalid input", ...) and the profile errors' own suffixes.
func plainLine(msg string) string {
	for _, s := range []error{model.ErrNotFound, model.ErrInvalid, model.ErrConflict, model.ErrUnavailable, model.ErrUnauthorized, model.ErrTooLarge} {
		msg = strings.ReplaceAll(msg, ": "+s.Error()+":", ":")
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	for _, s := range []error{store.ErrProfileLocked, store.ErrSecretsLocked} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
		msg = strings.TrimSuffix(msg, ": "+strings.TrimSuffix(s.Error(), ": "+model.ErrUnavailable.Error()))
	}
	return strings.TrimSpace(msg)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
