package syncclient

import (
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
// record or field, sealed with another key) or is not JSON fails with
// errOpen and model.ErrInvalid.
func (e *Engine) openChange(c model.Change) (model.Change, error) {
	out := c
	out.Fields = make(model.Fields, len(c.Fields))
	for name, v := range c.Fields {
		b, err := syncproto.SealedBytes(v)
		if err == nil {
			b, err = e.sealer.Open(string(c.Kind), string(c.ID), name, b)
		}
		if err == nil && !json.Valid(b) {
			err = fmt.Errorf("opened value is not JSON: %w", model.ErrInvalid)
		}
		if err != nil {
			return model.Change{}, fmt.Errorf("change %d (%s %s field %s): %w: %w", c.Seq, c.Kind, c.ID, name, errOpen, err)
		}
		out.Fields[name] = json.RawMessage(b)
	}
	return out, nil
}
