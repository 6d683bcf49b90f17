package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// sendFlags are the flags of courier send.
type sendFlags struct {
	method  string
	headers headerList
	data    string
	dataSet bool
	// binary says the body came from --data-binary: a @FILE is sent as
	// it is (a file body), not read into a template.
	binary          bool
	env             string
	include         bool
	timeout         time.Duration
	insecure        bool
	caFile          string
	allowUnresolved bool
}

// headerList collects repeated -H flags.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

func runSend(ctx context.Context, env *Env, args []string) error {
	var f sendFlags
	fs := env.FlagSet("send", "[flags] URL")
	fs.StringVar(&f.method, "X", "", "send with `METHOD` (default GET, or POST with -d)")
	fs.Var(&f.headers, "H", "add the header `'NAME: VALUE'` (repeatable; 'NAME;' sends it empty)")
	fs.Func("d", "send `DATA` as the body (JSON when it starts with { or [, else form data, unless -H sets Content-Type); @FILE reads it from FILE, @- from stdin", func(v string) error {
		if f.dataSet {
			return errors.New("give the body once, with -d or --data-binary")
		}
		f.data, f.dataSet = v, true
		return nil
	})
	fs.Func("data-binary", "send `DATA` as the body, as -d does; @FILE sends the bytes of FILE as they are, streamed, with no {{variable}} substitution (its Content-Type from its name, unless -H sets one)", func(v string) error {
		if f.dataSet {
			return errors.New("give the body once, with -d or --data-binary")
		}
		f.data, f.dataSet, f.binary = v, true, true
		return nil
	})
	fs.StringVar(&f.env, "e", "", "resolve {{variables}} with the environment called `NAME` (default: the active one)")
	fs.BoolVar(&f.include, "i", false, "print the response headers too")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after `DURATION`, like 10s or 2m (default: the profile's setting, 30s)")
	fs.BoolVar(&f.insecure, "k", false, "do not verify the server's TLS certificate")
	fs.StringVar(&f.caFile, "ca", "", "also trust the CA certificates in PEM `FILE` (default: $COURIER_CA, else the profile's setting)")
	fs.BoolVar(&f.allowUnresolved, "allow-unresolved", false, "send {{variables}} that nothing defines as they are written")
	env.Details, env.ExitStatus = sendDetails, sendExitStatus
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("want one URL, got %d arguments", len(pos))
	}
	if f.caFile, err = caFile(env, f.caFile); err != nil {
		return err
	}
	if f.timeout < 0 {
		return Usagef("--timeout %v is negative", f.timeout)
	}
	req, err := f.request(env, pos[0])
	if err != nil {
		return err
	}
	core, _, closeFn, err := env.OpenApp(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	return sendAndPrint(ctx, env, core, req, f)
}

const sendDetails = `It prints the status line (with -i the response headers), a blank line and
the body. A binary body, or one over 10 MiB (kept in a file in the profile's
responses folder), is summarised on a terminal; when stdout is redirected it
gets the raw bytes and the status line goes to stderr. The URL and headers
may use {{variables}} of the globals and the environment. Every request is
saved to the history (see courier history).
`

const sendExitStatus = `Exit status: 0 on any HTTP response (4xx and 5xx too); 1 when no response
came back (the reason on stderr); 2 for a wrong command line or unresolved
variables; 130 when interrupted (Ctrl+C).
`

// request builds the request of the command line, as curl would.
func (f *sendFlags) request(env *Env, url string) (model.Request, error) {
	req := model.Request{Method: strings.ToUpper(f.method), URL: url}
	for _, line := range f.headers {
		kv, err := httprun.ParseHeaderLine(line)
		if err != nil {
			return req, &ExitError{Code: ExitUsage, Err: err}
		}
		req.Headers = append(req.Headers, kv)
	}
	if !f.dataSet {
		if req.Method == "" {
			req.Method = "GET"
		}
		return req, nil
	}
	if req.Method == "" {
		req.Method = "POST"
	}
	if name, ok := strings.CutPrefix(f.data, "@"); ok && f.binary && name != "-" {
		return fileRequest(req, name)
	}
	data, err := readData(env, f.data)
	if err != nil {
		return req, err
	}
	req.Body = model.Body{Mode: model.BodyRaw, Raw: data}
	ct := ""
	for _, h := range req.Headers {
		if strings.EqualFold(h.Key, "Content-Type") {
			ct = strings.ToLower(h.Value)
		}
	}
	switch {
	case strings.Contains(ct, "json"):
		req.Body.Language = model.LangJSON
	case ct != "":
		req.Body.Language = model.LangText
	case looksLikeJSON(data):
		req.Body.Language = model.LangJSON
	default: // what curl sends for -d
		req.Headers = append(req.Headers, model.KV{Key: "Content-Type", Value: "application/x-www-form-urlencoded"})
	}
	return req, nil
}

// fileRequest is req with the file name as its body, sent as it is
// (--data-binary @FILE, as curl sends it).
func fileRequest(req model.Request, name string) (model.Request, error) {
	path, err := filepath.Abs(name)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(path); err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
	}
	if err != nil {
		return req, Exitf(ExitUsage, "cannot send the body file %s: %v", name, err)
	}
	req.Body = model.Body{Mode: model.BodyFile, File: path}
	return req, nil
}

func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

// maxData bounds a body read from a file or stdin.
const maxData = 256 << 20

