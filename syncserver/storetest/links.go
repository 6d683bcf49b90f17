package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// linkTests are the conformance cases of syncserver.LinkStorage; Run runs
// them with the others.
var linkTests = []struct {
	name string
	fn   func(t *testing.T, s syncserver.Storage)
}{
	{"LinkCreateAndLookUpByTokenHash", testLinkCreate},
	{"LinkCreateNeedsAccountAndFreshKeys", testLinkCreateErrors},
	{"LinksListOldestFirstWithoutSnapshots", testLinksList},
	{"LinkUpdateReplacesSnapshotAndExpiry", testLinkUpdate},
	{"LinkExpiredIsAbsentByToken", testLinkExpired},
	{"LinkOfAnotherAccountIsNotFound", testLinkOtherAccount},
	{"LinkDeleteEndsToken", testLinkDelete},
	{"DeleteAccountRemovesLinks", testLinkDeleteAccount},
}

func link(a syncserver.Account, n int) syncserver.Link {
	snap := []byte(fmt.Sprintf(`{"info":{"name":"coll %d"},"item":[]}`, n))
	return syncserver.Link{ID: fmt.Sprintf("%s-l%02d", a.ID, n), AccountID: a.ID, TokenHash: hash(fmt.Sprint(a.ID, "link", n)),
		Name: fmt.Sprint("coll ", n), Source: fmt.Sprint("src", n), Snapshot: snap, Size: len(snap),
		CreatedAt: t0.Add(time.Duration(n) * time.Minute), UpdatedAt: t0.Add(time.Duration(n) * time.Minute)}
}

func mustLink(t *testing.T, s syncserver.Storage, a syncserver.Account, n int) syncserver.Link {
	t.Helper()
	l := link(a, n)
	if err := s.CreateLink(context.Background(), l); err != nil {
		t.Fatalf("CreateLink %s: %v", l.ID, err)
	}
	return l
}

func sameLink(t *testing.T, got, want syncserver.Link, withSnapshot bool) {
	t.Helper()
	if !withSnapshot {
		want.Snapshot = nil
	}
	if got.ID != want.ID || got.AccountID != want.AccountID || !bytes.Equal(got.TokenHash, want.TokenHash) ||
		got.Name != want.Name || got.Source != want.Source || got.Size != want.Size || !bytes.Equal(got.Snapshot, want.Snapshot) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("link = %+v\nwant  %+v", got, want)
	}
}

func testLinkCreate(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	l := mustLink(t, s, a, 1)
	got, err := s.LinkByToken(ctx, l.TokenHash, t0)
	if err != nil {
		t.Fatalf("LinkByToken: %v", err)
	}
	sameLink(t, got, l, true)
	if got, err = s.Link(ctx, a.ID, l.ID); err != nil {
		t.Fatalf("Link: %v", err)
	}
	sameLink(t, got, l, true)
	_, err = s.LinkByToken(ctx, hash("no such token"), t0)
	wantErr(t, err, model.ErrNotFound, "unknown token")
}

func testLinkCreateErrors(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	err := s.CreateLink(ctx, link(account(2), 1))
	wantErr(t, err, model.ErrNotFound, "link of a missing account")
	l := mustLink(t, s, a, 1)
	again := link(a, 2)
	again.TokenHash = l.TokenHash
	wantErr(t, s.CreateLink(ctx, again), model.ErrConflict, "taken token hash")
	again = link(a, 3)
	again.ID = l.ID
	wantErr(t, s.CreateLink(ctx, again), model.ErrConflict, "taken id")
	links, err := s.Links(ctx, a.ID)
	if err != nil || len(links) != 1 {
		t.Fatalf("after refused creates: %d links, %v", len(links), err)
	}
}

func testLinksList(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a, b := mustCreate(t, s, 1), mustCreate(t, s, 2)
	if links, err := s.Links(ctx, a.ID); err != nil || links == nil || len(links) != 0 {
		t.Fatalf("Links of an account without any = %v, %v; want empty", links, err)
	}
	l1, l2 := mustLink(t, s, a, 1), mustLink(t, s, a, 2)
	mustLink(t, s, b, 3)
	links, err := s.Links(ctx, a.ID)
	if err != nil || len(links) != 2 {
		t.Fatalf("Links = %d, %v; want 2", len(links), err)
	}
	sameLink(t, links[0], l1, false)
	sameLink(t, links[1], l2, false)
}

