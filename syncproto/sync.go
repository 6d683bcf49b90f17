package syncproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/courierapp/courier/model"
)

// The sync endpoint (DESIGN.md section 4). A client opens a WebSocket to
// wss://HOST + PathSync offering the subprotocol SyncSubprotocol, with
// `Authorization: Bearer TOKEN` on the handshake. Every message is one
// JSON text frame {"type": ..., ...}:
//
//	C->S hello    {device_id, cursor}          first frame, once
//	S->C welcome  {account_id, head}           answer to hello
//	S->C changes  {changes: [...], caught_up}  the account's ordered stream
//	C->S push     {ops: [...]}                 only once caught up
//	S->C ack      {op_ids}                     ops that were applied earlier
//	S->C error    {code, message}              then the server closes
//
// After welcome the server streams every change with seq > cursor, in seq
// order, in frames that end on a seq boundary; the frame that reaches the
// head it knows of has caught_up true (an empty changes frame with
// caught_up true is sent when there is nothing to send). A pushed op comes
// back in the stream with its op_id: that is its acknowledgement, sent
// only once the op is durable. An op whose op_id the account applied
// before is not applied again; its op_id is sent in an ack frame instead.
// A welcome head below the hello cursor means the server's stream does not
// contain the client's (a restored backup): the server then streams from
// seq 1 and the client rebuilds its confirmed state from it. A server put
// back from a backup copy says so also to a device whose cursor the copy
// does not hold though its head has passed it since (the copy's seqs
// resume past a gap; a cursor in the gap is another stream's).
//
// Field values travel sealed (DESIGN.md section 5): each value in fields
// is a JSON string holding the standard base64 of the sealed bytes (see
// SealedValue), `_deleted` included. The server sees kinds, ids, field
// names, sizes and seqs only.
const (
	// PathSync is the WebSocket endpoint.
	PathSync = "/v1/sync"
	// SyncSubprotocol names this protocol version; a connection that does
	// not offer it is closed with CloseUnsupportedVersion.
	SyncSubprotocol = "courier-sync.v1"
)

// Limits of the sync protocol, enforced on both sides.
const (
	// MaxFrameSize bounds every frame, either way (bytes).
	MaxFrameSize = 1 << 20
	// MaxPushOps bounds the ops of one push frame.
	MaxPushOps = 256
	// MaxFieldValue bounds one sealed field value (bytes before base64).
	// It is twice the 256 KiB of response body a history entry keeps and
	// syncs (DESIGN.md section 3), because that body travels as base64
	// inside the field's JSON, beside the response's headers, and then
	// sealed: a full entry needs about 360 KiB.
	MaxFieldValue = 512 << 10
	// MaxOpSize bounds the encoded fields of one op (names and base64
	// values as they appear in JSON), so that every change fits in one
	// changes frame.
	MaxOpSize = MaxFrameSize - 4<<10
	// MaxDeviceIDLen bounds hello's device_id.
	MaxDeviceIDLen = 64
	// MaxErrorMessageLen bounds an error frame's message.
	MaxErrorMessageLen = 1024
	// PingInterval is how often each side may ping; a peer that misses
	// MaxMissedPongs pongs in a row is dead.
	PingInterval   = 20 * time.Second
	MaxMissedPongs = 2
	// WriteTimeout bounds the write of one frame.
	WriteTimeout = 10 * time.Second
	// HelloTimeout is how long the server waits for hello.
	HelloTimeout = 10 * time.Second
)

// FrameType is the "type" of a frame.
type FrameType string

// The frame types.
const (
	TypeHello   FrameType = "hello"
	TypeWelcome FrameType = "welcome"
	TypeChanges FrameType = "changes"
	TypePush    FrameType = "push"
	TypeAck     FrameType = "ack"
	TypeError   FrameType = "error"
)

// Frame is one of *Hello, *Welcome, *Changes, *Push, *Ack, *ErrorFrame.
// Each marshals to JSON with its "type".
type Frame interface {
	FrameType() FrameType
}

