package syncclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver/servertest"
)

// signedIn makes a confirmed account username on srv and returns a client
// signed in to it.
func signedIn(t *testing.T, srv *servertest.Server, username string) *syncclient.Client {
	t.Helper()
	return srv.Client(t).WithToken(srv.NewAccount(t, username).Login(t))
}

func TestLinksAgainstTheRealServer(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	ann := signedIn(t, srv, "ann")
	ctx := context.Background()
	snap := json.RawMessage(`{"info":{"name":"Pets"},"item":[]}`)
	info, err := ann.CreateLink(ctx, syncproto.CreateLinkRequest{Collection: snap, Source: "C1"})
	if err != nil || info.URL == "" || info.Name != "Pets" {
		t.Fatalf("CreateLink = %+v, %v", info, err)
	}
	// Anyone fetches it, with the same trust and no token.
	got, err := srv.Client(t).FetchURL(ctx, info.URL, syncproto.MaxLinkSnapshot)
	if err != nil || !bytes.Equal(got, snap) {
		t.Fatalf("FetchURL = %q, %v", got, err)
	}
	_, err = srv.Client(t).FetchURL(ctx, info.URL, 10)
	wantErr(t, "fetch past maxBytes", err, model.ErrTooLarge)
	_, err = ann.FetchURL(ctx, "http://"+info.URL[len("https://"):], 1<<20)
	wantErr(t, "fetch over http", err, model.ErrInvalid)

	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	up, err := ann.UpdateLink(ctx, info.ID, syncproto.UpdateLinkRequest{Collection: json.RawMessage(`{"info":{"name":"Pets 2"},"item":[]}`), ExpiresAt: &at})
	if err != nil || up.Name != "Pets 2" || up.ExpiresAt == nil || !up.ExpiresAt.Equal(at) {
		t.Fatalf("UpdateLink = %+v, %v", up, err)
	}
	list, err := ann.Links(ctx)
	if err != nil || len(list) != 1 || list[0].ID != info.ID || list[0].Source != "C1" {
		t.Fatalf("Links = %+v, %v", list, err)
	}
	bob := signedIn(t, srv, "bob")
	wantErr(t, "bob revokes ann's link", bob.RevokeLink(ctx, info.ID), model.ErrNotFound)
	if err := ann.RevokeLink(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ann.FetchURL(ctx, info.URL, 1<<20)
	wantErr(t, "fetch a revoked link", err, model.ErrNotFound)

	_, err = ann.CreateLink(ctx, syncproto.CreateLinkRequest{Collection: json.RawMessage(`[]`)})
	wantErr(t, "create with a non-collection", err, model.ErrInvalid)
	wantErr(t, "revoke with a bad id", ann.RevokeLink(ctx, "a/b"), model.ErrInvalid)
	_, err = srv.Client(t).Links(ctx)
	wantErr(t, "list without a session", err, model.ErrUnauthorized)
}
