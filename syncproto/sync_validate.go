package syncproto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/courierapp/courier/model"
)

// clientWire holds every key a client frame may carry, so a frame is
// parsed once whatever its type.
type clientWire struct {
	Type     FrameType   `json:"type"`
	DeviceID *string     `json:"device_id"`
	Cursor   *uint64     `json:"cursor"`
	Ops      *[]model.Op `json:"ops"`
}

// serverWire holds every key a server frame may carry.
type serverWire struct {
	Type      FrameType       `json:"type"`
	AccountID *string         `json:"account_id"`
	Head      *uint64         `json:"head"`
	Changes   *[]model.Change `json:"changes"`
	CaughtUp  *bool           `json:"caught_up"`
	OpIDs     *[]model.ID     `json:"op_ids"`
	Code      *ErrorCode      `json:"code"`
	Message   *string         `json:"message"`
}

// DecodeClientFrame parses and validates one frame a client sent: a
// *Hello or a *Push. Errors wrap model.ErrTooLarge when b, an op, a value
// or the op count exceeds its limit, else model.ErrInvalid (bad JSON, an
// unknown type or key, a key of another frame type, a rule broken).
func DecodeClientFrame(b []byte) (Frame, error) {
	var w clientWire
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	switch w.Type {
	case TypeHello:
		if w.Ops != nil || w.DeviceID == nil {
			return nil, fmt.Errorf("hello frame wants device_id and cursor only: %w", model.ErrInvalid)
		}
		h := &Hello{DeviceID: *w.DeviceID}
		if w.Cursor != nil {
			h.Cursor = *w.Cursor
		}
		return h, h.Validate()
	case TypePush:
		if w.DeviceID != nil || w.Cursor != nil || w.Ops == nil {
			return nil, fmt.Errorf("push frame wants ops only: %w", model.ErrInvalid)
		}
		p := &Push{Ops: *w.Ops}
		return p, p.Validate()
	}
	return nil, fmt.Errorf("unknown client frame type %.40q: %w", w.Type, model.ErrInvalid)
}

// DecodeServerFrame parses and validates one frame the server sent: a
// *Welcome, *Changes, *Ack or *ErrorFrame. Errors as DecodeClientFrame's.
func DecodeServerFrame(b []byte) (Frame, error) {
	if f, ok := decodeChangesFast(b, false); ok {
		return f, f.Validate()
	}
	return decodeServerStrict(b)
}

// DecodeServerFrameInPlace is DecodeServerFrame for a reader that is done
// with a frame's values before it writes to b again (it opens them, for
// one): the field values of a changes frame may alias b rather than a
// copy of it.
func DecodeServerFrameInPlace(b []byte) (Frame, error) {
	if f, ok := decodeChangesFast(b, true); ok {
		return f, f.Validate()
	}
	return decodeServerStrict(b)
}

// decodeServerStrict is DecodeServerFrame for any input: a strict
// encoding/json decode, then the checks of the frame's keys and Validate.
func decodeServerStrict(b []byte) (Frame, error) {
	var w serverWire
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	var f interface {
		Frame
		Validate() error
	}
	ok := false
	switch w.Type {
	case TypeWelcome:
		ok = w.AccountID != nil && w.Head != nil && w.Changes == nil && w.CaughtUp == nil && w.OpIDs == nil && w.Code == nil && w.Message == nil
		if ok {
			f = &Welcome{AccountID: *w.AccountID, Head: *w.Head}
		}
	case TypeChanges:
		ok = w.Changes != nil && w.CaughtUp != nil && w.AccountID == nil && w.Head == nil && w.OpIDs == nil && w.Code == nil && w.Message == nil
		if ok {
			f = &Changes{Changes: *w.Changes, CaughtUp: *w.CaughtUp}
		}
	case TypeAck:
		ok = w.OpIDs != nil && w.AccountID == nil && w.Head == nil && w.Changes == nil && w.CaughtUp == nil && w.Code == nil && w.Message == nil
		if ok {
			f = &Ack{OpIDs: *w.OpIDs}
		}
	case TypeError:
		ok = w.Code != nil && w.Message != nil && w.AccountID == nil && w.Head == nil && w.Changes == nil && w.CaughtUp == nil && w.OpIDs == nil
		if ok {
			f = &ErrorFrame{Code: *w.Code, Message: *w.Message}
		}
	default:
		return nil, fmt.Errorf("unknown server frame type %.40q: %w", w.Type, model.ErrInvalid)
	}
	if !ok {
		return nil, fmt.Errorf("%s frame has missing or foreign keys: %w", w.Type, model.ErrInvalid)
	}
	return f, f.Validate()
}