// Hello is the client's first frame.
type Hello struct {
	// DeviceID names the client's device (1 to MaxDeviceIDLen printable
	// ASCII bytes); logs and metrics use it, nothing else.
	DeviceID string `json:"device_id"`
	// Cursor is the last seq the client applied (0 for none).
	Cursor uint64 `json:"cursor"`
}

// Welcome answers hello.
type Welcome struct {
	AccountID string `json:"account_id"`
	// Head is the account's last assigned seq when the connection opened;
	// below the hello's cursor when that cursor counts in a stream the
	// server does not hold (it was put back from a backup), which tells
	// the client to start over.
	Head uint64 `json:"head"`
}

// Changes carries part of the account's ordered stream. Changes are in
// strictly increasing seq order and each holds every field of its op that
// no later op overwrote (none at all: the change only acknowledges OpID).
// Field values are sealed (SealedValue).
type Changes struct {
	Changes []model.Change `json:"changes"`
	// CaughtUp is true on the frame that reaches the server's head.
	CaughtUp bool `json:"caught_up"`
}

// Push sends local ops, 1 to MaxPushOps of them. Field values are sealed
// (SealedValue); an op must write at least one field.
type Push struct {
	Ops []model.Op `json:"ops"`
}

// Ack lists pushed op ids that the account had applied before, so they
// will not come back in the stream.
type Ack struct {
	OpIDs []model.ID `json:"op_ids"`
}

// ErrorFrame says why the server is about to close the connection.
type ErrorFrame struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// FrameType implements Frame.
func (*Hello) FrameType() FrameType { return TypeHello }

// FrameType implements Frame.
func (*Welcome) FrameType() FrameType { return TypeWelcome }

// FrameType implements Frame.
func (*Changes) FrameType() FrameType { return TypeChanges }

// FrameType implements Frame.
func (*Push) FrameType() FrameType { return TypePush }

// FrameType implements Frame.
func (*Ack) FrameType() FrameType { return TypeAck }

// FrameType implements Frame.
func (*ErrorFrame) FrameType() FrameType { return TypeError }

// MarshalJSON adds "type".
func (f Hello) MarshalJSON() ([]byte, error) {
	type plain Hello
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypeHello, plain(f)})
}

// MarshalJSON adds "type".
func (f Welcome) MarshalJSON() ([]byte, error) {
	type plain Welcome
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypeWelcome, plain(f)})
}

// MarshalJSON adds "type"; a nil Changes slice is sent as [].
func (f Changes) MarshalJSON() ([]byte, error) {
	type plain Changes
	if f.Changes == nil {
		f.Changes = []model.Change{}
	}
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypeChanges, plain(f)})
}

// MarshalJSON adds "type".
func (f Push) MarshalJSON() ([]byte, error) {
	type plain Push
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypePush, plain(f)})
}

// MarshalJSON adds "type".
func (f Ack) MarshalJSON() ([]byte, error) {
	type plain Ack
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypeAck, plain(f)})
}

// MarshalJSON adds "type".
func (f ErrorFrame) MarshalJSON() ([]byte, error) {
	type plain ErrorFrame
	return json.Marshal(struct {
		Type FrameType `json:"type"`
		plain
	}{TypeError, plain(f)})
}

// EncodeFrame returns the JSON of f; an error wraps model.ErrTooLarge when
// it exceeds MaxFrameSize.
func EncodeFrame(f Frame) ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", f.FrameType(), err)
	}
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("%s frame is %d bytes, more than %d: %w", f.FrameType(), len(b), MaxFrameSize, model.ErrTooLarge)
	}
	return b, nil
}

// CloseCode is a WebSocket close status of the sync endpoint.
type CloseCode int

