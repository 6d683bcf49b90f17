package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// Env is what a command runs with: the Main's streams and environment, and
// the profile chosen on the command line.
type Env struct {
	*Main
	command       string
	summary       string
	profile       string // --profile as parsed so far
	globalProfile string // --profile given before the command
	synopsis      string
	// usageName is the command's name in its help and in the pointer to
	// it ("link create"): the command's, or the subcommand's.
	usageName string
	// Details is printed after the flags in the command's help.
	Details string
	// ExitStatus is the help's paragraph on exit codes; empty prints
	// exitStatus.
	ExitStatus string
	flags      *flag.FlagSet // the command's, for tests
	// onlyReads says that the command only reads the profile, so that one
	// Courier may not write is opened read-only (see openProfile).
	onlyReads bool
}

// FlagSet returns an empty flag set for the command, holding --profile.
// name is the command's, or a subcommand's ("link create"); synopsis is
// the usage line after "courier NAME" (for example "[flags] URL"); help
// is printed by Parse, with the subcommand's own summary.
func (e *Env) FlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.profile = e.globalProfile
	fs.Var((*profileFlag)(&e.profile), "profile", "use the profile in `DIR` (default: $COURIER_PROFILE, else the user config folder's courier)")
	e.synopsis = synopsis
	e.flags = fs
	if name != "" {
		e.usageName = name
	}
	if s, ok := subcommandSummaries[name]; ok {
		e.summary = s
	}
	return fs
}

// subcommandSummaries are the summaries of the subcommands' help; a
// command's is in the commands table.
var subcommandSummaries = map[string]string{
	"link create":     "publish a snapshot of a collection at a public link",
	"link update":     "publish the current state of a link's collection again, or change its expiry",
	"link revoke":     "delete a link: its URL answers 404 from then on",
	"link list":       "list the account's links",
	"password forgot": "email a code to reset the account's password",
	"password reset":  "set a new password with the emailed code",
	"password change": "change the signed-in account's password",
	"username remind": "email the account's username to its address",
}

// exitStatus is the help's paragraph on exit codes of most commands.
const exitStatus = "Exit status: 0 on success; 1 when it failed (the reason on stderr); 2 for a\nwrong command line; 130 when interrupted (Ctrl+C).\n"

// profileFlag is --profile: a folder name, never empty, so that a script's
// `--profile "$UNSET"` does not fall back to the person's own profile.
type profileFlag string

func (p *profileFlag) String() string { return string(*p) }

func (p *profileFlag) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty folder name (leave --profile out for the default profile)")
	}
	*p = profileFlag(s)
	return nil
}

// Parse parses args with fs, flags and positional arguments in any order
// ("--" ends the flags). On -h or --help it prints the command's help to
// stdout and returns flag.ErrHelp (exit 0); a bad flag gives a usage error.
func (e *Env) Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		e.printHelp(fs)
		return nil, flag.ErrHelp
	}
	if err != nil {
		return nil, Usagef("%s", flagError(fs, err))
	}
	return pos, nil
}

// badValue and badBool are how package flag words a value its Set
// refused.
var (
	badValue = regexp.MustCompile(`^invalid value (".*") for flag -([^:]+): (.*)$`)
	badBool  = regexp.MustCompile(`^invalid boolean value (".*") for -([^:]+): (.*)$`)
)

// flagError words a refused flag value as "--name: why" (Set's own
// words name the value), or, for the flags of numbers and durations,
// whose Set says only "parse error", as `--name "value": what it wants`.
// Other errors are left as they are.
func flagError(fs *flag.FlagSet, err error) string {
	if m := badBool.FindStringSubmatch(err.Error()); m != nil {
		return dashed(m[2]) + " " + m[1] + ": want true or false"
	}
	m := badValue.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	quoted, name, why := m[1], m[2], m[3]
	var value any
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			value = g.Get()
		}
	}
	switch value.(type) {
	case time.Duration:
		return dashed(name) + " " + quoted + ": not a duration like 10s or 2m"
	case int, int64, uint, uint64:
		if why == "value out of range" {
			return dashed(name) + " " + quoted + ": too large a number"
		}
		return dashed(name) + " " + quoted + ": not a whole number"
	case float64:
		return dashed(name) + " " + quoted + ": not a number"
	}
	return dashed(name) + ": " + why
}

