package app

import (
	"context"
	"sync"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

// httpSender sends through package httprun. It keeps one Runner (and so
// one pool of keep-alive connections) for as long as the configuration
// stays the same.
type httpSender struct {
	mu     sync.Mutex
	cfg    SenderConfig
	runner *httprun.Runner
}

func newHTTPSender() Sender { return &httpSender{} }

func (s *httpSender) Send(ctx context.Context, cfg SenderConfig, req model.Request, scope Scope) (*Exchange, error) {
	res, err := s.runnerFor(cfg).Send(ctx, req, httprun.Scope(scope))
	if err != nil {
		return nil, err
	}
	return &Exchange{
		Response: res.Response, Body: res.Body, BodyFile: res.BodyFile, ResolvedURL: res.ResolvedURL,
		Binary: res.Binary, Cookies: res.Cookies, Warnings: res.Warnings,
	}, nil
}

func (s *httpSender) runnerFor(cfg SenderConfig) *httprun.Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runner != nil && s.cfg == cfg {
		return s.runner
	}
	if s.runner != nil {
		s.runner.Close()
	}
	s.cfg = cfg
	s.runner = httprun.New(httprun.Options{
		Timeout: cfg.Timeout, InsecureSkipVerify: cfg.InsecureSkipVerify, FollowRedirects: cfg.FollowRedirects,
		MaxRedirects: cfg.MaxRedirects, Proxy: cfg.Proxy, BodyDir: cfg.BodyDir,
		MaxMemoryBody: cfg.MaxMemoryBody, CookieJar: cfg.CookieJar,
	})
	return s.runner
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
