//go:build !cgo

package ui

import (
	"errors"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// Run fails in a build without cgo: the desktop window needs Fyne's OpenGL
// driver, which uses cgo. The headless subcommands still work.
func Run(*app.App, Options) error {
	return errors.Join(errors.New("this build of Courier has no desktop window (built without cgo); use the subcommands"), model.ErrUnavailable)
}

// ShowStartError cannot show a window in a build without cgo; the error
// is printed as before.
func ShowStartError(string) error {
	return errors.Join(errors.New("this build of Courier has no desktop window (built without cgo)"), model.ErrUnavailable)
}
