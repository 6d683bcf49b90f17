package model

import (
	"fmt"

	"github.com/oklog/ulid/v2"
)

// ID identifies a record. IDs are ULIDs made on the device that creates the
// record (26 characters of Crockford base32), so they sort by creation time
// and never need a server round trip. Imported or well-known IDs (GlobalsID)
// may be any non-empty string of at most 64 bytes.
type ID string

// GlobalsID is the owner of global variables.
const GlobalsID ID = "globals"

// MaxIDLen bounds the length of any ID.
const MaxIDLen = 64

// NewID returns a fresh ULID. It is safe for concurrent use.
func NewID() ID { return ID(ulid.Make().String()) }

// Validate reports whether id is usable as a record ID.
func (id ID) Validate() error {
	if id == "" {
		return fmt.Errorf("empty id: %w", ErrInvalid)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("id %.16q... longer than %d bytes: %w", string(id), MaxIDLen, ErrInvalid)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c == 0x7f || c == '/' {
			return fmt.Errorf("id %q has a forbidden character: %w", string(id), ErrInvalid)
		}
	}
	return nil
}