func testLinkUpdate(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	l := mustLink(t, s, a, 1)
	exp := t0.Add(time.Hour)
	snap := []byte(`{"info":{"name":"renamed"},"item":[{"name":"r"}]}`)
	got, err := s.UpdateLink(ctx, a.ID, l.ID, syncserver.LinkUpdate{Snapshot: snap, Name: "renamed", ExpiresAt: &exp, UpdatedAt: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatalf("UpdateLink: %v", err)
	}
	want := l
	want.Snapshot, want.Name, want.Size, want.ExpiresAt, want.UpdatedAt = snap, "renamed", len(snap), exp, t0.Add(2*time.Hour)
	sameLink(t, got, want, false)
	stored, err := s.Link(ctx, a.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameLink(t, stored, want, true)

	// Only the expiry: the snapshot stays; a zero time removes the expiry.
	never := time.Time{}
	if _, err := s.UpdateLink(ctx, a.ID, l.ID, syncserver.LinkUpdate{ExpiresAt: &never, UpdatedAt: t0.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	stored, err = s.LinkByToken(ctx, l.TokenHash, t0.Add(100*time.Hour))
	if err != nil || !bytes.Equal(stored.Snapshot, snap) || !stored.ExpiresAt.IsZero() {
		t.Fatalf("after removing the expiry: %+v, %v", stored, err)
	}
}

func testLinkExpired(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	l := link(a, 1)
	l.ExpiresAt = t0.Add(time.Hour)
	if err := s.CreateLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkByToken(ctx, l.TokenHash, t0.Add(time.Hour-time.Second)); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	_, err := s.LinkByToken(ctx, l.TokenHash, t0.Add(time.Hour))
	wantErr(t, err, model.ErrNotFound, "at expiry")
	if links, err := s.Links(ctx, a.ID); err != nil || len(links) != 1 {
		t.Fatalf("the owner still lists an expired link: %d, %v", len(links), err)
	}
}

func testLinkOtherAccount(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a, b := mustCreate(t, s, 1), mustCreate(t, s, 2)
	l := mustLink(t, s, a, 1)
	_, err := s.Link(ctx, b.ID, l.ID)
	wantErr(t, err, model.ErrNotFound, "Link of another account")
	_, err = s.UpdateLink(ctx, b.ID, l.ID, syncserver.LinkUpdate{Snapshot: []byte(`{}`), Name: "x", UpdatedAt: t0})
	wantErr(t, err, model.ErrNotFound, "UpdateLink of another account")
	wantErr(t, s.DeleteLink(ctx, b.ID, l.ID), model.ErrNotFound, "DeleteLink of another account")
	got, err := s.LinkByToken(ctx, l.TokenHash, t0)
	if err != nil {
		t.Fatal(err)
	}
	sameLink(t, got, l, true)
}

func testLinkDelete(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	l1, l2 := mustLink(t, s, a, 1), mustLink(t, s, a, 2)
	if err := s.DeleteLink(ctx, a.ID, l1.ID); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	_, err := s.LinkByToken(ctx, l1.TokenHash, t0)
	wantErr(t, err, model.ErrNotFound, "token of a deleted link")
	wantErr(t, s.DeleteLink(ctx, a.ID, l1.ID), model.ErrNotFound, "second delete")
	links, err := s.Links(ctx, a.ID)
	if err != nil || len(links) != 1 || links[0].ID != l2.ID {
		t.Fatalf("after delete: %+v, %v", links, err)
	}
}

func testLinkDeleteAccount(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a, b := mustCreate(t, s, 1), mustCreate(t, s, 2)
	la, lb := mustLink(t, s, a, 1), mustLink(t, s, b, 2)
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.LinkByToken(ctx, la.TokenHash, t0)
	wantErr(t, err, model.ErrNotFound, "token of a deleted account's link")
	if links, err := s.Links(ctx, a.ID); err != nil || len(links) != 0 {
		t.Fatalf("links of a deleted account: %+v, %v", links, err)
	}
	if _, err := s.LinkByToken(ctx, lb.TokenHash, t0); err != nil {
		t.Fatalf("another account's link went too: %v", err)
	}
}