// dashed is a flag's name as the help writes it: -n, --timeout.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseLeading parses the flags before the command name.
func parseLeading(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func (e *Env) printHelp(fs *flag.FlagSet) {
	w := e.Stdout
	summary := e.summary
	fmt.Fprintf(w, "Usage: courier %s %s\n", e.helpName(), e.synopsis)
	if summary != "" {
		fmt.Fprintf(w, "\n%s%s.\n", strings.ToUpper(summary[:1]), summary[1:])
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
	if e.Details != "" {
		fmt.Fprintf(w, "\n%s", withNewline(e.Details))
	}
	status := e.ExitStatus
	if status == "" {
		status = exitStatus
	}
	fmt.Fprintf(w, "\n%s", withNewline(status))
}

// helpName is the name of the command (or subcommand) being run, as its
// help and the pointer to it name it.
func (e *Env) helpName() string {
	if e.usageName != "" {
		return e.usageName
	}
	return e.command
}

// withNewline ends s with a line end.
func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// printFlags lists every flag of fs: one-letter names with one dash, the
// others with two, the value's name, the usage and a non-empty default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		arg, usage := flag.UnquoteUsage(f)
		head := dash + f.Name
		if arg != "" {
			head += " " + arg
		}
		if len(head) <= 20 {
			fmt.Fprintf(w, "  %-20s %s", head, usage)
		} else {
			fmt.Fprintf(w, "  %s\n  %-20s %s", head, "", usage)
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && d != "[]" && f.Name != "profile" {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "  %-20s %s\n", "-h, --help", "show this help")
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `Courier is a desktop API client.

Usage:
  courier [--profile DIR]                  open the desktop app
  courier [--profile DIR] COMMAND [flags]  run a command without a window

Commands:
`)
	width := len("help")
	for _, c := range commands {
		width = max(width, len(c.Name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help", "show the help of a command")
	fmt.Fprint(w, `
Flags:
  --profile DIR        use the profile in DIR: its collections, environments,
                       history and settings (default: $COURIER_PROFILE, else
                       the user config folder's courier). Every command takes it.
  --version            print the version and exit
  -h, --help           show this help

Environment:
  COURIER_PROFILE      the profile folder when --profile is not given
  COURIER_SERVER       the sync server when --server is not given
  COURIER_CA           a PEM file of CA certificates to trust when --ca is
                       not given
  COURIER_LOG          log on stderr at this level: debug, info, warn, error,
                       or off. Unset, commands log nothing (their messages
                       say what went wrong) and the desktop app logs
                       warnings and errors.

Exit status: 0 on success; 1 when the command failed; 2 for a wrong command
line; 130 when interrupted (Ctrl+C); 'courier COMMAND --help' tells the
command's own.

Run 'courier COMMAND --help' for the flags of a command.
`)
}

// help runs "courier help [COMMAND]".
func (m *Main) help(args []string) int {
	if len(args) == 0 {
		m.usage(m.Stdout)
		return ExitOK
	}
	cmd, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(m.Stderr, "courier help: unknown command %q\n", args[0])
		return ExitUsage
	}
	env := &Env{Main: m, command: cmd.Name, summary: cmd.Summary}
	return m.exitEnv(env, cmd.Run(context.Background(), env, []string{"--help"}))
}

// OpenApp opens the chosen profile and returns the core over it, and a
// function that closes it. A notice about the opening (a damaged file set
// aside, a profile opened read-only) is printed on stderr. A profile that
// the desktop window has open is used through the window (see shared.go).
// A profile in use by another Courier otherwise, or one that cannot be
// created or written, is an error (exit 1) that says so; for a command
// that only reads, one that may not be written is opened read-only.
func (e *Env) OpenApp(ctx context.Context) (*app.App, string, func(), error) {
	core, notice, closeFn, _, err := e.openApp(ctx, true)
	return core, notice, closeFn, err
}

// openApp is OpenApp; through says whether a profile the window owns may
// be used through it. It also returns the opened profile.
func (e *Env) openApp(ctx context.Context, through bool) (*app.App, string, func(), *Profile, error) {
	dir, err := app.ProfileDirFrom(e.profile, e.Getenv)
	if err != nil {
		return nil, "", nil, nil, err
	}
	p, err := e.openProfile(ctx, dir)
	if through && errors.Is(err, store.ErrProfileLocked) {
		rs, derr := e.dialWindow(ctx)
		switch {
		case derr == nil:
			p, err = &Profile{Store: rs, Close: rs.Close}, nil
		case !errors.Is(derr, errNoWindow): // a window that refused or failed
			return nil, "", nil, nil, derr
		default:
			err = heldByCommand(dir)
		}
	}
	if err != nil {
		return nil, "", nil, nil, err
	}
	var core *app.App
	closeFn := func() {
		if core != nil {
			warnUnreadable(e.Stderr, core)
		}
		if err := p.Close(); err != nil {
			fmt.Fprintf(e.Stderr, "courier: %s\n", Message(err))
		}
	}
	if p.Notice != "" {
		fmt.Fprintf(e.Stderr, "courier: %s\n", p.Notice)
	}
	core, err = app.New(p.Store, app.Options{Logger: e.Logger})
	if err != nil {
		closeFn()
		return nil, "", nil, nil, err
	}
	return core, p.Notice, closeFn, p, nil
}

// warnUnreadable tells the records core left out of what it read because
// they could not be read (see app.App.Unreadable): a list, an export or a
// link went on without them.
func warnUnreadable(w io.Writer, core *app.App) {
	n, first := core.Unreadable()
	if n == 0 {
		return
	}
	names := make([]string, len(first))
	for i, k := range first {
		names[i] = string(k.Kind) + " " + string(k.ID)
	}
	list := strings.Join(names, ", ")
	if n > len(first) {
		list += fmt.Sprintf(" and %d more", n-len(first))
	}
	what := fmt.Sprintf("%d records of this profile could not be read (written by a newer Courier?) and were", n)
	if n == 1 {
		what = "1 record of this profile could not be read (written by a newer Courier?) and was"
	}
	fmt.Fprintf(w, "courier: warning: %s left out: %s\n", what, list)
}

// openProfile opens the profile in dir with OpenProfile. For a command
// that only reads (onlyReads), a profile whose folder or file Courier may
// not write (permission denied, a read-only file system) is opened with
// OpenProfileReadOnly instead, and the notice says so.
//
// A command that only reads makes nothing: a folder without a profile
// database is a noProfileError.
func (e *Env) openProfile(ctx context.Context, dir string) (*Profile, error) {
	if e.onlyReads {
		if err := e.profileThere(dir); err != nil {
			return nil, err
		}
	}
	p, err := e.OpenProfile(ctx, dir)
	if err == nil || !e.onlyReads || !errors.Is(err, store.ErrNotWritable) {
		return p, err
	}
	rp, rerr := e.OpenProfileReadOnly(ctx, dir)
	switch {
	case errors.Is(rerr, os.ErrNotExist):
		return nil, err // nothing to read: why it could not be made says more
	case rerr != nil:
		return nil, rerr
	}
	note := fmt.Sprintf("Courier may not write to the profile %s, so it opened it read-only.", rp.Store.Dir())
	if rp.Notice != "" {
		note = rp.Notice + " " + note
	}
	rp.Notice = note
	return rp, nil
}

// profileThere returns a noProfileError when dir holds no profile
// database (the folder may not exist either), nil otherwise: when it
// cannot tell, the opening says why.
func (e *Env) profileThere(dir string) error {
	_, err := os.Stat(filepath.Join(dir, store.FileName))
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	np := &noProfileError{dir: dir}
	switch {
	case e.profile != "":
		np.by = "--profile"
	case e.Getenv("COURIER_PROFILE") != "":
		np.by = "COURIER_PROFILE"
	}
	return np
}

// noProfileError is a profile folder without a profile database, for a
// command that only reads: it makes none there (a mistyped --profile
// would otherwise leave a new profile behind and show it empty).
type noProfileError struct {
	dir string
	by  string // what chose dir: "--profile", "COURIER_PROFILE", or "" (the default folder)
}

func (e *noProfileError) Error() string {
	if e.by == "" {
		return fmt.Sprintf("there is no Courier profile in %s yet: Courier has not been used here (the desktop app, courier send, import or login start one)", e.dir)
	}
	return fmt.Sprintf("there is no Courier profile in %s (the folder %s names)", e.dir, e.by)
}

func (e *noProfileError) Unwrap() error { return model.ErrNotFound }

// runGUI opens the profile and runs the desktop window.
func runGUI(ctx context.Context, env *Env) error {
	if env.RunGUI == nil {
		return Exitf(ExitFailure, "this build of Courier has no desktop window; use a command (see courier --help)")
	}
	core, notice, closeFn, p, err := env.openApp(ctx, false)
	if err != nil && env.ShowStartError != nil {
		// Printed first: the window may be closed by a signal.
		code := env.exit("courier", err)
		if werr := env.ShowStartError(Message(err)); werr != nil {
			env.Logger.Debug("cannot show the start error in a window", "err", werr)
		}
		return &ExitError{Code: code, Err: err, Silent: true}
	}
	if err != nil {
		return err
	}
	defer closeFn()
	defer serveProfile(p.Store.Dir(), ownerWindow, p.Store, p.SecretKey, &env.live, env.Logger)()
	return env.RunGUI(ctx, core, notice)
}
