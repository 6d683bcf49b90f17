package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// httpSender sends through package httprun. It keeps one Runner (and so
// one pool of keep-alive connections) for as long as the configuration
// stays the same.
type httpSender struct {
	mu     sync.Mutex
	cfg    SenderConfig
	ca     fileStamp // of cfg.CAFile when the runner was made
	runner *httprun.Runner
}

// fileStamp tells a file's versions apart: a CA file replaced while the
// app runs is read again.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) fileStamp {
	if path == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{size: -1}
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}
}

func newHTTPSender() Sender { return &httpSender{} }

func (s *httpSender) Send(ctx context.Context, cfg SenderConfig, req model.Request, scope Scope) (*Exchange, error) {
	r, err := s.runnerFor(cfg)
	if err != nil {
		return nil, err
	}
	res, err := r.Send(ctx, req, httprun.Scope(scope))
	if err != nil {
		return nil, err
	}
	return &Exchange{
		Response: res.Response, Body: res.Body, BodyFile: res.BodyFile, ResolvedURL: res.ResolvedURL,
		Binary: res.Binary, Cookies: res.Cookies, Warnings: res.Warnings,
	}, nil
}

// runnerFor returns the Runner of cfg, made anew when cfg changed. A CA
// file that cannot be read fails (wrapping model.ErrInvalid): nothing is
// sent.
func (s *httpSender) runnerFor(cfg SenderConfig) (*httprun.Runner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp := stampOf(cfg.CAFile)
	if s.runner != nil && s.cfg == cfg && s.ca == stamp {
		return s.runner, nil
	}
	var roots *x509.CertPool
	if cfg.CAFile != "" {
		var err error
		if roots, err = httprun.RootPool(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("the CA certificates to trust: %w", err)
		}
	}
	if s.runner != nil {
		s.runner.Close()
	}
	s.cfg, s.ca = cfg, stamp
	s.runner = httprun.New(httprun.Options{
		Timeout: cfg.Timeout, TimeoutFrom: cfg.TimeoutFrom, InsecureSkipVerify: cfg.InsecureSkipVerify, FollowRedirects: cfg.FollowRedirects,
		MaxRedirects: cfg.MaxRedirects, Proxy: cfg.Proxy, BodyDir: cfg.BodyDir,
		MaxMemoryBody: cfg.MaxMemoryBody, CookieJar: cfg.CookieJar, RootCAs: roots,
	})
	return s.runner, nil
}

func unresolvedVars(req model.Request, scope Scope) []string {
	return httprun.Unresolved(req, httprun.Scope(scope))
}

func checkBody(req model.Request) string { return httprun.CheckBody(req) }

// resolveString resolves the variables of s, or returns "" when that fails.
func resolveString(s string, scope Scope) string {
	out, err := httprun.Resolve(s, httprun.Scope(scope))
	if err != nil {
		return ""
	}
	return out
}
