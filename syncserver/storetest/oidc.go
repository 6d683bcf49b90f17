package storetest

import (
	"context"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// RunOIDC runs the conformance tests of syncserver.OIDCStorage against
// stores made by newStore, which must also implement it. Each call of
// newStore must return a fresh, empty store; RunOIDC closes it.
func RunOIDC(t *testing.T, newStore func(t *testing.T) syncserver.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s syncserver.Storage, o syncserver.OIDCStorage)
	}{
		{"CreateOIDCAccountLinksTheIdentity", testOIDCCreate},
		{"CreateOIDCAccountRefusesTakenEmailUsernameAndIdentity", testOIDCCreateConflicts},
		{"LinkIdentityIsIdempotentAndRefusesAnotherAccount", testOIDCLink},
		{"LinkIdentityToMissingAccountIsNotFound", testOIDCLinkMissing},
		{"DeleteAccountRemovesItsIdentities", testOIDCDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			o, ok := s.(syncserver.OIDCStorage)
			if !ok {
				t.Fatalf("%T does not implement syncserver.OIDCStorage", s)
			}
			tt.fn(t, s, o)
		})
	}
}

func identity(a syncserver.Account, provider, subject string) syncserver.Identity {
	return syncserver.Identity{Provider: provider, Subject: subject, AccountID: a.ID, Email: a.Email, CreatedAt: t0}
}

func testOIDCCreate(t *testing.T, s syncserver.Storage, o syncserver.OIDCStorage) {
	ctx := context.Background()
	a := account(1)
	a.EmailConfirmed = true
	if err := o.CreateOIDCAccount(ctx, a, identity(a, "google", "sub-1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByEmail(ctx, a.Email)
	if err != nil {
		t.Fatal(err)
	}
	sameAccount(t, got, a)
	id, err := o.IdentityBySubject(ctx, "google", "sub-1")
	if err != nil || id.AccountID != a.ID || id.Email != a.Email || !id.CreatedAt.Equal(t0) {
		t.Fatalf("IdentityBySubject = %+v, %v", id, err)
	}
	_, err = o.IdentityBySubject(ctx, "other", "sub-1")
	wantErr(t, err, model.ErrNotFound, "same subject at another provider")
	list, err := o.Identities(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].Provider != "google" || list[0].Subject != "sub-1" {
		t.Fatalf("Identities = %+v, %v", list, err)
	}
}

func testOIDCCreateConflicts(t *testing.T, s syncserver.Storage, o syncserver.OIDCStorage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	b := account(2)
	if err := o.CreateOIDCAccount(ctx, b, identity(b, "google", "sub-2")); err != nil {
		t.Fatal(err)
	}
	sameEmail := account(3)
	sameEmail.Email = a.Email
	wantErr(t, o.CreateOIDCAccount(ctx, sameEmail, identity(sameEmail, "google", "sub-3")), syncserver.ErrEmailTaken, "taken email")
	sameUser := account(3)
	sameUser.Username = a.Username
	wantErr(t, o.CreateOIDCAccount(ctx, sameUser, identity(sameUser, "google", "sub-3")), syncserver.ErrUsernameTaken, "taken username")
	c := account(3)
	wantErr(t, o.CreateOIDCAccount(ctx, c, identity(c, "google", "sub-2")), syncserver.ErrIdentityTaken, "taken identity")
	_, err := s.Account(ctx, c.ID)
	wantErr(t, err, model.ErrNotFound, "account of a refused create")
}

func testOIDCLink(t *testing.T, s syncserver.Storage, o syncserver.OIDCStorage) {
	ctx := context.Background()
	a, b := mustCreate(t, s, 1), mustCreate(t, s, 2)
	for range 2 {
		if err := o.LinkIdentity(ctx, identity(a, "google", "sub-a")); err != nil {
			t.Fatalf("LinkIdentity: %v", err)
		}
	}
	wantErr(t, o.LinkIdentity(ctx, identity(b, "google", "sub-a")), syncserver.ErrIdentityTaken, "link to another account")
	if id, err := o.IdentityBySubject(ctx, "google", "sub-a"); err != nil || id.AccountID != a.ID {
		t.Fatalf("identity after refused link = %+v, %v", id, err)
	}
	if list, err := o.Identities(ctx, b.ID); err != nil || len(list) != 0 {
		t.Fatalf("Identities of b = %+v, %v", list, err)
	}
}

func testOIDCLinkMissing(t *testing.T, _ syncserver.Storage, o syncserver.OIDCStorage) {
	wantErr(t, o.LinkIdentity(context.Background(), identity(account(9), "google", "sub")), model.ErrNotFound, "link to a missing account")
}

func testOIDCDelete(t *testing.T, s syncserver.Storage, o syncserver.OIDCStorage) {
	ctx := context.Background()
	a := account(1)
	if err := o.CreateOIDCAccount(ctx, a, identity(a, "google", "sub-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := o.IdentityBySubject(ctx, "google", "sub-1")
	wantErr(t, err, model.ErrNotFound, "identity after delete")
	if err := o.CreateOIDCAccount(ctx, a, identity(a, "google", "sub-1")); err != nil {
		t.Fatalf("the identity is free again: %v", err)
	}
}
