package syncclient

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// OIDCProviders lists the sign-in providers the server offers. A server
// without any answers model.ErrNotFound.
func (c *Client) OIDCProviders(ctx context.Context) ([]syncproto.OIDCProviderInfo, error) {
	var out syncproto.OIDCProvidersResponse
	err := c.do(ctx, call{what: "list sign-in providers", method: http.MethodGet, path: syncproto.PathOIDCProviders, out: &out})
	return out.Providers, err
}

// OIDCStart begins a provider sign-in (Bearer when r.Link is set).
func (c *Client) OIDCStart(ctx context.Context, provider string, r syncproto.OIDCStartRequest) (syncproto.OIDCStartResponse, error) {
	var out syncproto.OIDCStartResponse
	if err := errors.Join(syncproto.ValidateProviderName(provider), r.Validate()); err != nil {
		return out, fmt.Errorf("start sign-in with %s: %w", provider, err)
	}
	err := c.do(ctx, call{what: "start sign-in with " + provider, method: http.MethodPost, path: syncproto.PathOIDCStart(provider), bearer: r.Link, in: r, out: &out})
	return out, err
}

// OIDCFinish hands the redirect's code to the server.
func (c *Client) OIDCFinish(ctx context.Context, provider string, r syncproto.OIDCFinishRequest) (syncproto.OIDCFinishResponse, error) {
	var out syncproto.OIDCFinishResponse
	if err := errors.Join(syncproto.ValidateProviderName(provider), r.Validate()); err != nil {
		return out, fmt.Errorf("finish sign-in with %s: %w", provider, err)
	}
	err := c.do(ctx, call{what: "finish sign-in with " + provider, method: http.MethodPost, path: syncproto.PathOIDCFinish(provider), in: r, out: &out})
	return out, err
}

// OIDCSignUp creates the account of a sign-up ticket and signs it in.
func (c *Client) OIDCSignUp(ctx context.Context, r syncproto.OIDCSignUpRequest) (syncproto.SignInResponse, error) {
	var out syncproto.SignInResponse
	if err := r.Validate(); err != nil {
		return out, fmt.Errorf("sign up: %w", err)
	}
	err := c.do(ctx, call{what: "sign up", method: http.MethodPost, path: syncproto.PathOIDCSignUp, in: r, out: &out})
	return out, err
}

// OIDCIdentities lists the provider identities linked to the account
// (Bearer).
func (c *Client) OIDCIdentities(ctx context.Context) ([]syncproto.OIDCIdentity, error) {
	var out syncproto.OIDCIdentitiesResponse
	err := c.do(ctx, call{what: "list linked sign-in providers", method: http.MethodGet, path: syncproto.PathOIDCIdentities, bearer: true, out: &out})
	return out.Identities, err
}

// Loopback receives the provider's redirect on 127.0.0.1 (RFC 8252
// section 7.3): a one-shot HTTP listener on a free port.
type Loopback struct {
	ln   net.Listener
	srv  *http.Server
	once sync.Once
	got  chan redirect
}

type redirect struct{ code, state, err string }

// ListenLoopback starts a listener on 127.0.0.1 and a free port. Close it
// when done.
func ListenLoopback() (*Loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the sign-in redirect: %w: %w", model.ErrUnavailable, err)
	}
	l := &Loopback{ln: ln, got: make(chan redirect, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+syncproto.OIDCRedirectPath, l.callback)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go l.srv.Serve(ln)
	return l, nil
}

// RedirectURI is http://127.0.0.1:PORT/callback.
func (l *Loopback) RedirectURI() string {
	return "http://127.0.0.1:" + strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port) + syncproto.OIDCRedirectPath
}

func (l *Loopback) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msg := "Signed in. You can close this window and go back to Courier."
	if e := q.Get("error"); e != "" {
		msg = "The sign-in did not complete (" + e + "). You can close this window."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "<!doctype html><title>Courier</title><p>%s</p>\n", html.EscapeString(msg))
	l.once.Do(func() { l.got <- redirect{code: q.Get("code"), state: q.Get("state"), err: q.Get("error")} })
}

// Wait returns the code of the first redirect. A redirect whose state is
// not state is refused (model.ErrInvalid): it did not come from the flow
// this app started. A provider error is model.ErrUnauthorized.
func (l *Loopback) Wait(ctx context.Context, state string) (string, error) {
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("wait for the sign-in in the browser: %w", ctx.Err())
	case g := <-l.got:
		switch {
		case g.err != "":
			return "", fmt.Errorf("the provider refused the sign-in (%s): %w", g.err, model.ErrUnauthorized)
		case subtle.ConstantTimeCompare([]byte(g.state), []byte(state)) != 1:
			return "", fmt.Errorf("the sign-in redirect carries another state than the one started here; start again: %w", model.ErrInvalid)
		case g.code == "" || len(g.code) > syncproto.MaxOIDCParamLen:
			return "", fmt.Errorf("the sign-in redirect carries no usable code: %w", model.ErrInvalid)
		}
		return g.code, nil
	}
}

// Close stops the listener. It lets a page being answered finish first
// (up to a second), so the browser shows it rather than a reset
// connection.
func (l *Loopback) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		return l.srv.Close()
	}
	return nil
}
