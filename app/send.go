package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// Scope holds the variables a request is resolved with. A name defined in
// several maps takes the value of the most specific: Environment, then
// Collection, then Globals. Only enabled variables are included.
type Scope struct {
	Globals     map[string]string
	Collection  map[string]string
	Environment map[string]string
}

// SenderConfig is what one exchange needs from Settings and the profile.
type SenderConfig struct {
	Timeout            time.Duration
	TimeoutFrom        string // where Timeout was set, for its message
	InsecureSkipVerify bool
	FollowRedirects    bool
	MaxRedirects       int
	Proxy              string
	// CAFile holds CA certificates trusted beside the system's; "": none.
	CAFile string
	// BodyDir receives bodies larger than MaxMemoryBody.
	BodyDir       string
	MaxMemoryBody int64
	CookieJar     http.CookieJar
}

// Exchange is what a Sender got back.
type Exchange struct {
	Response model.Response
	// Body is the whole body when it fit in memory; otherwise a preview and
	// BodyFile holds the whole of it.
	Body        []byte
	BodyFile    string
	ResolvedURL string
	// Binary is true when the body is not text (do not show it as such).
	Binary  bool
	Cookies []*http.Cookie
	// Warnings are things the user should know about the request as sent.
	Warnings []string
}

// Sender executes one request. The default is package httprun; tests may
// pass their own through Options.Sender. Errors are one-line and human
// (a transport error: DNS, refused, TLS, timeout, bad URL).
type Sender interface {
	Send(ctx context.Context, cfg SenderConfig, req model.Request, scope Scope) (*Exchange, error)
}

// SendOptions adjusts one Prepare or Send.
type SendOptions struct {
	// Environment resolves variables from this environment instead of the
	// active one; empty means the active one.
	Environment model.ID
	// AllowUnresolved sends even when {{variables}} stay unresolved (they
	// are then sent literally). Without it Send refuses with *UnresolvedError.
	AllowUnresolved bool
	// Timeout overrides Settings.Timeout for this send when positive;
	// TimeoutFrom then names where it was set, for the time-out's message
	// (for example "--timeout").
	Timeout     time.Duration
	TimeoutFrom string
	// SkipVerify turns TLS verification off for this send, whatever
	// Settings.VerifyTLS says.
	SkipVerify bool
	// CAFile, when not empty, replaces Settings.CAFile for this send.
	CAFile string
}

// Prepared is a request ready to send, for the UI to show before sending.
type Prepared struct {
	// Request is the request with its effective auth in place of an
	// inherited one.
	Request model.Request
	Scope   Scope
	// Auth is the effective auth: the request's own, or inherited from the
	// nearest folder or the collection; Type model.AuthNone when none.
	Auth model.Auth
	// AuthFrom is the folder or collection Auth came from; empty when it is
	// the request's own or none.
	AuthFrom model.ID
	// Environment is the environment whose variables are in Scope.
	Environment model.ID
	// Unresolved lists the {{variables}} that no scope defines (or that
	// refer to themselves); Send refuses them unless AllowUnresolved.
	Unresolved []string
	// Warnings are problems that do not stop sending (a JSON body that
	// does not parse, ...).
	Warnings []string
	// ResolvedURL is the URL with its variables resolved, for a preview;
	// empty when a variable refers to itself (Send reports that).
	ResolvedURL string
}

// UnresolvedError is returned by Send when variables stay unresolved and
// SendOptions.AllowUnresolved is false. It wraps model.ErrInvalid.
type UnresolvedError struct{ Names []string }

func (e *UnresolvedError) Error() string {
	return "unresolved variables: " + strings.Join(e.Names, ", ")
}

// Unwrap returns model.ErrInvalid.
func (e *UnresolvedError) Unwrap() error { return model.ErrInvalid }

// SendResult is the outcome of Send.
type SendResult struct {
	Response    model.Response
	Body        []byte
	BodyFile    string
	ResolvedURL string
	Binary      bool
	Cookies     []*http.Cookie
	Warnings    []string
	// HistoryID is the history entry saved for this send; empty when saving
	// failed, and then HistoryErr says why (the response is still good).
	HistoryID  model.ID
	HistoryErr error
}

// Prepare resolves the scope and the effective auth of req with the active
// environment, and lists unresolved variables and body warnings. It sends
// nothing.
func (a *App) Prepare(ctx context.Context, req model.Request) (Prepared, error) {
	return a.PrepareWith(ctx, req, SendOptions{})
}

