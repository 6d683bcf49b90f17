package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

const linkDetails = `Subcommands:
  link create COLLECTION [--expires D]   publish a snapshot of COLLECTION (its name or ID);
                                         prints the public URL and the link's ID
  link update ID [--expires D | --no-expiry]
                                         re-publish the current state of the link's collection
  link revoke ID                         delete the link: its URL answers 404 from then on
  link list                              list the account's links

A link publishes the collection as a plaintext Postman v2.1 file that anyone
with the URL can read. Secret variables are published without their values.
Before publishing, what looks like a credential (an Authorization header, a
token in a URL, an auth with a password...) is listed and you are asked; pass
--yes to publish anyway without a terminal.

Durations: 90m, 12h, 7d, 2w; a link lasts at most 3650 days.

Run 'courier link SUBCOMMAND --help' for its flags.
`

func runLink(ctx context.Context, env *Env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "create":
		return runLinkCreate(ctx, env, args[1:])
	case "update":
		return runLinkUpdate(ctx, env, args[1:])
	case "revoke":
		return runLinkRevoke(ctx, env, args[1:])
	case "list":
		return runLinkList(ctx, env, args[1:])
	}
	fs := env.FlagSet("link", "create|update|revoke|list [flags]")
	env.Details = linkDetails
	if _, err := env.Parse(fs, args); err != nil {
		return err
	}
	return Usagef("usage: courier link create|update|revoke|list [flags]")
}

// linkSession is an open profile with its core, accounts and links.
type linkSession struct {
	core  *app.App
	links *app.Links
	close func()
}

// openLinks opens the profile once for the core and the account, wired as
// openAccounts wires them (the account's server and CA file).
func openLinks(ctx context.Context, env *Env, f serverFlags) (*linkSession, error) {
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
	closeFn := func() {
		if err := p.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "courier: %s\n", Message(err))
		}
	}
	ls, err := wireLinks(ctx, env, f, p.Store, dir)
	if err != nil {
		closeFn()
		return nil, err
	}
	ls.close = func() {
		warnUnreadable(env.Stderr, ls.core)
		closeFn()
	}
	return ls, nil
}

func wireLinks(ctx context.Context, env *Env, f serverFlags, st app.Store, dir string) (*linkSession, error) {
	core, err := app.New(st, app.Options{Logger: env.Logger})
	if err != nil {
		return nil, err
	}
	s := &accountSession{}
	secrets := keyring.NewFallback(keyring.New(keyringService, keyring.ProfileID(dir)), keyring.NewMemory())
	if s.acc, err = app.NewAccounts(st, app.AccountsOptions{Dial: s.dial, Secrets: secrets, Logger: env.Logger}); err != nil {
		return nil, err
	}
	if err := s.choose(ctx, env, f); err != nil {
		return nil, err
	}
	links, err := app.NewLinks(core, s.acc)
	if err != nil {
		return nil, err
	}
	return &linkSession{core: core, links: links}, nil
}

// parseTTL reads a duration: Go's (90m, 12h) or whole days and weeks
// (7d, 2w), at most syncproto.MaxLinkTTL. Empty is zero (no expiry).
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	const day = 24 * time.Hour
	tooLong := Usagef("--expires %q: a link lasts at most %d days", s, syncproto.MaxLinkTTL/day)
	unit := map[byte]time.Duration{'d': day, 'w': 7 * day}[s[len(s)-1]]
	if unit != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-"):
			return 0, tooLong
		case err != nil || n <= 0:
			return 0, Usagef("--expires %q: want a number of days or weeks such as 7d or 2w", s)
		case n > int(syncproto.MaxLinkTTL/unit):
			return 0, tooLong
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil || d <= 0:
		return 0, Usagef("--expires %q: want a positive duration such as 90m, 12h, 7d or 2w", s)
	case d > syncproto.MaxLinkTTL:
		return 0, tooLong
	}
	return d, nil
}

func runLinkCreate(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("link create", "COLLECTION [--expires DURATION] [--yes] [flags]")
	f.addCA(fs)
	expires := fs.String("expires", "", "end the link after `DURATION` (90m, 12h, 7d, 2w; at most 3650d; default: never)")
	yes := fs.Bool("yes", false, "publish even when something looks like a credential, without asking")
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("link create needs one COLLECTION (its name or ID)")
	}
	ttl, err := parseTTL(*expires)
	if err != nil {
		return err
	}
	s, err := openLinks(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	cs, err := s.core.Collections(ctx)
	if err != nil {
		return err
	}
	id, err := pickByName("collection", pos[0], len(cs), func(i int) (model.ID, string) { return cs[i].ID, cs[i].Name })
	if err != nil {
		return err
	}
	d, err := s.links.Draft(ctx, id)
	if err != nil {
		return err
	}
	if err := confirmDraft(env, d, *yes); err != nil {
		return err
	}
	l, err := s.links.Create(ctx, d, ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, l.URL)
	fmt.Fprintln(env.Stdout, l.ID)
	fmt.Fprintf(env.Stderr, "Published %q %s. Anyone with the URL can read it; 'courier link revoke %s' ends it.\n", d.Name, expiryText(l), l.ID)
	return nil
}

