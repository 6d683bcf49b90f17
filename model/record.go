package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Kind names a type of record.
type Kind string

// The record kinds. The list is fixed: the sync protocol refuses any other.
const (
	KindCollection   Kind = "collection"
	KindFolder       Kind = "folder"
	KindRequest      Kind = "request"
	KindEnvironment  Kind = "environment"
	KindVariable     Kind = "variable"
	KindHeaderPreset Kind = "header_preset"
	KindHistory      Kind = "history"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{KindCollection, KindFolder, KindRequest, KindEnvironment, KindVariable, KindHeaderPreset, KindHistory}

// FieldDeleted is the field whose value true marks a record as deleted.
const FieldDeleted = "_deleted"

// FieldHistoryRequest is the field of a history entry that holds its
// request (a HistoryRequest).
const FieldHistoryRequest = "request"

// kindFields lists, per kind, the fields a record of that kind may carry
// (FieldDeleted is allowed on every kind). They are the JSON names of the
// domain types' fields; TestKindFieldsMatchTypes keeps the two in step.
var kindFields = map[Kind][]string{
	KindCollection:   {"name", "description", "auth", "events", "extra", "order"},
	KindFolder:       {"name", "description", "auth", "events", "extra", "collection", "parent", "order"},
	KindRequest:      {"name", "method", "url", "headers", "body", "auth", "description", "events", "extra", "collection", "parent", "order"},
	KindEnvironment:  {"name", "extra", "order"},
	KindVariable:     {"owner", "name", "value", "enabled", "secret", "extra", "order"},
	KindHeaderPreset: {"name", "headers", "order"},
	KindHistory:      {"sent_at", "request", "response", "error", "environment"},
}

// Valid reports whether k is one of the fixed kinds.
func (k Kind) Valid() bool { _, ok := kindFields[k]; return ok }

// Fields returns the field names a record of kind k may carry, without
// FieldDeleted. The slice must not be modified.
func (k Kind) Fields() []string { return kindFields[k] }

// ValidField reports whether field may appear on a record of kind k.
func (k Kind) ValidField(field string) bool {
	return field == FieldDeleted || slices.Contains(kindFields[k], field)
}

// Fields maps field names to one JSON value each.
type Fields map[string]json.RawMessage

// Record is the stored and synced form of every domain object: a kind, an
// id, and one JSON value per field.
type Record struct {
	Kind   Kind   `json:"kind"`
	ID     ID     `json:"id"`
	Fields Fields `json:"fields"`
}

// Deleted reports whether the record carries _deleted: true.
func (r Record) Deleted() bool {
	v, ok := r.Fields[FieldDeleted]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("true"))
}

// Validate checks the kind, the id and every field name and value.
func (r Record) Validate() error {
	if !r.Kind.Valid() {
		return fmt.Errorf("unknown kind %q: %w", r.Kind, ErrInvalid)
	}
	if err := r.ID.Validate(); err != nil {
		return err
	}
	for f, v := range r.Fields {
		if !r.Kind.ValidField(f) {
			return fmt.Errorf("%s %s: unknown field %q: %w", r.Kind, r.ID, f, ErrInvalid)
		}
		if !json.Valid(v) {
			return fmt.Errorf("%s %s: field %q is not valid JSON: %w", r.Kind, r.ID, f, ErrInvalid)
		}
	}
	return nil
}

// Clone returns a deep copy of r.
func (r Record) Clone() Record {
	out := Record{Kind: r.Kind, ID: r.ID, Fields: make(Fields, len(r.Fields))}
	for k, v := range r.Fields {
		out.Fields[k] = slices.Clone(v)
	}
	return out
}

// Op is one local change: the new values of some fields of one record.
// OpID identifies the change across retries, so the server applies it once.
type Op struct {
	OpID   ID     `json:"op_id"`
	Kind   Kind   `json:"kind"`
	ID     ID     `json:"id"`
	Fields Fields `json:"fields"`
}

// Change is one change from the server's ordered stream: the values of some
// fields of one record as written by the op that the server numbered Seq.
// OpID is set when the change came from an op (so its pusher can treat it as
// an acknowledgement).
type Change struct {
	Seq    uint64 `json:"seq"`
	Kind   Kind   `json:"kind"`
	ID     ID     `json:"id"`
	Fields Fields `json:"fields"`
	OpID   ID     `json:"op_id,omitempty"`
}

// Apply merges fields into r (later values win), creating Fields if needed.
func (r *Record) Apply(fields Fields) {
	if r.Fields == nil {
		r.Fields = make(Fields, len(fields))
	}
	for k, v := range fields {
		r.Fields[k] = v
	}
}

// DeleteOp returns the op that deletes record (kind, id). For a history
// entry it also sets every other field to null.
func DeleteOp(kind Kind, id ID) Op {
	f := Fields{FieldDeleted: json.RawMessage("true")}
	if kind == KindHistory {
		// A history entry is never undeleted: its other fields are
		// overwritten with null, so the sync server drops their values
		// (up to 256 KiB of response each) instead of keeping them, and
		// counting them against the account's quota, for ever.
		for _, name := range kindFields[KindHistory] {
			f[name] = json.RawMessage("null")
		}
	}
	return Op{OpID: NewID(), Kind: kind, ID: id, Fields: f}
}

// ToRecord turns a domain value (a pointer or value of one of this
// package's types, whose JSON is an object) into the record (kind, id): each
// top-level JSON key becomes one field. Keys with empty values that the type
// omits are simply absent.
func ToRecord(kind Kind, id ID, v any) (Record, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Record{}, fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	var f Fields
	if err := json.Unmarshal(b, &f); err != nil {
		return Record{}, fmt.Errorf("encode %s %s: not an object: %w", kind, id, err)
	}
	delete(f, "id")
	return Record{Kind: kind, ID: id, Fields: f}, nil
}

// FromRecord decodes a record's fields into v (a pointer to one of this
// package's types). Fields v does not know are ignored; missing fields keep
// their zero value.
func FromRecord(r Record, v any) error {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for k, val := range r.Fields {
		if k == FieldDeleted || k == "id" {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteByte('}')
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("decode %s %s: %w: %w", r.Kind, r.ID, ErrInvalid, err)
	}
	return nil
}

// UpsertOp returns an op that writes every field of v onto record (kind,
// id). Fields absent from v's JSON (omitted empty values) are written as
// null, so an op fully replaces what the user edited.
func UpsertOp(kind Kind, id ID, v any) (Op, error) {
	rec, err := ToRecord(kind, id, v)
	if err != nil {
		return Op{}, err
	}
	for _, f := range kind.Fields() {
		if _, ok := rec.Fields[f]; !ok {
			rec.Fields[f] = json.RawMessage("null")
		}
	}
	return Op{OpID: NewID(), Kind: kind, ID: id, Fields: rec.Fields}, nil
}

func errKind(r Record, want Kind) error {
	return fmt.Errorf("decode %s %s as %s: %w", r.Kind, r.ID, want, ErrInvalid)
}
