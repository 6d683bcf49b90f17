package store

import (
	"fmt"

	"github.com/courierapp/courier/model"
)

// validateRecord is model.Record.Validate, with the same errors, checking
// the values with model.ValidJSON.
func validateRecord(kind model.Kind, id model.ID, fields model.Fields) error {
	if !kind.Valid() {
		return fmt.Errorf("unknown kind %q: %w", kind, model.ErrInvalid)
	}
	if err := id.Validate(); err != nil {
		return err
	}
	for f, v := range fields {
		if !kind.ValidField(f) {
			return fmt.Errorf("%s %s: unknown field %q: %w", kind, id, f, model.ErrInvalid)
		}
		if !model.ValidJSON(v) {
			return fmt.Errorf("%s %s: field %q is not valid JSON: %w", kind, id, f, model.ErrInvalid)
		}
	}
	return nil
}
