package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
)

// maxRecordBytes bounds the stored size of one op or record. The sync
// limits (256 KiB per field) are tighter; this only keeps a runaway value
// from bloating the file.
const maxRecordBytes = 64 << 20

// Get returns the visible record (kind, id). It fails with model.ErrNotFound
// when the record does not exist or is deleted, model.ErrInvalid for a bad
// kind or id.
func (db *DB) Get(ctx context.Context, kind model.Kind, id model.ID) (model.Record, error) {
	if !kind.Valid() {
		return model.Record{}, fmt.Errorf("get %s %s: unknown kind: %w", kind, id, model.ErrInvalid)
	}
	if err := id.Validate(); err != nil {
		return model.Record{}, fmt.Errorf("get %s: %w", kind, err)
	}
	rec := model.Record{Kind: kind, ID: id}
	err := db.view(ctx, "read record", func(tx *bbolt.Tx) error {
		f, err := visibleAt(db.sec, tx.Bucket(bucketVisible), tx.Bucket(bucketConfirmed), recKey(kind, id))
		if err == nil && f == nil {
			err = fmt.Errorf("%s %s: %w", kind, id, model.ErrNotFound)
		}
		rec.Fields = f
		return err
	})
	if err != nil {
		return model.Record{}, err
	}
	return rec, nil
}

// List returns every visible record of kind, in ID order. It fails with
// model.ErrInvalid for an unknown kind.
func (db *DB) List(ctx context.Context, kind model.Kind) ([]model.Record, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("list %s: unknown kind: %w", kind, model.ErrInvalid)
	}
	var out []model.Record
	err := db.view(ctx, "list records", func(tx *bbolt.Tx) error {
		prefix := kindPrefix(kind)
		conf := tx.Bucket(bucketConfirmed)
		c := tx.Bucket(bucketVisible).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			f, err := visibleFields(db.sec, conf, k, v)
			if err != nil {
				return err
			}
			out = append(out, model.Record{Kind: kind, ID: model.ID(k[len(prefix):]), Fields: f})
		}
		return nil
	})
	return out, err
}

// validateOps checks every op before anything is written. An op without
// an OpID gets a fresh one.
func validateOps(ops []model.Op) error {
	opIDs := make(map[model.ID]bool, len(ops))
	for i := range ops {
		op := &ops[i]
		if op.OpID == "" {
			op.OpID = model.NewID()
		}
		if err := op.OpID.Validate(); err != nil {
			return fmt.Errorf("op %d: op_id: %w", i, err)
		}
		if opIDs[op.OpID] {
			return fmt.Errorf("op %d: op_id %s appears twice: %w", i, op.OpID, model.ErrInvalid)
		}
		opIDs[op.OpID] = true
		if len(op.Fields) == 0 {
			return fmt.Errorf("op %d on %s %s: no fields: %w", i, op.Kind, op.ID, model.ErrInvalid)
		}
		if err := validateRecord(op.Kind, op.ID, op.Fields); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		size := 0
		for k, v := range op.Fields {
			size += len(k) + len(v)
		}
		if size > maxRecordBytes {
			return fmt.Errorf("op %d on %s %s: %d bytes, more than %d: %w", i, op.Kind, op.ID, size, maxRecordBytes, model.ErrTooLarge)
		}
	}
	return nil
}

// Apply validates ops, then commits them in one transaction: all or none.
// Without sync, each op's fields are merged into the confirmed layer; with
// sync enabled, each op is appended to the outbox. Either way the visible
// records are updated in the same transaction, and subscribers are told
// after the commit. Errors: model.ErrInvalid (bad kind, id, field name or
// JSON value), model.ErrTooLarge, model.ErrConflict (an op_id already
// pending), model.ErrUnavailable (the disk cannot be written).
func (db *DB) Apply(ctx context.Context, ops ...model.Op) error {
	if len(ops) == 0 {
		return ctx.Err()
	}
	ops = cloneOps(ops)
	if err := validateOps(ops); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return db.update(ctx, "save", false, func(w *writeTx) error {
		if syncEnabled(w.meta) {
			for _, op := range ops {
				if err := w.appendOp(op); err != nil {
					return err
				}
				if err := w.applyOnVisible(op.Kind, op.ID, op.Fields); err != nil {
					return err
				}
			}
			return nil
		}
		for _, op := range ops {
			if err := w.mergeConfirmed(op.Kind, op.ID, op.Fields); err != nil {
				return err
			}
			if err := w.materialise(op.Kind, op.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// cloneOps copies the slice of ops (not their values) so that filling in
// OpIDs does not change the caller's slice.
func cloneOps(ops []model.Op) []model.Op {
	return append([]model.Op(nil), ops...)
}

// Setting decodes the local setting key into v. It fails with
// model.ErrNotFound when the setting was never stored and model.ErrInvalid
// when the stored JSON does not fit v.
func (db *DB) Setting(ctx context.Context, key string, v any) error {
	if err := validSettingKey(key); err != nil {
		return err
	}
	var raw []byte
	err := db.view(ctx, "read setting", func(tx *bbolt.Tx) error {
		raw = bytes.Clone(tx.Bucket(bucketSettings).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return err
	}
	if raw == nil {
		return fmt.Errorf("setting %q: %w", key, model.ErrNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("setting %q: %w: %w", key, model.ErrInvalid, err)
	}
	return nil
}

// SetSetting stores v, JSON-encoded, as the local setting key. Settings
// are never synced and send no change notification. It fails with
// model.ErrInvalid when key is empty or v does not encode.
func (db *DB) SetSetting(ctx context.Context, key string, v any) error {
	if err := validSettingKey(key); err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("set setting %q: %w: %w", key, model.ErrInvalid, err)
	}
	return db.update(ctx, "save setting", false, func(w *writeTx) error {
		return w.settings.Put([]byte(key), raw)
	})
}

// maxSettingKey bounds a setting's name.
const maxSettingKey = 256

func validSettingKey(key string) error {
	if key == "" || len(key) > maxSettingKey {
		return fmt.Errorf("setting name %.32q: empty or longer than %d bytes: %w", key, maxSettingKey, model.ErrInvalid)
	}
	return nil
}