// PrepareWith is Prepare with options (another environment).
func (a *App) PrepareWith(ctx context.Context, req model.Request, opts SendOptions) (Prepared, error) {
	p := Prepared{Request: req, Environment: opts.Environment}
	if p.Environment == "" {
		env, err := a.ActiveEnvironment(ctx)
		if err != nil {
			return p, err
		}
		p.Environment = env
	}
	scope, twins, err := a.scope(ctx, req.Collection, p.Environment)
	if err != nil {
		return p, err
	}
	p.Scope = scope
	auth, from, err := a.EffectiveAuth(ctx, req)
	if err != nil {
		return p, err
	}
	p.Auth, p.AuthFrom = auth, from
	p.Request.Auth = auth
	p.Unresolved = unresolvedVars(p.Request, scope)
	p.ResolvedURL = resolveString(p.Request.URL, scope)
	if w := checkBody(p.Request); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	if len(twins) > 0 {
		// Every name the request refers to: none resolves in an empty scope.
		for _, name := range httprun.Unresolved(p.Request, httprun.Scope{}) {
			if level, ok := twins[name]; ok {
				p.Warnings = append(p.Warnings, fmt.Sprintf("two enabled %s are called %q; the first in the list is used", level, name))
			}
		}
	}
	return p, nil
}

// Send prepares req with the active environment and sends it; see SendWith.
func (a *App) Send(ctx context.Context, req model.Request) (*SendResult, error) {
	return a.SendWith(ctx, req, SendOptions{})
}

// SendWith sends req with the settings' timeout, TLS and redirect rules,
// saves the exchange to history (the request as edited with the resolved
// URL; the response's status, headers, timings, size and body up to
// model.HistoryBodyLimit; a body over the memory limit is streamed to
// ResponsesDir and the entry keeps the path), prunes history to the limit,
// and returns the result.
//
// It returns *UnresolvedError (wrapping model.ErrInvalid) when variables stay
// unresolved and opts.AllowUnresolved is false; the Sender's one-line error
// on a transport failure (the attempt is still saved to history, with the
// error); the Sender's error wrapping model.ErrInvalid when the request
// cannot be sent as written (bad URL or scheme; nothing saved); ctx.Err()
// when cancelled (nothing saved). A history save failure
// does not fail the send: it is reported in SendResult.HistoryErr.
func (a *App) SendWith(ctx context.Context, req model.Request, opts SendOptions) (*SendResult, error) {
	p, err := a.PrepareWith(ctx, req, opts)
	if err != nil {
		return nil, err
	}
	if len(p.Unresolved) > 0 && !opts.AllowUnresolved {
		return nil, &UnresolvedError{Names: p.Unresolved}
	}
	settings, err := a.Settings(ctx)
	if err != nil {
		return nil, err
	}
	timeoutFrom := "the time-out in Settings"
	if opts.Timeout > 0 {
		settings.Timeout, timeoutFrom = opts.Timeout, opts.TimeoutFrom
	}
	if opts.SkipVerify {
		settings.VerifyTLS = false
	}
	if opts.CAFile != "" {
		settings.CAFile = opts.CAFile
	}
	sentAt := a.now()
	cfg := a.senderConfig(settings)
	cfg.TimeoutFrom = timeoutFrom
	ex, sendErr := a.sender.Send(ctx, cfg, p.Request, p.Scope)
	if sendErr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("send %s: %w", req.URL, ctx.Err())
		}
		if errors.Is(sendErr, model.ErrInvalid) {
			return nil, sendErr // nothing was sent: not history
		}
		entry := a.historyEntry(req, p, sentAt, nil, sendErr)
		entry.Request.ResolvedURL = a.maskSecrets(ctx, p, entry.Request.ResolvedURL)
		if _, herr := a.saveHistory(ctx, entry, settings.HistoryLimit); herr != nil {
			a.log.Warn("save failed send to history", "err", herr)
		}
		return nil, sendErr
	}
	res := &SendResult{
		Response: ex.Response, Body: ex.Body, BodyFile: ex.BodyFile, ResolvedURL: ex.ResolvedURL,
		Binary: ex.Binary, Cookies: ex.Cookies, Warnings: append(p.Warnings, ex.Warnings...),
	}
	entry := a.historyEntry(req, p, sentAt, ex, nil)
	entry.Request.ResolvedURL = a.maskSecrets(ctx, p, entry.Request.ResolvedURL)
	if ex.BodyFile != "" {
		res.BodyFile = a.keepBodyFile(ex.BodyFile, entry.ID)
		entry.Response.BodyFile = res.BodyFile
	}
	res.HistoryID, res.HistoryErr = a.saveHistory(ctx, entry, settings.HistoryLimit)
	return res, nil
}

// bodyFileExt names the response files kept for history entries:
// <entry ID>.body in ResponsesDir, so files of deleted entries can be found.
const bodyFileExt = ".body"

