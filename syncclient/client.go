package syncclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// DefaultTimeout bounds one call when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds how much of an answer is read (account API answers
// are small; a bigger one is a broken or hostile server).
const maxResponse = 1 << 20

// Options configures a Client. The zero value is usable.
type Options struct {
	// CAFile names a PEM file of CA certificates trusted in addition to
	// the system roots (for a self-hosted server or `courier-server --dev`).
	CAFile string
	// Timeout bounds each call, connection and answer included; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// Proxy is the HTTP(S) proxy to go through; nil uses the environment
	// (HTTPS_PROXY, NO_PROXY).
	Proxy *url.URL
	// UserAgent is sent with every call; empty means "courier".
	UserAgent string
}

// Client calls the account API of one server. It is safe for concurrent
// use. The zero value is not usable: call New.
type Client struct {
	base  *url.URL
	http  *http.Client
	agent string
	token string
}

// New returns a client for the server at serverURL, which must be an
// https:// URL without user info, query or fragment (a path prefix is
// kept). Errors wrap model.ErrInvalid: a URL of another scheme, or a
// CAFile that cannot be read or holds no PEM certificate.
func New(serverURL string, opts Options) (*Client, error) {
	base, err := ParseServerURL(serverURL)
	if err != nil {
		return nil, err
	}
	roots, err := httprun.RootPool(opts.CAFile)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "courier"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if opts.Proxy != nil {
		tr.Proxy = http.ProxyURL(opts.Proxy)
	}
	hc := &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		// The API never redirects; following one could carry an auth key
		// or a token somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{base: base, http: hc, agent: opts.UserAgent}, nil
}

