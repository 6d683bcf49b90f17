package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// Link buckets, created on first use (so Open's list stays as it was).
var (
	bLinks         = []byte("links")         // id -> linkRec JSON
	bLinkSnapshots = []byte("link_snapshot") // id -> snapshot bytes
	bLinkTokens    = []byte("link_token")    // token hash -> id
	bAccountLinks  = []byte("account_links") // account id 0x00 link id -> nil
	linkBuckets    = [][]byte{bLinks, bLinkSnapshots, bLinkTokens, bAccountLinks}
)

// linkRec is the stored form of a link without its snapshot.
type linkRec struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	TokenHash []byte    `json:"token_hash"`
	Name      string    `json:"name"`
	Source    string    `json:"source,omitempty"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (r linkRec) link() syncserver.Link {
	return syncserver.Link{ID: r.ID, AccountID: r.AccountID, TokenHash: r.TokenHash, Name: r.Name, Source: r.Source,
		Size: r.Size, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}
}

// linkBucket returns bucket name, creating it in a write transaction; in a
// read transaction it may be nil (no link was ever stored).
func linkBucket(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	if b := tx.Bucket(name); b != nil || !tx.Writable() {
		return b, nil
	}
	b, err := tx.CreateBucket(name)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b, nil
}

// linkBuckets4 returns the four link buckets, or ok false in a read
// transaction of a file that never held a link.
func linkBuckets4(tx *bbolt.Tx) (recs, snaps, tokens, owners *bbolt.Bucket, ok bool, err error) {
	bs := make([]*bbolt.Bucket, len(linkBuckets))
	for i, name := range linkBuckets {
		if bs[i], err = linkBucket(tx, name); err != nil {
			return nil, nil, nil, nil, false, err
		}
		if bs[i] == nil {
			return nil, nil, nil, nil, false, nil
		}
	}
	return bs[0], bs[1], bs[2], bs[3], true, nil
}

// CreateLink implements syncserver.LinkStorage.
func (d *DB) CreateLink(ctx context.Context, l syncserver.Link) error {
	if l.ID == "" || l.AccountID == "" || len(l.TokenHash) == 0 {
		return fmt.Errorf("create link: id, account and token hash required: %w", model.ErrInvalid)
	}
	rec := linkRec{ID: l.ID, AccountID: l.AccountID, TokenHash: l.TokenHash, Name: l.Name, Source: l.Source,
		Size: len(l.Snapshot), CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, ExpiresAt: l.ExpiresAt}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(l.AccountID)) == nil {
			return fmt.Errorf("create link for account %s: %w", l.AccountID, model.ErrNotFound)
		}
		recs, snaps, tokens, owners, _, err := linkBuckets4(tx)
		if err != nil {
			return err
		}
		if recs.Get([]byte(l.ID)) != nil || tokens.Get(l.TokenHash) != nil {
			return fmt.Errorf("create link %s: exists: %w", l.ID, model.ErrConflict)
		}
		if err := putJSON(recs, []byte(l.ID), rec); err != nil {
			return err
		}
		if err := snaps.Put([]byte(l.ID), l.Snapshot); err != nil {
			return err
		}
		if err := tokens.Put(l.TokenHash, []byte(l.ID)); err != nil {
			return err
		}
		return owners.Put(key2(l.AccountID, l.ID), []byte{})
	})
}

// LinkByToken implements syncserver.LinkStorage.
func (d *DB) LinkByToken(ctx context.Context, hash []byte, now time.Time) (syncserver.Link, error) {
	var out syncserver.Link
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		recs, snaps, tokens, _, ok, err := linkBuckets4(tx)
		if err != nil {
			return err
		}
		var id []byte
		if ok {
			id = tokens.Get(hash)
		}
		if id == nil {
			return fmt.Errorf("link by token: %w", model.ErrNotFound)
		}
		if out, err = readLink(recs, snaps, id); err != nil {
			return err
		}
		if !out.Live(now) {
			return fmt.Errorf("link %s expired: %w", out.ID, model.ErrNotFound)
		}
		return nil
	})
	return out, err
}

func readLink(recs, snaps *bbolt.Bucket, id []byte) (syncserver.Link, error) {
	var r linkRec
	if err := getJSON(recs, id, &r, "link"); err != nil {
		return syncserver.Link{}, err
	}
	l := r.link()
	l.Snapshot = bytes.Clone(snaps.Get(id))
	if l.Snapshot == nil {
		l.Snapshot = []byte{}
	}
	return l, nil
}

// ownedLink reports whether accountID holds link id.
func ownedLink(owners *bbolt.Bucket, accountID, id string) error {
	if owners == nil || owners.Get(key2(accountID, id)) == nil {
		return fmt.Errorf("link %s of account %s: %w", id, accountID, model.ErrNotFound)
	}
	return nil
}

// Link implements syncserver.LinkStorage.
func (d *DB) Link(ctx context.Context, accountID, id string) (syncserver.Link, error) {
	var out syncserver.Link
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		recs, snaps, _, owners, _, err := linkBuckets4(tx)
		if err != nil {
			return err
		}
		if err := ownedLink(owners, accountID, id); err != nil {
			return err
		}
		out, err = readLink(recs, snaps, []byte(id))
		return err
	})
	return out, err
}

// Links implements syncserver.LinkStorage. Link IDs are ULIDs, so key
// order is creation order.
func (d *DB) Links(ctx context.Context, accountID string) ([]syncserver.Link, error) {
	out := []syncserver.Link{}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		recs, _, _, owners, ok, err := linkBuckets4(tx)
		if err != nil || !ok {
			return err
		}
		prefix := key2(accountID, "")
		for _, k := range prefixKeys(owners, prefix) {
			var r linkRec
			if err := getJSON(recs, k[len(prefix):], &r, "link"); err != nil {
				return err
			}
			out = append(out, r.link())
		}
		return nil
	})
	return out, err
}

// UpdateLink implements syncserver.LinkStorage.
func (d *DB) UpdateLink(ctx context.Context, accountID, id string, u syncserver.LinkUpdate) (syncserver.Link, error) {
	var out syncserver.Link
	err := d.update(ctx, func(tx *bbolt.Tx) error {
		recs, snaps, _, owners, _, err := linkBuckets4(tx)
		if err != nil {
			return err
		}
		if err := ownedLink(owners, accountID, id); err != nil {
			return err
		}
		var r linkRec
		if err := getJSON(recs, []byte(id), &r, "link"); err != nil {
			return err
		}
		if u.Snapshot != nil {
			if err := snaps.Put([]byte(id), u.Snapshot); err != nil {
				return err
			}
			r.Name, r.Size = u.Name, len(u.Snapshot)
		}
		if u.ExpiresAt != nil {
			r.ExpiresAt = *u.ExpiresAt
		}
		r.UpdatedAt = u.UpdatedAt
		out = r.link()
		return putJSON(recs, []byte(id), r)
	})
	return out, err
}

// DeleteLink implements syncserver.LinkStorage.
func (d *DB) DeleteLink(ctx context.Context, accountID, id string) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if _, _, _, owners, _, err := linkBuckets4(tx); err != nil {
			return err
		} else if err := ownedLink(owners, accountID, id); err != nil {
			return err
		}
		return deleteLink(tx, accountID, id)
	})
}

// deleteLink removes link id of accountID from every link bucket; tx is
// writable and the buckets exist.
func deleteLink(tx *bbolt.Tx, accountID, id string) error {
	var r linkRec
	if err := getJSON(tx.Bucket(bLinks), []byte(id), &r, "link"); err != nil {
		return err
	}
	for _, del := range []struct{ b, k []byte }{
		{bLinkTokens, r.TokenHash}, {bLinkSnapshots, []byte(id)}, {bLinks, []byte(id)}, {bAccountLinks, key2(accountID, id)},
	} {
		if err := tx.Bucket(del.b).Delete(del.k); err != nil {
			return err
		}
	}
	return nil
}

// deleteLinks removes every link of the account (for DeleteAccount).
func deleteLinks(tx *bbolt.Tx, accountID string) error {
	_, _, _, owners, _, err := linkBuckets4(tx)
	if err != nil {
		return err
	}
	prefix := key2(accountID, "")
	for _, k := range prefixKeys(owners, prefix) {
		if err := deleteLink(tx, accountID, string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}
