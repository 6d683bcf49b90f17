package model

import "errors"

// The error vocabulary shared by every layer. Packages wrap these with %w and
// the identifying data ("open request 01H...: not found"); callers test them
// with errors.Is and translate them at each boundary (a sentence in the UI,
// an exit code in the CLI, a status and code on the wire).
var (
	// ErrNotFound: the record, account or object does not exist (or is deleted).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input is malformed or breaks a rule; the message says which.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the object already exists or changed underneath the caller.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a resource (disk, network, keyring, server) cannot be used now.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthorized: credentials are missing, wrong, expired or revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge: a size or count limit was exceeded.
	ErrTooLarge = errors.New("too large")
)
