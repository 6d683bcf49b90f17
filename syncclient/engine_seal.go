package syncclient

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// sealOp returns op with every field value sealed for the wire
// (syncproto.SealedValue of vault's Seal, ad = kind/id/field).
func (e *Engine) sealOp(op model.Op) (model.Op, error) {
	out := model.Op{OpID: op.OpID, Kind: op.Kind, ID: op.ID, Fields: make(model.Fields, len(op.Fields))}
	for name, v := range op.Fields {
		b, err := e.sealer.Seal(string(op.Kind), string(op.ID), name, v)
		if err != nil {
			return model.Op{}, fmt.Errorf("seal op %s field %s: %w", op.OpID, name, err)
		}
		out.Fields[name] = syncproto.SealedValue(b)
	}
	if err := syncproto.ValidateOp(out); err != nil {
		return model.Op{}, fmt.Errorf("pending op %s cannot be pushed: %w", op.OpID, err)
	}
	return out, nil
}

// openChange returns c with every field value opened. A value that does
// not open for its own kind, id and field (tampered, moved to another
// record or field, sealed with another key) fails with errOpen and
// model.ErrInvalid. Whether an opened value is JSON is left to the store,
// which checks every record of a page before it applies any (so a first
// sync does not check each value twice).
//
// A first sync opens every value of the account, so this allocates once
// per change: each sealed value is decoded from base64 into one buffer
// and opened where it lies, and the opened values are slices of it. They
// replace the sealed values in c's own map: the sealed change is not
// kept (after an error, its map holds some of each).
func (e *Engine) openChange(c model.Change) (model.Change, error) {
	out := c
	size := 0
	for name, v := range c.Fields {
		size += base64.StdEncoding.DecodedLen(len(v)) + len(c.Kind) + len(c.ID) + len(name) + 2
	}
	buf := make([]byte, 0, size)
	for name, v := range c.Fields {
		start := len(buf)
		var (
			b   []byte
			err error
		)
		buf, err = appendSealed(buf, v)
		if err == nil {
			// The opened value replaces the sealed one; the room past it
			// holds the associated data until the next value is decoded.
			b, err = e.sealer.OpenInPlace(string(c.Kind), string(c.ID), name, buf[start:])
		}
		if err != nil {
			return model.Change{}, fmt.Errorf("change %d (%s %s field %s): %w: %w", c.Seq, c.Kind, c.ID, name, errOpen, err)
		}
		out.Fields[name] = json.RawMessage(b[:len(b):len(b)])
	}
	return out, nil
}

// appendSealed appends the sealed bytes of wire value v to dst. It
// accepts what syncproto.SealedLen accepts (which the frame's validation
// already ran): a JSON string of padded standard base64 without escapes,
// spaces or line breaks, of at most syncproto.MaxFieldValue bytes; the
// base64 decoder checks the alphabet and the padding as it decodes.
// Errors wrap model.ErrInvalid, or model.ErrTooLarge.
func appendSealed(dst []byte, v json.RawMessage) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return dst, fmt.Errorf("value is not a JSON string of sealed bytes: %w", model.ErrInvalid)
	}
	s := v[1 : len(v)-1]
	if len(s) == 0 || len(s)%4 != 0 || bytes.IndexByte(s, '\r') >= 0 || bytes.IndexByte(s, '\n') >= 0 {
		return dst, fmt.Errorf("value is not padded base64: %w", model.ErrInvalid)
	}
	if n := base64.StdEncoding.DecodedLen(len(s)) - bytes.Count(s[len(s)-2:], []byte("=")); n > syncproto.MaxFieldValue {
		return dst, fmt.Errorf("value is %d bytes, more than %d: %w", n, syncproto.MaxFieldValue, model.ErrTooLarge)
	}
	out, err := base64.StdEncoding.AppendDecode(dst, s)
	if err != nil {
		return dst, fmt.Errorf("value is not padded standard base64: %w: %w", model.ErrInvalid, err)
	}
	return out, nil
}
