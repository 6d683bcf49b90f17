package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/courierapp/courier/model"
)

// On-disk encodings. Records and ops are stored in a small binary form
// rather than JSON so that reading a record never re-validates its (possibly
// 256 KiB) JSON values: a format byte, then length-prefixed strings.
//
//	fields: 0x01 uvarint(n) { uvarint(len) name uvarint(len) value }*n   (names sorted)
//	op:     0x01 uvarint(len) opID uvarint(len) kind uvarint(len) id fields
const codecVersion = 1

// errDamaged marks stored bytes that do not decode: the file was damaged
// or written by something else.
var errDamaged = errors.New("stored data is damaged")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// encodeFields returns the stored form of f.
func encodeFields(f model.Fields) []byte {
	return appendFields(nil, f)
}

func appendFields(b []byte, f model.Fields) []byte {
	names := make([]string, 0, len(f))
	size := 1 + binary.MaxVarintLen64
	for k, v := range f {
		names = append(names, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen64
	}
	slices.Sort(names)
	b = slices.Grow(b, size)
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = appendBytes(b, f[k])
	}
	return b
}

// reader walks a stored value; every slice it returns is a copy.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = fmt.Errorf("bad length: %w", errDamaged)
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("length %d past the end: %w", n, errDamaged)
		return nil
	}
	v := bytes.Clone(r.b[:n])
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) version() {
	if len(r.b) == 0 || r.b[0] != codecVersion {
		r.err = fmt.Errorf("unknown format: %w", errDamaged)
		return
	}
	r.b = r.b[1:]
}

func (r *reader) fields() model.Fields {
	r.version()
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) { // each field takes at least two bytes
		r.err = fmt.Errorf("field count %d too large: %w", n, errDamaged)
		return nil
	}
	f := make(model.Fields, n)
	for range n {
		k := r.string()
		v := r.bytes()
		if r.err != nil {
			return nil
		}
		if v == nil {
			v = []byte{}
		}
		f[k] = v
	}
	return f
}

// decodeFields decodes the stored form of a record's fields. The result
// shares no memory with b.
func decodeFields(b []byte) (model.Fields, error) {
	r := reader{b: b}
	f := r.fields()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes: %w", len(r.b), errDamaged)
	}
	return f, r.err
}

// encodeOp returns the stored form of op.
func encodeOp(op model.Op) []byte {
	b := []byte{codecVersion}
	b = appendString(b, string(op.OpID))
	b = appendString(b, string(op.Kind))
	b = appendString(b, string(op.ID))
	return appendFields(b, op.Fields)
}

// decodeOp decodes the stored form of an op.
func decodeOp(b []byte) (model.Op, error) {
	r := reader{b: b}
	r.version()
	op := model.Op{OpID: model.ID(r.string()), Kind: model.Kind(r.string()), ID: model.ID(r.string())}
	op.Fields = r.fields()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes: %w", len(r.b), errDamaged)
	}
	return op, r.err
}

// recKey is the key of record (kind, id) in the confirmed and visible
// buckets: "kind/id". Neither kinds nor IDs contain '/', so keys of one
// kind share the prefix "kind/" and sort by ID within it.
func recKey(kind model.Kind, id model.ID) []byte {
	b := make([]byte, 0, len(kind)+1+len(id))
	b = append(b, kind...)
	b = append(b, '/')
	return append(b, id...)
}

func kindPrefix(kind model.Kind) []byte { return append([]byte(kind), '/') }

// parseRecKey splits a record key.
func parseRecKey(k []byte) (model.Kind, model.ID, error) {
	kind, id, ok := strings.Cut(string(k), "/")
	if !ok {
		return "", "", fmt.Errorf("record key %q: %w", k, errDamaged)
	}
	return model.Kind(kind), model.ID(id), nil
}

// pendingKey is the key of the outbox-by-record index: the record key, a
// zero byte (which no kind or ID contains), and the op's outbox sequence.
func pendingKey(rk []byte, seq uint64) []byte {
	b := make([]byte, 0, len(rk)+9)
	b = append(b, rk...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, seq)
}

func pendingPrefix(rk []byte) []byte {
	return append(bytes.Clone(rk), 0)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func getU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("integer of %d bytes: %w", len(b), errDamaged)
	}
	return binary.BigEndian.Uint64(b), nil
}