func decodeStrict(b []byte, v any) error {
	if len(b) > MaxFrameSize {
		return fmt.Errorf("frame is %d bytes, more than %d: %w", len(b), MaxFrameSize, model.ErrTooLarge)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("frame is not the JSON of a %s frame: %v: %w", SyncSubprotocol, err, model.ErrInvalid)
	}
	if d.More() {
		return fmt.Errorf("frame holds more than one JSON value: %w", model.ErrInvalid)
	}
	return nil
}

// Validate checks the device id.
func (f *Hello) Validate() error {
	if n := len(f.DeviceID); n == 0 || n > MaxDeviceIDLen {
		return fmt.Errorf("device_id must be 1 to %d bytes: %w", MaxDeviceIDLen, model.ErrInvalid)
	}
	if !printable(f.DeviceID) {
		return fmt.Errorf("device_id may hold only printable ASCII: %w", model.ErrInvalid)
	}
	return nil
}

// Validate checks the op count and every op (see ValidateOp).
func (f *Push) Validate() error {
	if len(f.Ops) == 0 {
		return fmt.Errorf("push holds no ops: %w", model.ErrInvalid)
	}
	if len(f.Ops) > MaxPushOps {
		return fmt.Errorf("push holds %d ops, more than %d: %w", len(f.Ops), MaxPushOps, model.ErrTooLarge)
	}
	for i, op := range f.Ops {
		if err := ValidateOp(op); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}

// Validate checks the account id.
func (f *Welcome) Validate() error {
	if f.AccountID == "" || len(f.AccountID) > model.MaxIDLen || !printable(f.AccountID) {
		return fmt.Errorf("welcome has a bad account_id: %w", model.ErrInvalid)
	}
	return nil
}

// Validate checks that seqs strictly increase and every change (see
// ValidateChange).
func (f *Changes) Validate() error {
	var last uint64
	for i, c := range f.Changes {
		if c.Seq <= last {
			return fmt.Errorf("change %d: seq %d does not follow %d: %w", i, c.Seq, last, model.ErrInvalid)
		}
		last = c.Seq
		if err := ValidateChange(c); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
	}
	return nil
}

// Validate checks the op ids (1 to MaxPushOps of them).
func (f *Ack) Validate() error {
	if len(f.OpIDs) == 0 || len(f.OpIDs) > MaxPushOps {
		return fmt.Errorf("ack holds %d op ids, want 1 to %d: %w", len(f.OpIDs), MaxPushOps, model.ErrInvalid)
	}
	for _, id := range f.OpIDs {
		if err := id.Validate(); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
	return nil
}

// Validate checks the code and the message's length.
func (f *ErrorFrame) Validate() error {
	if f.Code == "" || len(f.Code) > 64 || !printable(string(f.Code)) {
		return fmt.Errorf("error frame has a bad code: %w", model.ErrInvalid)
	}
	if len(f.Message) > MaxErrorMessageLen {
		return fmt.Errorf("error message longer than %d bytes: %w", MaxErrorMessageLen, model.ErrInvalid)
	}
	return nil
}

// ValidateOp checks one pushed op: its op_id, kind and id, and its fields
// (ValidateFields, at least one). Errors wrap model.ErrInvalid, or
// model.ErrTooLarge for a value or op over its limit.
func ValidateOp(op model.Op) error {
	if err := op.OpID.Validate(); err != nil {
		return fmt.Errorf("op_id: %w", err)
	}
	if len(op.Fields) == 0 {
		return fmt.Errorf("op %s writes no field: %w", op.OpID, model.ErrInvalid)
	}
	if _, err := ValidateFields(op.Kind, op.ID, op.Fields); err != nil {
		return fmt.Errorf("op %s: %w", op.OpID, err)
	}
	return nil
}

// ValidateChange checks one change of the stream: seq > 0, the kind, id,
// op_id when set, and fields (ValidateFields; none at all is a bare
// acknowledgement).
func ValidateChange(c model.Change) error {
	if c.Seq == 0 {
		return fmt.Errorf("change with seq 0: %w", model.ErrInvalid)
	}
	if c.OpID != "" {
		if err := c.OpID.Validate(); err != nil {
			return fmt.Errorf("change %d op_id: %w", c.Seq, err)
		}
	}
	if _, err := ValidateFields(c.Kind, c.ID, c.Fields); err != nil {
		return fmt.Errorf("change %d: %w", c.Seq, err)
	}
	return nil
}

// ValidateFields checks a record's kind and id, that every field name is
// one of the kind's (model.Kind.ValidField), and that every value is a
// sealed value (SealedLen). It returns the encoded size of the fields
// (names and values), which must be at most MaxOpSize. Errors wrap
// model.ErrInvalid, or model.ErrTooLarge for a value or total over its
// limit.
func ValidateFields(kind model.Kind, id model.ID, fields model.Fields) (int, error) {
	if !kind.Valid() {
		return 0, fmt.Errorf("unknown kind %.40q: %w", kind, model.ErrInvalid)
	}
	if err := id.Validate(); err != nil {
		return 0, err
	}
	size := 0
	// Of several bad fields, the one whose name sorts first is reported,
	// so the error does not depend on the map's order.
	var bad error
	var badName string
	for name, v := range fields {
		var err error
		if !kind.ValidField(name) {
			err = fmt.Errorf("%s %s: unknown field %.40q: %w", kind, id, name, model.ErrInvalid)
		} else if _, e := SealedLen(v); e != nil {
			err = fmt.Errorf("%s %s field %s: %w", kind, id, name, e)
		}
		if err != nil {
			if bad == nil || name < badName {
				bad, badName = err, name
			}
			continue
		}
		size += len(name) + len(v) + 4 // "name":value,
	}
	if bad != nil {
		return 0, bad
	}
	if size > MaxOpSize {
		return 0, fmt.Errorf("%s %s: fields are %d bytes, more than %d: %w", kind, id, size, MaxOpSize, model.ErrTooLarge)
	}
	return size, nil
}

// SealedValue returns the wire form of a sealed field value: a JSON
// string holding its standard base64.
func SealedValue(sealed []byte) json.RawMessage {
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(sealed))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, sealed)
	return append(out, '"')
}

