package httprun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
)

// Result is a response as Send read it.
type Result struct {
	// Response holds the status, headers (as the server sent them, sorted
	// by name), timings, decoded size, media type, and up to
	// model.HistoryBodyLimit bytes of body (Truncated when cut; it shares
	// its bytes with Body). BodyFile is set when the body was streamed to a
	// file. Timings: DNS, Connect and TLS are the durations of those phases
	// (summed over redirects; zero on a reused connection); FirstByte runs
	// from the start until the first byte of the final response (curl's
	// time_starttransfer), Total until the body was read.
	Response model.Response
	// Body is the whole body when it fit in memory (<= MaxMemoryBody), else
	// its first PreviewSize bytes.
	Body []byte
	// BodyFile is the file (in BodyDir, mode 0600) holding the whole body
	// when it was larger than MaxMemoryBody. The caller owns it.
	BodyFile string
	// Cookies are the cookies the final response set.
	Cookies []*http.Cookie
	// ResolvedURL is the URL sent first: variables resolved, characters
	// that cannot travel in a URL encoded, an API key in the query added.
	ResolvedURL string
	// FinalURL is the URL of the final response (after redirects).
	FinalURL string
	// Binary says the body is not text (by Content-Type and sniffing).
	Binary bool
	// WireSize is the size of the body as received, before decoding gzip or
	// deflate (equal to Response.Size when not compressed).
	WireSize int64
	// Warnings are things the user should know about the request as sent
	// (an auth type not applied, a Content-Type replaced).
	Warnings []string
}

// Send resolves the variables of req from scope, sends it and reads the
// whole response. The context cancels it at any point, the body included.
// Options.Timeout bounds the whole exchange.
//
// Every error is an *Error: invalid input (URL, scheme, method, header,
// GraphQL variables, a variable that refers to itself), a file that cannot
// be read or written, or a network failure; a canceled request wraps
// context.Canceled. A response with any status, 4xx and 5xx included, is
// not an error. Unresolved {{variables}} are sent as they are (see
// Unresolved).
func (r *Runner) Send(ctx context.Context, req model.Request, scope Scope) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("httprun: panic while sending", "panic", p, "stack", string(debug.Stack()))
			res, err = nil, newError(KindInternal, fmt.Errorf("panic: %v", p), "internal error while sending the request: %v", p)
		}
	}()
	if r.err != nil {
		return nil, r.err
	}
	out, err := r.build(req, scope)
	if err != nil {
		return nil, err
	}
	sendCtx, cancel := ctx, context.CancelFunc(func() {})
	if r.opts.Timeout > 0 {
		sendCtx, cancel = context.WithTimeout(ctx, r.opts.Timeout)
	}
	defer cancel()
	tr := newTracer()
	resp, err := r.client.Do(out.req.WithContext(tr.with(sendCtx)))
	if err != nil {
		return nil, r.classify(ctx, sendCtx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	res = &Result{ResolvedURL: out.url, FinalURL: out.url, Warnings: out.warnings}
	if resp.Request.URL != out.req.URL { // redirected
		res.FinalURL = resp.Request.URL.String()
	}
	if err := r.readBody(resp, res); err != nil {
		return nil, r.classify(ctx, sendCtx, err)
	}
	r.describe(resp, res)
	res.Response.Timings = tr.timings()
	return res, nil
}

// describe fills in what the response says about itself.
func (r *Runner) describe(resp *http.Response, res *Result) {
	text := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	declared := mediaType(resp.Header.Get("Content-Type"))
	res.Response.Status = resp.StatusCode
	res.Response.StatusText = text
	res.Response.Proto = resp.Proto
	res.Response.Headers = headerKVs(resp.Header)
	res.Response.ContentType = declared
	if declared == "" && len(res.Body) > 0 {
		res.Response.ContentType = mediaType(http.DetectContentType(res.Body))
	}
	res.Binary = isBinary(declared, res.Body)
	if _, ok := resp.Header["Set-Cookie"]; ok {
		res.Cookies = resp.Cookies()
	}
}

// classify makes an *Error of a failure, saying "time-out" with the
// duration when Options.Timeout expired.
func (r *Runner) classify(ctx, sendCtx context.Context, err error) *Error {
	e := classify(ctx, err, sendCtx.Err() != nil && ctx.Err() == nil)
	if e.Kind == KindTimeout && r.opts.Timeout > 0 && ctx.Err() == nil {
		e.Msg = fmt.Sprintf("no complete response within %s", r.opts.Timeout.Round(time.Millisecond))
		if r.opts.TimeoutFrom != "" {
			e.Msg += " (" + r.opts.TimeoutFrom + ")"
		}
	}
	if e.Kind == KindCanceled && !errors.Is(e, context.Canceled) {
		e.Err = errors.Join(context.Canceled, e.Err)
	}
	return e
}

// templates lists the texts of req that Send resolves.
func templates(req model.Request) []string {
	t := []string{req.URL}
	for _, kv := range req.Headers {
		if !kv.Disabled {
			t = append(t, kv.Key, kv.Value)
		}
	}
	switch req.Auth.Type {
	case model.AuthBearer:
		t = append(t, req.Auth.Param("token"))
	case model.AuthBasic:
		t = append(t, req.Auth.Param("username"), req.Auth.Param("password"))
	case model.AuthAPIKey:
		t = append(t, req.Auth.Param("key"), req.Auth.Param("value"), req.Auth.Param("in"))
	}
	return append(t, bodyTemplates(req.Body)...)
}

func bodyTemplates(b model.Body) []string {
	if b.Disabled {
		return nil
	}
	var t []string
	switch b.Mode {
	case model.BodyRaw:
		t = append(t, b.Raw)
	case model.BodyURLEncoded:
		for _, kv := range b.URLEncoded {
			if !kv.Disabled {
				t = append(t, kv.Key, kv.Value)
			}
		}
	case model.BodyFormData:
		for _, kv := range b.FormData {
			switch {
			case kv.Disabled || kv.Key == "":
			case kv.Type == "file":
				t = append(t, kv.Key, kv.Src)
			default:
				t = append(t, kv.Key, kv.Value)
			}
		}
	case model.BodyFile:
		t = append(t, b.File)
	case model.BodyGraphQL:
		if b.GraphQL != nil {
			t = append(t, b.GraphQL.Query, b.GraphQL.Variables)
		}
	}
	return t
}
