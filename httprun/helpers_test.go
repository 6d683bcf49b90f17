package httprun

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

// newHTTPBin starts an in-process httpbin on loopback.
func newHTTPBin(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(httpbin.New(httpbin.WithMaxBodySize(64 << 20)).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// echo is the JSON httpbin answers with on /anything.
type echo struct {
	Args    map[string][]string `json:"args"`
	Headers map[string][]string `json:"headers"`
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Data    string              `json:"data"`
	Files   map[string][]string `json:"files"`
	Form    map[string][]string `json:"form"`
	JSON    any                 `json:"json"`
}

// send sends req with a fresh Runner and fails the test on error.
func send(t *testing.T, opts Options, req model.Request, scope Scope) *Result {
	t.Helper()
	res, err := New(opts).Send(context.Background(), req, scope)
	if err != nil {
		t.Fatalf("Send(%s %s): %v", req.Method, req.URL, err)
	}
	return res
}

// sendEcho sends req to httpbin and decodes its echo.
func sendEcho(t *testing.T, req model.Request, scope Scope) (*Result, echo) {
	t.Helper()
	res := send(t, Options{}, req, scope)
	if res.Response.Status != http.StatusOK {
		t.Fatalf("status %d, body %s", res.Response.Status, res.Body)
	}
	var e echo
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Fatalf("decode echo %s: %v", res.Body, err)
	}
	return res, e
}

// sendErr sends req and returns its *Error, failing when Send succeeds.
func sendErr(t *testing.T, opts Options, req model.Request) *Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := New(opts).Send(ctx, req, Scope{})
	if err == nil {
		t.Fatalf("Send(%s) = status %d, want an error", req.URL, res.Response.Status)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Send(%s) error %T %v, want *Error", req.URL, err, err)
	}
	return e
}

func auth(typ string, kv ...string) model.Auth {
	a := model.Auth{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		a.SetParam(kv[i], kv[i+1])
	}
	return a
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
