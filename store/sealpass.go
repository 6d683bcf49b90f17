package store

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
)

// prepareSecrets runs after the schema is up to date. With a check value
// stored, it verifies the key (ErrSecretsLocked when missing or wrong,
// writing nothing). Without one, given a key, it seals every secret value
// still in plain text, and stores the check, in one transaction; with
// nothing to seal it writes nothing.
func (db *DB) prepareSecrets(b *bbolt.DB, getKey func() ([]byte, error), noSync bool) (err error) {
	key, err := getKey()
	if err != nil {
		return fmt.Errorf("the key of the secret values of the profile %s: %w", db.dir, err)
	}
	sec, err := newSealer(key)
	if err != nil {
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading %s panicked: %v: %w", db.path, p, errDamaged)
		}
	}()
	var (
		check []byte
		todo  int
	)
	err = b.View(func(tx *bbolt.Tx) error {
		check = bytes.Clone(tx.Bucket(bucketMeta).Get(metaSecretsCheck))
		if check == nil && sec != nil {
			todo = len(plainSecrets(tx, true))
		}
		return nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("open %s: %w", db.path, err)
	case check != nil:
		if err := sec.verify(db.dir, check); err != nil {
			return err
		}
	case todo > 0:
		db.log.Info("sealing secret values", "path", db.path, "values", todo)
		if err := b.Update(func(tx *bbolt.Tx) error { return sealPlain(tx, sec) }); err != nil {
			return fmt.Errorf("seal the secret values of %s: %s: %w: %w", db.path, writeProblem(db.dir, err), model.ErrUnavailable, markNotWritable(err))
		}
		if err := scrubOpened(b, db.path, noSync); err != nil { // nobody reads yet
			db.log.Warn("could not overwrite the free pages after sealing", "path", db.path, "err", err)
			db.addNotice(fmt.Sprintf("Courier encrypted the secret values in %s, but could not overwrite their unencrypted copies in the file's free space (%v); they stay there until Courier writes over them.", db.path, err))
		}
	}
	db.sec = sec
	return nil
}

// scrubOpened is scrubFreePages, for the sealing at Open (a variable for
// tests).
var scrubOpened = scrubFreePages

// plainValue is a stored value that sealing would change: a secret
// variable record's plain value in confirmed or visible, or (withOps) a
// pending variable op's plain value.
type plainValue struct {
	bucket []byte
	key    []byte
	rec    []byte // the record key
	fields model.Fields
	op     *model.Op
}

// plainSecrets lists the plain values sealing would change. Stored values
// that do not decode are left out (and as they are): a damaged record is
// reported when it is read, not here.
func plainSecrets(tx *bbolt.Tx, withOps bool) []plainValue {
	var out []plainValue
	for _, name := range [][]byte{bucketConfirmed, bucketVisible} {
		c := tx.Bucket(name).Cursor()
		for k, v := c.Seek(variablePrefix); k != nil && bytes.HasPrefix(k, variablePrefix); k, v = c.Next() {
			if bytes.Equal(v, sameAsConfirmed) {
				continue
			}
			if f, err := decodeFields(v); err == nil && needsSealing(model.KindVariable, f) {
				out = append(out, plainValue{bucket: name, key: bytes.Clone(k), rec: bytes.Clone(k), fields: f})
			}
		}
	}
	if !withOps {
		return out
	}
	outbox := tx.Bucket(bucketOutbox)
	c := tx.Bucket(bucketOutboxRec).Cursor()
	for k, _ := c.Seek(variablePrefix); k != nil && bytes.HasPrefix(k, variablePrefix); k, _ = c.Next() {
		if len(k) < 9 {
			continue
		}
		sk := k[len(k)-8:]
		op, err := decodeOp(outbox.Get(sk))
		if v, ok := op.Fields[fieldValue]; err != nil || op.Kind != model.KindVariable || !ok || isSealed(v) {
			continue
		}
		out = append(out, plainValue{bucket: bucketOutbox, key: bytes.Clone(sk), rec: recKey(op.Kind, op.ID), op: &op})
	}
	return out
}

// sealPlain seals every plain value plainSecrets lists, and stores the key
// check.
func sealPlain(tx *bbolt.Tx, sec *sealer) error {
	w, err := newWriteTx(tx, sec)
	if err != nil {
		return err
	}
	for _, p := range plainSecrets(tx, true) {
		var v []byte
		if p.op != nil {
			v = sec.encodeOp(*p.op, &w.sealed)
		} else {
			v = sec.encodeRecord(model.KindVariable, model.ID(p.rec[len(variablePrefix):]), p.fields, &w.sealed)
		}
		if err := tx.Bucket(p.bucket).Put(p.key, v); err != nil {
			return err
		}
	}
	return w.finish()
}

// UnsealedSecrets returns how many secret variables have their value
// stored in plain text: 0 when the store was opened with a key (they are
// sealed), else the number the user should be warned about.
func (db *DB) UnsealedSecrets(ctx context.Context) (int, error) {
	n := 0
	err := db.view(ctx, "count secret values", func(tx *bbolt.Tx) error {
		seen := map[string]bool{}
		for _, p := range plainSecrets(tx, false) {
			seen[string(p.rec)] = true
		}
		n = len(seen)
		return nil
	})
	return n, err
}

// secretKey calls opts.SecretKey, if any.
func secretKey(ctx context.Context, opts Options) ([]byte, error) {
	if opts.SecretKey == nil {
		return nil, nil
	}
	return opts.SecretKey(ctx)
}
