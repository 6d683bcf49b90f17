package syncserver

import (
	"fmt"

	"github.com/courierapp/courier/model"
)

// Storage conflicts on account creation.
var (
	ErrEmailTaken    = fmt.Errorf("email taken: %w", model.ErrConflict)
	ErrUsernameTaken = fmt.Errorf("username taken: %w", model.ErrConflict)
)