// The close codes. The 44xx codes mirror the HTTP statuses of the same
// meaning.
const (
	// CloseNormal: the client said goodbye.
	CloseNormal CloseCode = 1000
	// CloseGoingAway: the server is shutting down; reconnect at once,
	// with jitter.
	CloseGoingAway CloseCode = 1001
	// CloseInternal: the server failed; reconnect with backoff.
	CloseInternal CloseCode = 1011
	// CloseInvalidFrame: a frame broke the protocol (bad JSON, unknown
	// type, kind or field, a bad id or value, a push before hello). The
	// client has a bug or is newer than it claims; do not retry blindly.
	CloseInvalidFrame CloseCode = 4400
	// CloseUnauthorized: the token is invalid or was revoked; sign in again.
	CloseUnauthorized CloseCode = 4401
	// CloseEmailUnconfirmed: the account's email is not confirmed yet.
	CloseEmailUnconfirmed CloseCode = 4403
	// CloseUnsupportedVersion: the client did not offer SyncSubprotocol;
	// upgrade.
	CloseUnsupportedVersion CloseCode = 4409
	// CloseTooLarge: a frame, op or value exceeded a limit, or the
	// account's quota is used up; the error frame says which.
	CloseTooLarge CloseCode = 4413
	// CloseRateLimited: too many connections or pushes; reconnect with
	// backoff.
	CloseRateLimited CloseCode = 4429
)

// CodeUnsupportedVersion is the error code sent with CloseUnsupportedVersion.
const CodeUnsupportedVersion ErrorCode = "unsupported_version"

// CodeQuotaExceeded is the error code sent with CloseTooLarge when the
// account's quota refused a push (CodeTooLarge: a frame, op or value over
// a protocol limit). A client may then push what frees room first, and
// smaller pushes, to fill the account up to its quota.
const CodeQuotaExceeded ErrorCode = "quota_exceeded"

// ErrUnsupportedVersion is what CloseUnsupportedVersion stands for.
var ErrUnsupportedVersion = fmt.Errorf("sync protocol version unsupported, upgrade: %w", model.ErrInvalid)

// CloseCodeFor maps an error to the close code the server sends:
// model.ErrTooLarge 4413, ErrRateLimited 4429, ErrEmailUnconfirmed 4403,
// model.ErrUnauthorized 4401, ErrUnsupportedVersion 4409, model.ErrInvalid
// 4400, model.ErrUnavailable 1001, anything else 1011.
func CloseCodeFor(err error) CloseCode {
	switch CodeFor(err) {
	case CodeTooLarge:
		return CloseTooLarge
	case CodeRateLimited:
		return CloseRateLimited
	case CodeEmailUnconfirmed:
		return CloseEmailUnconfirmed
	case CodeUnauthorized:
		return CloseUnauthorized
	case CodeInvalidInput:
		if isUnsupportedVersion(err) {
			return CloseUnsupportedVersion
		}
		return CloseInvalidFrame
	case CodeUnavailable:
		return CloseGoingAway
	}
	return CloseInternal
}

// ErrorCode returns the error code sent in the error frame before c.
func (c CloseCode) ErrorCode() ErrorCode {
	switch c {
	case CloseInvalidFrame:
		return CodeInvalidInput
	case CloseUnauthorized:
		return CodeUnauthorized
	case CloseEmailUnconfirmed:
		return CodeEmailUnconfirmed
	case CloseUnsupportedVersion:
		return CodeUnsupportedVersion
	case CloseTooLarge:
		return CodeTooLarge
	case CloseRateLimited:
		return CodeRateLimited
	case CloseGoingAway:
		return CodeUnavailable
	}
	return CodeInternal
}

// Err returns the model error vocabulary's counterpart of c (nil for
// CloseNormal), for clients to decide what to show and whether to retry:
// model.ErrUnauthorized, ErrEmailUnconfirmed, ErrUnsupportedVersion,
// model.ErrTooLarge, ErrRateLimited, model.ErrInvalid, or
// model.ErrUnavailable for going away and anything else.
func (c CloseCode) Err() error {
	switch c {
	case CloseNormal:
		return nil
	case CloseUnsupportedVersion:
		return ErrUnsupportedVersion
	}
	return c.ErrorCode().Err()
}

// Err returns the frame as an *Error (which unwraps to the model
// vocabulary).
func (f *ErrorFrame) Err() error {
	if f.Code == CodeUnsupportedVersion {
		return fmt.Errorf("%s: %w", f.Message, ErrUnsupportedVersion)
	}
	return &Error{Code: f.Code, Message: f.Message}
}

func isUnsupportedVersion(err error) bool { return errors.Is(err, ErrUnsupportedVersion) }