func expiryText(l app.Link) string {
	if l.ExpiresAt.IsZero() {
		return "without expiry"
	}
	return "until " + l.ExpiresAt.Local().Format("2006-01-02 15:04")
}

// confirmDraft shows what the snapshot leaves out and what looks like a
// credential, and asks before publishing. Without a terminal, publishing
// findings needs --yes.
func confirmDraft(env *Env, d app.LinkDraft, yes bool) error {
	if len(d.Blanked) > 0 {
		fmt.Fprintf(env.Stderr, "Secret variables are published without their values: %s.\n", strings.Join(d.Blanked, ", "))
	}
	if len(d.Findings) == 0 || yes {
		return nil
	}
	fmt.Fprintf(env.Stderr, "%q holds what looks like credentials; anyone with the link could read them:\n", d.Name)
	for _, f := range d.Findings {
		fmt.Fprintf(env.Stderr, "  %s: %s (%s)\n", f.Where, f.What, f.Preview)
	}
	p := newPrompter(env, false)
	if _, ok := p.terminal(); !ok {
		return Exitf(ExitFailure, "nothing was published: move these values into secret variables, or pass --yes to publish them")
	}
	fmt.Fprint(env.Stderr, "Publish anyway? [y/N] ")
	answer, err := p.line("answer")
	if err != nil {
		return err
	}
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return Exitf(ExitFailure, "nothing was published")
	}
	return nil
}

func runLinkUpdate(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("link update", "ID [--expires DURATION | --no-expiry] [--yes] [flags]")
	f.addCA(fs)
	expires := fs.String("expires", "", "also end the link `DURATION` from now (90m, 12h, 7d, 2w)")
	noExpiry := fs.Bool("no-expiry", false, "also remove the link's expiry")
	yes := fs.Bool("yes", false, "publish even when something looks like a credential, without asking")
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("link update needs the link's ID (see courier link list)")
	}
	ttl, err := parseTTL(*expires)
	if err != nil {
		return err
	}
	if ttl > 0 && *noExpiry {
		return Usagef("--expires and --no-expiry exclude each other")
	}
	s, err := openLinks(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := s.links.DraftUpdate(ctx, pos[0])
	if err != nil {
		return linkNotFound(err)
	}
	if err := confirmDraft(env, d, *yes); err != nil {
		return err
	}
	l, err := s.links.Update(ctx, pos[0], d)
	if err != nil {
		return linkNotFound(err)
	}
	if ttl > 0 || *noExpiry {
		if l, err = s.links.SetExpiry(ctx, pos[0], ttl); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "Link %s now publishes the current %q, %s.\n", l.ID, d.Name, expiryText(l))
	return nil
}

// linkNotFound points a link that is not there to courier link list.
func linkNotFound(err error) error {
	if errors.Is(err, model.ErrNotFound) {
		return &hintedError{msg: Message(err) + " (see courier link list)", err: err}
	}
	return err
}

func runLinkRevoke(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("link revoke", "ID [flags]")
	f.addCA(fs)
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("link revoke needs the link's ID (see courier link list)")
	}
	s, err := openLinks(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.links.Revoke(ctx, pos[0]); err != nil {
		return linkNotFound(err)
	}
	fmt.Fprintf(env.Stdout, "Link %s revoked: its URL no longer answers.\n", pos[0])
	return nil
}

func runLinkList(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("link list", "[flags]")
	f.addCA(fs)
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	env.onlyReads = true
	s, err := openLinks(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	ls, err := s.links.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUPDATED\tEXPIRES\tURL")
	now := time.Now()
	for _, l := range ls {
		exp := "never"
		if !l.ExpiresAt.IsZero() {
			exp = l.ExpiresAt.Local().Format("2006-01-02 15:04")
			if l.Expired(now) {
				exp += " (expired)"
			}
		}
		u := l.URL
		if u == "" {
			u = "(shown on the device that created it)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ID, l.Name, l.UpdatedAt.Local().Format("2006-01-02 15:04"), exp, u)
	}
	return tw.Flush()
}

// runOpenURL handles a courier:// URL given as the only argument, as the
// desktop hands it over (courier courier://import?url=https://...): it
// imports the URL with the account's TLS trust.
func runOpenURL(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("a courier:// URL comes alone")
	}
	target, err := app.ParseOpenURL(args[0])
	if err != nil {
		return err
	}
	s, err := openLinks(ctx, env, serverFlags{})
	if err != nil {
		return err
	}
	defer s.close()
	sum, err := s.links.ImportURL(ctx, target, app.ImportOptions{})
	if err != nil {
		return err
	}
	for _, line := range sum.Lines() {
		fmt.Fprintf(env.Stdout, "imported %s\n", line)
	}
	return nil
}

// isOpenURL reports whether a command-line argument is a courier:// URL.
func isOpenURL(arg string) bool {
	return len(arg) > len(app.OpenURLScheme)+1 && strings.EqualFold(arg[:len(app.OpenURLScheme)+1], app.OpenURLScheme+":")
}
