package pgstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/courierapp/courier/model"
)

// TestWrapTellsWhichDatabaseErrorsToRetry: a database that is out of disk
// or memory, shutting down or busy is unavailable (clients come back);
// a constraint violation is not.
func TestWrapTellsWhichDatabaseErrorsToRetry(t *testing.T) {
	for _, tc := range []struct {
		code, says  string
		unavailable bool
	}{
		{"53100", "disk is full", true},
		{"53200", "out of memory", true},
		{"57P01", "", true},
		{"40001", "", true},
		{"23505", "", false},
	} {
		err := wrap(fmt.Errorf("push: %w", &pgconn.PgError{Code: tc.code, Message: "from the server"}))
		if errors.Is(err, model.ErrUnavailable) != tc.unavailable || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("wrap(SQLSTATE %s) = %v; want unavailable %v, saying %q", tc.code, err, tc.unavailable, tc.says)
		}
	}
}
