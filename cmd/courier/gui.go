package main

import (
	"context"

	"github.com/courierapp/courier/app"
)

// guiRunner returns what runs the desktop window; nil while this binary is
// built without one.
func guiRunner() func(ctx context.Context, core *app.App, notice string) error {
	return nil
}
