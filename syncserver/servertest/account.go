package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// accountTimeout bounds the calls that make an account and its sessions;
// it is generous for servers behind a balancer whose replicas die.
const accountTimeout = 20 * time.Second

// Account is a confirmed account: its account key and a way to open
// sessions. Its password is "password of " + Name.
type Account struct {
	// URL and CAFile reach the server the account was made on.
	URL, CAFile string
	// Name is the username; Email is Name + "@example.com".
	Name, Email string
	// Key is the account key that sealed data is sealed with.
	Key    vault.AccountKey
	master vault.MasterKey
}

// NewAccount makes a confirmed account named name on s, confirming it
// with the link of the next "confirm" email.
func (s *Server) NewAccount(t testing.TB, name string) *Account {
	t.Helper()
	return NewAccountAt(t, s.URL, s.CAFile, name, func(string) string {
		t.Helper()
		return s.NextMail(t, "confirm").Links[0]
	})
}

// NewAccountAt makes a confirmed account named name on the server at url
// (trusting caFile): it signs up with the cheapest KDF params vault
// accepts and a random recovery key, then confirms the email with the
// link that confirmLink returns for the account's address. It leaves no
// connection open. Any failure fails t.
func NewAccountAt(t testing.TB, url, caFile, name string, confirmLink func(email string) string) *Account {
	t.Helper()
	ctx := context.Background()
	c, err := syncclient.New(url, syncclient.Options{CAFile: caFile, Timeout: accountTimeout})
	if err != nil {
		t.Fatalf("client of %s: %v", url, err)
	}
	defer c.CloseIdleConnections() // no connection outlives the call (a balancer counts them)
	a := &Account{URL: url, CAFile: caFile, Name: name, Email: name + "@example.com", Key: vault.NewAccountKey()}
	cr, mk := Credentials(t, "password of "+name, a.Key)
	a.master = mk
	rw, err := vault.Wrap(vault.NewRecoveryKey().WrapKey(), a.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignUp(ctx, syncproto.SignUpRequest{Username: name, Email: a.Email, Credentials: cr, RecoveryWrappedKey: rw}); err != nil {
		t.Fatalf("sign up %s: %v", name, err)
	}
	if err := c.ConfirmEmail(ctx, syncclient.ConfirmTokenFromLink(confirmLink(a.Email))); err != nil {
		t.Fatalf("confirm the email of %s: %v", name, err)
	}
	return a
}

// Login opens a new session (device name "test") through a client of its
// own, closed before it returns, and returns its token; a failure fails t.
func (a *Account) Login(t testing.TB) string {
	t.Helper()
	c, err := syncclient.New(a.URL, syncclient.Options{CAFile: a.CAFile, Timeout: accountTimeout})
	if err != nil {
		t.Fatalf("client of %s: %v", a.URL, err)
	}
	defer c.CloseIdleConnections()
	resp, err := c.SignIn(context.Background(), syncproto.SignInRequest{Identifier: a.Name, AuthKey: a.master.AuthKey(), DeviceName: "test"})
	if err != nil {
		t.Fatalf("sign in %s: %v", a.Name, err)
	}
	return resp.Token
}

// Credentials derives sign-up credentials for password that wrap key,
// with the cheapest KDF params vault accepts, and returns them with the
// master key they come from.
func Credentials(t testing.TB, password string, key vault.AccountKey) (syncproto.Credentials, vault.MasterKey) {
	t.Helper()
	salt, p := vault.NewSalt(), vault.MinKDFParams
	mk, err := vault.DeriveMaster(context.Background(), password, salt, p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := vault.Wrap(mk.WrapKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	return syncproto.Credentials{KDFSalt: salt, KDFParams: syncproto.KDFParams{T: p.Time, M: p.MemoryKiB, P: p.Threads}, AuthKey: mk.AuthKey(), WrappedAccountKey: w}, mk
}
