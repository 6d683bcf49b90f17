package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// TakeToken implements syncserver.RateStorage: one call of
// courier_take_token (migration 0005), which locks the bucket's row, so
// replicas taking from one bucket at once take one token each.
func (d *DB) TakeToken(ctx context.Context, key []byte, r syncserver.Rate) (bool, time.Duration, error) {
	if len(key) == 0 || r.Burst <= 0 || r.Every <= 0 {
		return false, 0, fmt.Errorf("take a token: key and rate required: %w", model.ErrInvalid)
	}
	var (
		ok   bool
		wait float64
	)
	err := d.pool.QueryRow(ctx, `SELECT ok, wait FROM courier_take_token($1, $2, $3)`,
		key, float64(r.Burst), r.Every.Seconds()).Scan(&ok, &wait)
	if err != nil {
		return false, 0, fmt.Errorf("take a rate-limit token: %w", d.check(err))
	}
	return ok, time.Duration(wait * float64(time.Second)), nil
}

var _ syncserver.RateStorage = (*DB)(nil)
