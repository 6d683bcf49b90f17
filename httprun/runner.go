package httprun

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Options configure a Runner. The zero value is usable: no time-out, TLS
// verified against the system's roots, redirects not followed, the proxy
// from the environment, bodies over 10 MiB streamed to os.TempDir().
type Options struct {
	Timeout time.Duration // whole exchange, body included; 0: none
	// TimeoutFrom says where Timeout was set, for its time-out message
	// ("the time-out in Settings"); "": the message does not say.
	TimeoutFrom        string
	InsecureSkipVerify bool // TLS verification off
	FollowRedirects    bool
	MaxRedirects       int // redirects followed at most; 0: 10
	// Proxy: "" takes it from the environment (HTTPS_PROXY, HTTP_PROXY,
	// NO_PROXY, read once by New; loopback hosts are never proxied);
	// "direct": no proxy; else a proxy URL (http, https or socks5; a URL
	// without a scheme is taken as http).
	Proxy string
	// BodyDir is where bodies over MaxMemoryBody are streamed (created if
	// missing); "": os.TempDir().
	BodyDir       string
	MaxMemoryBody int64          // 0: 10 MiB
	CookieJar     http.CookieJar // optional
	// RootCAs verifies servers' certificates; nil: the system's roots.
	RootCAs *x509.CertPool
	// UserAgent is sent when the request sets none; "": "Courier".
	UserAgent string
}

// Defaults of Options.
const (
	DefaultMaxRedirects  = 10
	DefaultMaxMemoryBody = 10 << 20
	DefaultUserAgent     = "Courier"
	// PreviewSize is how much of a body streamed to a file Result.Body holds.
	PreviewSize = 64 << 10
)

// Runner sends requests. It is safe for concurrent use and keeps one
// Transport, so connections are reused between requests (keep-alive).
// Make a new Runner when the options change, and Close the old one.
type Runner struct {
	opts      Options
	transport *http.Transport
	client    *http.Client
	err       *Error // an invalid Options.Proxy, returned by every Send
}

// New returns a Runner with opts. An invalid Options.Proxy does not fail
// here: every Send returns it as an *Error of kind "proxy".
func New(opts Options) *Runner {
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.MaxMemoryBody <= 0 {
		opts.MaxMemoryBody = DefaultMaxMemoryBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	r := &Runner{opts: opts}
	proxy, err := proxyFunc(opts.Proxy)
	if err != nil {
		r.err = err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	r.transport = &http.Transport{
		Proxy:                  proxy,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    15 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		DisableCompression:     true, // decoded here, so the headers shown are the server's
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: opts.InsecureSkipVerify, RootCAs: opts.RootCAs},
		OnProxyConnectResponse: checkProxyConnect,
	}
	r.client = &http.Client{Transport: r.transport, Jar: opts.CookieJar, CheckRedirect: r.checkRedirect}
	return r
}

// Close closes the idle connections; requests in flight go on.
func (r *Runner) Close() {
	r.transport.CloseIdleConnections()
}

func (r *Runner) checkRedirect(_ *http.Request, via []*http.Request) error {
	if !r.opts.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) > r.opts.MaxRedirects {
		return fmt.Errorf("after %d redirects: %w", r.opts.MaxRedirects, errTooManyRedirects)
	}
	return nil
}

// proxyFunc returns the Transport's Proxy for the option.
func proxyFunc(opt string) (func(*http.Request) (*url.URL, error), *Error) {
	switch strings.TrimSpace(opt) {
	case "":
		f := httpproxy.FromEnvironment().ProxyFunc()
		return func(req *http.Request) (*url.URL, error) { return f(req.URL) }, nil
	case "direct":
		return nil, nil
	}
	s := strings.TrimSpace(opt)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, newError(KindProxy, err, "invalid proxy URL %q (check the proxy in Settings)", opt)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, newError(KindProxy, nil, "unsupported proxy scheme %q (use http, https or socks5)", u.Scheme)
	}
	return http.ProxyURL(u), nil
}

// checkProxyConnect turns a proxy's refusal of CONNECT into a sentence.
func checkProxyConnect(_ context.Context, proxy *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return newError(KindProxy, fmt.Errorf("proxy CONNECT: %s", resp.Status), "the proxy %s refused the connection: %s", proxy.Redacted(), resp.Status)
}
