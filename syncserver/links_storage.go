package syncserver

import (
	"context"
	"time"
)

// Link is a published collection snapshot as stored. TokenHash is
// SHA-256 of the public token, which is never stored; it is the lookup key
// of the public URL.
type Link struct {
	ID        string
	AccountID string
	TokenHash []byte
	// Name is the collection's name in the snapshot.
	Name string
	// Source is the client's name for what the snapshot came from.
	Source string
	// Snapshot is the Postman v2.1 JSON. Links leaves it nil.
	Snapshot []byte
	// Size is len(Snapshot), also when Snapshot is left out.
	Size      int
	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt is when the link stops answering; zero means never.
	ExpiresAt time.Time
}

// Live reports whether l answers at now.
func (l Link) Live(now time.Time) bool { return l.ExpiresAt.IsZero() || now.Before(l.ExpiresAt) }

// LinkUpdate is what UpdateLink changes; nil fields are kept.
type LinkUpdate struct {
	// Snapshot and Name replace the snapshot when Snapshot is not nil.
	Snapshot []byte
	Name     string
	// ExpiresAt replaces the expiry (a zero time removes it).
	ExpiresAt *time.Time
	UpdatedAt time.Time
}

// LinkStorage keeps collection links. A link whose ExpiresAt is not after
// the given now counts as absent for LinkByToken; the owner still lists,
// updates and revokes it.
type LinkStorage interface {
	// CreateLink stores l; the account must exist (else
	// model.ErrNotFound). A taken ID or token hash is model.ErrConflict.
	CreateLink(ctx context.Context, l Link) error
	// LinkByToken returns the live link whose TokenHash is hash, with
	// its snapshot.
	LinkByToken(ctx context.Context, hash []byte, now time.Time) (Link, error)
	// Link returns link id of accountID with its snapshot;
	// model.ErrNotFound when the account holds no such link.
	Link(ctx context.Context, accountID, id string) (Link, error)
	// Links lists the account's links oldest first, without snapshots
	// (empty, not an error, when there are none).
	Links(ctx context.Context, accountID string) ([]Link, error)
	// UpdateLink applies u to link id of accountID and returns the link
	// without its snapshot; model.ErrNotFound when the account holds no
	// such link.
	UpdateLink(ctx context.Context, accountID, id string, u LinkUpdate) (Link, error)
	// DeleteLink removes link id of accountID; model.ErrNotFound when the
	// account holds no such link.
	DeleteLink(ctx context.Context, accountID, id string) error
}
