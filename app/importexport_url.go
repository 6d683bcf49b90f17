package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// DefaultMaxImportURLSize caps what ImportURL downloads when
// ImportOptions.MaxSize is 0.
const DefaultMaxImportURLSize = 64 << 20

// importURLTimeout bounds the wait for the response's headers.
const importURLTimeout = 30 * time.Second

// ImportURL downloads a Postman file (or one of Courier's collection links,
// https://HOST/c/TOKEN, which answer JSON when asked for it) and imports
// it as Import does. Only https is fetched, except from a loopback host
// (localhost, 127.0.0.0/8, ::1); redirects must stay https too. The body is
// capped at opts.MaxSize (DefaultMaxImportURLSize when 0).
//
// Errors wrap model.ErrInvalid (a URL that is not https, an answer that is
// not 200 or not a Postman file), model.ErrUnavailable (the host cannot be
// reached), model.ErrTooLarge, or ctx's error; nothing is stored then.
func (a *App) ImportURL(ctx context.Context, rawURL string, opts ImportOptions) (ImportSummary, error) {
	u, err := checkImportURL(strings.TrimSpace(rawURL))
	if err != nil {
		return ImportSummary{}, err
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxImportURLSize
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ImportSummary{}, fmt.Errorf("fetch %s: %w: %w", u.Redacted(), model.ErrInvalid, err)
	}
	req.Header.Set("Accept", "application/json")
	roots, err := a.linkRoots(ctx, u, opts.CAFile)
	if err != nil {
		return ImportSummary{}, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	resp, err := importClient(roots).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ImportSummary{}, fmt.Errorf("fetch %s: %w", u.Redacted(), ctx.Err())
		}
		var bad *badSchemeError
		if errors.As(err, &bad) {
			return ImportSummary{}, bad
		}
		if he := httprun.ConnectError(err); he != nil { // "cannot connect to HOST: ...", and the like
			return ImportSummary{}, fmt.Errorf("fetch %s: %w", u.Redacted(), he)
		}
		return ImportSummary{}, fmt.Errorf("fetch %s: %w: %w", u.Redacted(), model.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		why := ""
		if msg := errorMessage(resp.Body); msg != "" {
			why = " (" + msg + ")"
		}
		return ImportSummary{}, fmt.Errorf("fetch %s: the server answered %s%s: %w", u.Redacted(), resp.Status, why, statusErr(resp.StatusCode))
	}
	if resp.ContentLength > opts.MaxSize {
		return ImportSummary{}, fmt.Errorf("fetch %s: %d bytes, more than %d: %w", u.Redacted(), resp.ContentLength, opts.MaxSize, model.ErrTooLarge)
	}
	if opts.Size <= 0 {
		opts.Size = resp.ContentLength // -1 when unknown
	}
	s, err := a.Import(ctx, resp.Body, opts)
	if err != nil {
		return ImportSummary{}, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	return s, nil
}

// linkRoots returns the roots to trust for u: the system's, plus the CA
// certificates that requests trust (caFile, else Settings.CAFile), plus
// for a link of the remembered account's server the CA file given at
// sign-in (a self-hosted or dev server; trusted for its server only). Nil
// when there is none of those: the system's alone.
func (a *App) linkRoots(ctx context.Context, u *url.URL, caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		// An unreadable setting counts as none: the fetch then says
		// whether the system trusts the server.
		if s, err := a.Settings(ctx); err == nil {
			caFile = s.CAFile
		}
	}
	var acct Account
	if err := a.store.Setting(ctx, accountSettingKey, &acct); err == nil && acct.CAFile != "" {
		if srv, err := url.Parse(acct.ServerURL); err != nil || !sameServer(srv, u) {
			acct.CAFile = ""
		}
	}
	if caFile == "" && acct.CAFile == "" {
		return nil, nil
	}
	return httprun.RootPool(caFile, acct.CAFile)
}

// sameServer reports whether a and b name the same https server: the same
// port, and the same host or two names of loopback (a dev server's links
// say localhost where its clients say 127.0.0.1).
func sameServer(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return "443"
	}
	if port(a) != port(b) {
		return false
	}
	ha, hb := a.Hostname(), b.Hostname()
	return strings.EqualFold(ha, hb) || (isLoopback(ha) && isLoopback(hb))
}

func statusErr(code int) error {
	switch code {
	case http.StatusNotFound, http.StatusGone:
		return model.ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return model.ErrUnauthorized
	case http.StatusRequestEntityTooLarge:
		return model.ErrTooLarge
	}
	if code >= 500 {
		return model.ErrUnavailable
	}
	return model.ErrInvalid
}

// badSchemeError refuses a URL (or a redirect) that is not https.
type badSchemeError struct{ url string }

func (e *badSchemeError) Error() string {
	return fmt.Sprintf("fetch %s: only https addresses are fetched (http only from this computer, localhost)", e.url)
}

func (e *badSchemeError) Unwrap() error { return model.ErrInvalid }

// checkImportURL parses raw and accepts https, or http to a loopback host.
func checkImportURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("fetch %q: not a URL (want https://HOST/PATH): %w", raw, model.ErrInvalid)
	}
	if !allowedScheme(u) {
		return nil, &badSchemeError{url: u.Redacted()}
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fetch %q: not a URL (want https://HOST/PATH): %w", raw, model.ErrInvalid)
	}
	return u, nil
}

func allowedScheme(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// importClient returns the client ImportURL fetches with: the
// environment's proxy, a bound on the wait for headers, redirects checked
// like the URL itself, and roots (nil: the system's) to trust.
func importClient(roots *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = importURLTimeout
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("more than 10 redirects: %w", model.ErrInvalid)
			}
			if !allowedScheme(req.URL) {
				return &badSchemeError{url: req.URL.Redacted()}
			}
			return nil
		},
	}
}

// errorMessage returns the message of a JSON error body of the form
// {"error": {"message": ...}} (a Courier server's, for a revoked link),
// cut short and stripped of control characters; "" for any other body.
func errorMessage(body io.Reader) string {
	var e syncproto.ErrorBody
	if json.NewDecoder(io.LimitReader(body, 4<<10)).Decode(&e) != nil {
		return ""
	}
	msg := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, e.Error.Message)
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "..."
	}
	return strings.TrimSpace(msg)
}
