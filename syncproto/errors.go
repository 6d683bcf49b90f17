package syncproto

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/courierapp/courier/model"
)

// ErrorCode is the machine-readable kind of an API error. Clients switch on
// it; the message is for people and may change.
type ErrorCode string

// The error codes, each with the HTTP status the server answers with.
const (
	// CodeInvalidInput (400): the body is not valid JSON of the expected
	// shape, or a field breaks a rule; the message says which.
	CodeInvalidInput ErrorCode = "invalid_input"
	// CodeInvalidCode (400): an email confirmation token or reset code is
	// wrong, expired, already used, or burned by too many wrong tries.
	CodeInvalidCode ErrorCode = "invalid_code"
	// CodeUnauthorized (401): wrong identifier or password, or a missing,
	// invalid or revoked session token.
	CodeUnauthorized ErrorCode = "unauthorized"
	// CodeEmailUnconfirmed (403): the credentials are right but the
	// address is not confirmed yet.
	CodeEmailUnconfirmed ErrorCode = "email_unconfirmed"
	// CodeNotFound (404): no such route or object.
	CodeNotFound ErrorCode = "not_found"
	// CodeMethodNotAllowed (405): the route exists with another method.
	CodeMethodNotAllowed ErrorCode = "method_not_allowed"
	// CodeConflict (409): the object exists already (a taken username).
	CodeConflict ErrorCode = "conflict"
	// CodeTooLarge (413): the body exceeds MaxAccountBody.
	CodeTooLarge ErrorCode = "too_large"
	// CodeUnsupportedMediaType (415): the body is not application/json.
	CodeUnsupportedMediaType ErrorCode = "unsupported_media_type"
	// CodeRateLimited (429): too many calls; the Retry-After header says
	// in how many seconds to try again.
	CodeRateLimited ErrorCode = "rate_limited"
	// CodeInternal (500): the server failed; the log has the detail.
	CodeInternal ErrorCode = "internal"
	// CodeUnavailable (503): the server is shutting down or overloaded.
	CodeUnavailable ErrorCode = "unavailable"
)

// ErrorCodes lists every code, in a stable order.
var ErrorCodes = []ErrorCode{
	CodeInvalidInput, CodeInvalidCode, CodeUnauthorized, CodeEmailUnconfirmed,
	CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeTooLarge,
	CodeUnsupportedMediaType, CodeRateLimited, CodeInternal, CodeUnavailable,
}

// HTTPStatus returns the status the server sends with code (500 for an
// unknown code).
func (c ErrorCode) HTTPStatus() int {
	switch c {
	case CodeInvalidInput, CodeInvalidCode:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeEmailUnconfirmed:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeConflict:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrEmailUnconfirmed is what CodeEmailUnconfirmed unwraps to.
var ErrEmailUnconfirmed = fmt.Errorf("email not confirmed: %w", model.ErrUnauthorized)

// ErrInvalidCode is what CodeInvalidCode unwraps to.
var ErrInvalidCode = fmt.Errorf("code wrong, expired or used: %w", model.ErrInvalid)

// ErrRateLimited is what CodeRateLimited unwraps to.
var ErrRateLimited = fmt.Errorf("rate limited: %w", model.ErrUnavailable)

// Err returns the model error vocabulary's counterpart of c, so callers
// can test an *Error with errors.Is(err, model.ErrUnauthorized) and the like.
func (c ErrorCode) Err() error {
	switch c {
	case CodeInvalidInput, CodeMethodNotAllowed, CodeUnsupportedMediaType:
		return model.ErrInvalid
	case CodeInvalidCode:
		return ErrInvalidCode
	case CodeUnauthorized:
		return model.ErrUnauthorized
	case CodeEmailUnconfirmed:
		return ErrEmailUnconfirmed
	case CodeNotFound:
		return model.ErrNotFound
	case CodeConflict:
		return model.ErrConflict
	case CodeTooLarge, CodeQuotaExceeded:
		return model.ErrTooLarge
	case CodeRateLimited:
		return ErrRateLimited
	}
	return model.ErrUnavailable
}

// CodeFor maps an error of the model vocabulary (or of this package) to
// the code the server answers with; anything else is CodeInternal.
func CodeFor(err error) ErrorCode {
	switch {
	case errors.Is(err, ErrEmailUnconfirmed):
		return CodeEmailUnconfirmed
	case errors.Is(err, ErrInvalidCode):
		return CodeInvalidCode
	case errors.Is(err, ErrRateLimited):
		return CodeRateLimited
	case errors.Is(err, model.ErrInvalid):
		return CodeInvalidInput
	case errors.Is(err, model.ErrUnauthorized):
		return CodeUnauthorized
	case errors.Is(err, model.ErrNotFound):
		return CodeNotFound
	case errors.Is(err, model.ErrConflict):
		return CodeConflict
	case errors.Is(err, model.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, model.ErrUnavailable):
		return CodeUnavailable
	}
	return CodeInternal
}

// ErrorBody is the JSON body of every error answer:
// {"error": {"code": "...", "message": "..."}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is an API error as it travels. It implements error and unwraps to
// the model vocabulary (see ErrorCode.Err).
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	// Status is the HTTP status it came with; not on the wire.
	Status int `json:"-"`
	// RetryAfter is the Retry-After header of a 429; not in the body.
	RetryAfter time.Duration `json:"-"`
}

// Error returns "code: message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the model error that e.Code stands for.
func (e *Error) Unwrap() error { return e.Code.Err() }