// ParseServerURL checks that s is an https:// URL with a host and without
// user info, query or fragment, and returns it without a trailing slash.
// Errors wrap model.ErrInvalid and say what is wrong.
func ParseServerURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %v: %w", s, err, model.ErrInvalid)
	}
	switch {
	case u.Scheme != "https":
		return nil, fmt.Errorf("server URL %q must start with https:// (Courier never sends account data unencrypted): %w", s, model.ErrInvalid)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("server URL %q has no host: %w", s, model.ErrInvalid)
	case u.User != nil:
		return nil, fmt.Errorf("server URL %q must not hold a user name or password: %w", s, model.ErrInvalid)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("server URL %q must not have a query or fragment: %w", s, model.ErrInvalid)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// WithToken returns a client that sends token as `Authorization: Bearer`
// on the calls that need a session. It shares c's connections.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}

// ServerURL returns the server's base URL as New accepted it.
func (c *Client) ServerURL() string { return c.base.String() }

// CloseIdleConnections closes connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// call describes one API call for do.
type call struct {
	what   string // "sign in": names the call in errors ("": the caller does)
	method string
	path   string
	bearer bool
	in     any // JSON body, or nil
	out    any // decoded answer, or nil
}

// do performs k and decodes the answer into k.out. Errors are prefixed
// with k.what and wrap *syncproto.Error (the server said no) or
// model.ErrUnavailable (the server could not be reached or answered
// nonsense), or ctx's error.
func (c *Client) do(ctx context.Context, k call) error {
	err := c.doCall(ctx, k)
	if err == nil || k.what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", k.what, err)
}

func (c *Client) doCall(ctx context.Context, k call) error {
	req, err := c.newRequest(ctx, k)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(ctx, c.base.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("read the answer of %s: %w: %w", c.base.Host, model.ErrUnavailable, err)
	}
	if len(body) > maxResponse {
		return fmt.Errorf("the answer of %s exceeds %d bytes: %w", c.base.Host, maxResponse, model.ErrUnavailable)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, body)
	}
	if k.out == nil {
		return nil
	}
	if err := json.Unmarshal(body, k.out); err != nil {
		return fmt.Errorf("%s answered something that is not the expected JSON (%v): %w", c.base.Host, err, model.ErrUnavailable)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, k call) (*http.Request, error) {
	if k.bearer && c.token == "" {
		return nil, fmt.Errorf("not signed in: %w", model.ErrUnauthorized)
	}
	var body io.Reader
	if k.in != nil {
		b, err := json.Marshal(k.in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w: %w", model.ErrInvalid, err)
		}
		body = bytes.NewReader(b)
	}
	// k.path is already escaped; the base has no query or fragment.
	req, err := http.NewRequestWithContext(ctx, k.method, c.base.String()+k.path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w: %w", model.ErrInvalid, err)
	}
	if k.in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if k.bearer {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// TrustCAHint ends the message of a server certificate signed by a CA
// this computer does not trust: where the app takes a self-hosted
// server's CA (the sign-in form's and Settings' extra CA file). Other
// front ends replace it with their own way (courier has --ca).
const TrustCAHint = " (for a self-hosted server, give its CA certificate as the extra CA file)"

// transportError explains why a call did not get an answer, in one
// sentence that says what to do; the cause stays wrapped, out of the
// sentence. It wraps ctx's error when the caller gave up or its deadline
// passed, else model.ErrUnavailable. Certificate and connection failures
// and time-outs are an *httprun.Error.
func transportError(ctx context.Context, host string, err error) error {
	var uerrWrap *url.Error // drop `Post "https://...": the host is named
	if errors.As(err, &uerrWrap) {
		err = uerrWrap.Err
	}
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return timeoutError(host, errors.Join(ctxErr, err))
	case ctxErr != nil:
		return &quietError{msg: "the call to " + host + " was canceled", err: errors.Join(ctxErr, err)}
	}
	if ce := certError(host, err); ce != nil {
		return ce
	}
	var nerr interface{ Timeout() bool }
	if errors.As(err, &nerr) && nerr.Timeout() {
		return timeoutError(host, err)
	}
	if he := httprun.ConnectError(err); he != nil {
		return he // "cannot connect to HOST: connection refused", and the like
	}
	return fmt.Errorf("cannot reach %s: %w: %w", host, model.ErrUnavailable, err)
}

// timeoutError says that host did not answer in time (err, the cause, is
// kept out of the sentence).
func timeoutError(host string, err error) *httprun.Error {
	return &httprun.Error{Kind: httprun.KindTimeout, Err: err,
		Msg: host + " did not answer in time; check that the server is running and reachable, then try again"}
}

// certError says why the certificate of host did not verify, and what to
// do: a certificate for other names is not fixed by trusting a CA, one
// signed by an unknown CA is (TrustCAHint). It returns nil when err is
// not a certificate that failed verification. The x509 detail stays in
// the wrapped cause.
func certError(host string, err error) *httprun.Error {
	var (
		verr    *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	var msg string
	switch {
	case errors.As(err, &name):
		msg = fmt.Sprintf("the certificate of %s is not valid for the name %s%s: connect with a name it holds, or give the server a certificate for %s",
			host, name.Host, certNames(name.Certificate), name.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		msg = fmt.Sprintf("the certificate of %s has expired or is not valid yet: check this computer's clock, or renew the server's certificate", host)
	case errors.As(err, &invalid):
		msg = fmt.Sprintf("the certificate of %s is not valid (%s)", host, strings.TrimPrefix(firstLine(invalid.Error()), "x509: "))
	case errors.As(err, &unknown), errors.As(err, &verr):
		msg = fmt.Sprintf("the certificate of %s is not signed by a CA this computer trusts%s", host, TrustCAHint)
	default:
		return nil
	}
	return &httprun.Error{Kind: httprun.KindTLS, Msg: msg, Err: err}
}

// certNames lists, in parentheses, the first names a certificate is for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) > 3:
		names = append(names[:3], "...")
	}
	return " (it is for " + strings.Join(names, ", ") + ")"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// quietError is a sentence for the person that wraps its cause without
// quoting it.
type quietError struct {
	msg string
	err error
}

func (e *quietError) Error() string { return e.msg }
func (e *quietError) Unwrap() error { return e.err }