// keepBodyFile renames a streamed body to its history entry's name and
// returns the path it now has (the old one if renaming failed).
func (a *App) keepBodyFile(path string, id model.ID) string {
	dst := filepath.Join(a.ResponsesDir(), string(id)+bodyFileExt)
	if err := os.Rename(path, dst); err != nil {
		a.log.Warn("rename response file", "path", path, "err", err)
		return path
	}
	return dst
}

func (a *App) senderConfig(s Settings) SenderConfig {
	return SenderConfig{
		Timeout: s.Timeout, InsecureSkipVerify: !s.VerifyTLS, FollowRedirects: s.FollowRedirects,
		MaxRedirects: s.MaxRedirects, Proxy: s.Proxy, CAFile: s.CAFile, BodyDir: a.ResponsesDir(),
		MaxMemoryBody: a.opts.MaxMemoryBody, CookieJar: a.jar,
	}
}

// historyEntry builds the entry for one send: the request as edited, cut
// to fit the history (model.HistoryRequest.Cap: a large body would keep
// the entry from syncing), the resolved URL, and the response with its
// body cut to HistoryBodyLimit.
func (a *App) historyEntry(req model.Request, p Prepared, sentAt time.Time, ex *Exchange, sendErr error) model.HistoryEntry {
	hr := model.HistoryRequest{Request: req, SavedID: req.ID, ResolvedURL: p.ResolvedURL}
	hr.ID = ""
	if sendErr == nil {
		hr.ResolvedURL = ex.ResolvedURL
	}
	hr.Cap()
	e := model.HistoryEntry{ID: model.NewID(), SentAt: sentAt.UTC(), Request: hr, Environment: p.Environment}
	if sendErr != nil {
		e.Error = sendErr.Error()
		return e
	}
	resp := ex.Response
	body := resp.Body // httprun keeps up to HistoryBodyLimit here
	if body == nil {
		body = ex.Body
	}
	resp.Truncated = resp.Truncated || ex.BodyFile != "" || len(body) > model.HistoryBodyLimit
	if len(body) > model.HistoryBodyLimit {
		body = body[:model.HistoryBodyLimit]
	}
	resp.Body = body
	if ex.BodyFile != "" {
		resp.BodyFile = ex.BodyFile
	}
	if resp.Size == 0 && ex.BodyFile == "" {
		resp.Size = int64(len(ex.Body))
	}
	e.Response = &resp
	return e
}

// saveHistory stores e and prunes history to limit. A prune failure is
// logged: the entry itself was saved.
func (a *App) saveHistory(ctx context.Context, e model.HistoryEntry, limit int) (model.ID, error) {
	op, err := model.UpsertOp(model.KindHistory, e.ID, &e)
	if err != nil {
		return "", fmt.Errorf("save history: %w", err)
	}
	if err := a.store.Apply(ctx, op); err != nil {
		return "", fmt.Errorf("save history: %w", err)
	}
	if err := a.pruneHistory(ctx, limit); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("prune history", "limit", limit, "err", err)
	}
	return e.ID, nil
}

// maskSecrets returns u, a resolved URL kept in history, with the value of
// every secret variable in p's scope (as written, query- or path-escaped)
// put back as {{name}}, so history never stores a secret. Should the
// variables not be listed, it returns "": better no URL than a secret.
func (a *App) maskSecrets(ctx context.Context, p Prepared, u string) string {
	if u == "" {
		return u
	}
	vars, err := listObj[model.Variable](ctx, a, model.KindVariable)
	if err != nil {
		a.log.Warn("list variables to mask the history URL", "err", err)
		return ""
	}
	type mask struct{ value, name string }
	var masks []mask
	for _, v := range vars {
		if !v.Secret || !v.Enabled || !inScope(v, p) {
			continue
		}
		val := v.Value
		if r := resolveString(val, p.Scope); r != "" {
			val = r
		}
		for _, form := range []string{val, url.QueryEscape(val), url.PathEscape(val)} {
			if form != "" {
				masks = append(masks, mask{form, "{{" + v.Name + "}}"})
			}
		}
	}
	// Longest first, so a value inside another is not masked half.
	slices.SortStableFunc(masks, func(x, y mask) int { return len(y.value) - len(x.value) })
	for _, m := range masks {
		u = strings.ReplaceAll(u, m.value, m.name)
	}
	return u
}

// inScope reports whether v is the variable p's scope holds for its
// name in its owner's layer.
func inScope(v model.Variable, p Prepared) bool {
	var layer map[string]string
	switch {
	case v.Owner == model.GlobalsID:
		layer = p.Scope.Globals
	case v.Owner == p.Request.Collection:
		layer = p.Scope.Collection
	case v.Owner == p.Environment:
		layer = p.Scope.Environment
	}
	val, ok := layer[v.Name]
	return ok && val == v.Value
}
