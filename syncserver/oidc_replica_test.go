package syncserver_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// replica starts a second server over e's storage (as a second replica
// over one database would be) and returns an env that talks to it.
func (e *env) replica(opts ...envOption) *env {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := syncserver.Config{
		Listener: ln, PublicURL: "https://" + ln.Addr().String(), TLS: &tls.Config{Certificates: []tls.Certificate{e.cert}},
		Storage: e.store, Mailer: &discardMailer{}, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := syncserver.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	r := *e
	r.srv, r.base = srv, cfg.PublicURL
	return &r
}

// TestOIDCFlowStartedOnOneReplicaFinishesOnAnother: the state and the
// sign-up ticket carry the flow sealed with a key in the shared storage,
// so a load balancer need not keep a user on one replica.
func TestOIDCFlowStartedOnOneReplicaFinishesOnAnother(t *testing.T) {
	m := startMockOIDC(t)
	p := mockProvider(m)
	e1 := newEnv(t, withOIDC(p))
	e2 := e1.replica(withOIDC(p))
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true})

	st, perr := call[syncproto.OIDCStartResponse](e1, "POST", syncproto.PathOIDCStart("mock"), "", syncproto.OIDCStartRequest{RedirectURI: testRedirect})
	mustOK(t, "start on replica 1", perr)
	code, state := browse(t, st.AuthorizationURL)
	finish := func(e *env, state string) (syncproto.OIDCFinishResponse, *syncproto.Error) {
		return call[syncproto.OIDCFinishResponse](e, "POST", syncproto.PathOIDCFinish("mock"), "", syncproto.OIDCFinishRequest{State: state, Code: code, DeviceName: "laptop"})
	}
	tampered := []byte(state)
	tampered[len(tampered)/2] ^= 1
	_, perr = finish(e2, string(tampered))
	wantCode(t, "a tampered state", perr, syncproto.CodeInvalidCode)

	fin, perr := finish(e2, state)
	mustOK(t, "finish on replica 2", perr)
	if fin.Status != syncproto.OIDCStatusNeedsSignUp || fin.Ticket == "" {
		t.Fatalf("finish = %+v, want a sign-up ticket", fin)
	}
	_, perr = finish(e2, state)
	wantCode(t, "the same state again", perr, syncproto.CodeInvalidCode)
	_, perr = finish(e2, fin.Ticket)
	wantCode(t, "a ticket passed as a state", perr, syncproto.CodeInvalidCode)

	sess, perr := e1.oidcSignUp(fin.Ticket, "ann", newPassword("passphrase"))
	mustOK(t, "sign-up on replica 1 with replica 2's ticket", perr)
	if sess.Username != "ann" || sess.Email != "ann@example.com" {
		t.Fatalf("session = %+v", sess)
	}
	_, perr = e1.oidcSignUp(fin.Ticket, "ann2", newPassword("passphrase"))
	wantCode(t, "the ticket again", perr, syncproto.CodeInvalidCode)
	_, perr = e2.oidcSignUp(fin.Ticket, "ann3", newPassword("passphrase"))
	wantCode(t, "the ticket again on the other replica", perr, syncproto.CodeConflict)
}