// SealedBytes returns the sealed bytes of a wire field value; errors as
// SealedLen's.
func SealedBytes(v json.RawMessage) ([]byte, error) {
	if _, err := SealedLen(v); err != nil {
		return nil, err
	}
	s, _ := strconv.Unquote(string(v)) // SealedLen allows no escapes
	return base64.StdEncoding.DecodeString(s)
}

// SealedLen checks that v is a sealed value on the wire (a JSON string of
// padded standard base64, without escapes or spaces, of 1 to
// MaxFieldValue bytes) and returns the sealed length, without decoding.
// Errors wrap model.ErrInvalid, or model.ErrTooLarge past MaxFieldValue.
func SealedLen(v json.RawMessage) (int, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, fmt.Errorf("value is not a JSON string of sealed bytes: %w", model.ErrInvalid)
	}
	s := v[1 : len(v)-1]
	if len(s) == 0 || len(s)%4 != 0 {
		return 0, fmt.Errorf("value is not padded base64: %w", model.ErrInvalid)
	}
	// Every byte but the last two is of the alphabet (checked without a
	// branch per byte: a first sync checks megabytes); those two are
	// "==", one of the alphabet then "=", or two of the alphabet.
	body, a, b := s[:len(s)-2], s[len(s)-2], s[len(s)-1]
	ok := byte(1)
	for _, c := range body {
		ok &= b64[c]
	}
	pad := 0
	switch {
	case ok == 0:
	case a == '=' && b == '=':
		pad = 2
	case b64[a] == 1 && b == '=':
		pad = 1
	case b64[a] == 1 && b64[b] == 1:
	default:
		ok = 0
	}
	if ok == 0 {
		return 0, fmt.Errorf("value is not padded standard base64: %w", model.ErrInvalid)
	}
	n := len(s)/4*3 - pad
	if n > MaxFieldValue {
		return 0, fmt.Errorf("value is %d bytes, more than %d: %w", n, MaxFieldValue, model.ErrTooLarge)
	}
	return n, nil
}

// b64 is 1 for the bytes of the standard base64 alphabet, else 0.
var b64 = func() (t [256]byte) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = 1
	}
	return t
}()

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