func readData(env *Env, v string) (string, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return v, nil
	}
	var r io.Reader
	if name == "-" {
		r = env.Stdin
	} else {
		file, err := os.Open(name)
		if err != nil {
			return "", Exitf(ExitUsage, "cannot read the body file: %v", err)
		}
		defer file.Close()
		r = file
	}
	b, err := io.ReadAll(io.LimitReader(r, maxData+1))
	if err != nil {
		return "", Exitf(ExitFailure, "cannot read the body from %s: %v", name, err)
	}
	if len(b) > maxData {
		return "", Exitf(ExitUsage, "the body in %s is larger than %d MiB", name, maxData>>20)
	}
	return string(b), nil
}

func sendAndPrint(ctx context.Context, env *Env, core *app.App, req model.Request, f sendFlags) error {
	opts := app.SendOptions{AllowUnresolved: f.allowUnresolved, Timeout: f.timeout, TimeoutFrom: "--timeout", SkipVerify: f.insecure, CAFile: f.caFile}
	if f.env != "" {
		e, err := core.EnvironmentByName(ctx, f.env)
		if err != nil {
			return Exitf(ExitUsage, "%s", noEnvironment(ctx, core, f.env, err))
		}
		opts.Environment = e.ID
	}
	p, err := core.PrepareWith(ctx, req, opts)
	if err != nil {
		return err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(env.Stderr, "courier send: warning: %s\n", w)
	}
	res, err := core.SendWith(ctx, req, opts)
	var ue *app.UnresolvedError
	switch {
	case errors.As(err, &ue):
		return Exitf(ExitUsage, "unresolved variables: %s; define them in an environment (-e NAME), the collection or the globals, or pass --allow-unresolved (a -d body file is a template too; --data-binary @FILE sends a file as it is)",
			variableList(ue.Names))
	case errors.Is(err, context.Canceled):
		return Exitf(ExitCanceled, "the request was canceled")
	case errors.Is(err, model.ErrInvalid):
		return &ExitError{Code: ExitUsage, Err: err}
	case err != nil:
		return cliTLSHint(err)
	}
	for _, w := range res.Warnings {
		if !slices.Contains(p.Warnings, w) {
			fmt.Fprintf(env.Stderr, "courier send: warning: %s\n", w)
		}
	}
	if err := printResponse(env, res, f.include); err != nil {
		return err
	}
	if res.HistoryErr != nil {
		fmt.Fprintf(env.Stderr, "courier send: the response was not saved to history: %s\n", Message(res.HistoryErr))
	}
	return nil
}

func noEnvironment(ctx context.Context, core *app.App, name string, err error) string {
	if !errors.Is(err, model.ErrNotFound) {
		return Message(err)
	}
	es, lerr := core.Environments(ctx)
	if lerr != nil || len(es) == 0 {
		return fmt.Sprintf("no environment called %q (this profile has none)", name)
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = fmt.Sprintf("%q", e.Name)
	}
	return fmt.Sprintf("no environment called %q (there are %s)", name, strings.Join(names, ", "))
}

// caFile returns the CA file that a request or a fetch trusts beside the
// system's roots: the --ca flag's flagValue, else COURIER_CA, else ""
// (the profile's setting), checked: a file that cannot be read or holds
// no certificate is a usage error for --ca, and an error naming the
// variable for COURIER_CA.
func caFile(env *Env, flagValue string) (string, error) {
	if flagValue != "" {
		if _, err := httprun.RootPool(flagValue); err != nil {
			return "", Usagef("--ca: %s", Message(err))
		}
		return flagValue, nil
	}
	ca := strings.TrimSpace(env.Getenv("COURIER_CA"))
	if ca == "" {
		return "", nil
	}
	if _, err := httprun.RootPool(ca); err != nil {
		return "", Exitf(ExitFailure, "COURIER_CA: %s", Message(err))
	}
	return ca, nil
}

// cliTLSHint points a certificate error at -k instead of the app's
// Settings; the error still wraps its cause.
func cliTLSHint(err error) error {
	var he *httprun.Error
	if !errors.As(err, &he) || he.Kind != httprun.KindTLS || !strings.HasSuffix(err.Error(), httprun.TLSHint) {
		return err
	}
	return &hintedError{msg: strings.TrimSuffix(err.Error(), httprun.TLSHint) + " (trust its CA with --ca FILE, or send with -k to skip verification)", err: err}
}

// hintedError is err with another message.
type hintedError struct {
	msg string
	err error
}

func (e *hintedError) Error() string { return e.msg }
func (e *hintedError) Unwrap() error { return e.err }

// variableList lists unresolved variable names for a message: {{name}},
// quoted when a name is not plain text (a binary body file's bytes), at
// most ten of them.
func variableList(names []string) string {
	const most = 10
	out := make([]string, 0, min(len(names), most+1))
	for i, n := range names {
		if i == most {
			out = append(out, fmt.Sprintf("and %d more", len(names)-most))
			break
		}
		if len(n) > 40 || strings.IndexFunc(n, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) >= 0 {
			if len(n) > 40 {
				n = strings.ToValidUTF8(n[:40], "") + "..."
			}
			out = append(out, "{{"+strconv.QuoteToASCII(n)+"}}")
			continue
		}
		out = append(out, "{{"+n+"}}")
	}
	return strings.Join(out, ", ")
}
