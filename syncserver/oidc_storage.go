package syncserver

import (
	"context"
	"fmt"
	"time"

	"github.com/courierapp/courier/model"
)

// Identity links an OpenID Connect identity (the provider's name and the
// ID token's subject) to an account. Email is the verified address the
// provider gave when the link was made.
type Identity struct {
	Provider  string
	Subject   string
	AccountID string
	Email     string
	CreatedAt time.Time
}

// ErrIdentityTaken is what linking an identity already linked to another
// account wraps.
var ErrIdentityTaken = fmt.Errorf("identity linked to another account: %w", model.ErrConflict)

// OIDCStorage keeps the links between OIDC identities and accounts. It is
// a separate interface from Storage so backends can add it on their own
// schedule; the server needs it only when a provider is configured (New
// fails with model.ErrInvalid otherwise). DeleteAccount removes the
// account's identities. Every backend that has it passes storetest.RunOIDC.
type OIDCStorage interface {
	// CreateOIDCAccount creates a and links id to it in one transaction.
	// Conflicts are as CreateAccount's, then ErrIdentityTaken.
	CreateOIDCAccount(ctx context.Context, a Account, id Identity) error
	// LinkIdentity links id to id.AccountID, which must exist
	// (model.ErrNotFound). Linking it again to the same account does
	// nothing; to another account it is ErrIdentityTaken.
	LinkIdentity(ctx context.Context, id Identity) error
	// IdentityBySubject returns the link of (provider, subject).
	IdentityBySubject(ctx context.Context, provider, subject string) (Identity, error)
	// Identities lists the account's identities, oldest first (empty, not
	// an error, when there are none).
	Identities(ctx context.Context, accountID string) ([]Identity, error)
}
