package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestErrNotWritableMarksOnlyWhatMayNotBeWritten(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "open", Path: "/p/courier.db", Err: errno}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"permission denied", pathErr(syscall.EACCES), true},
		{"operation not permitted", pathErr(syscall.EPERM), true},
		{"a read-only file system", pathErr(syscall.EROFS), true},
		{"permission denied in bbolt's words", errors.New("file resize error: permission denied"), true},
		{"a full disk", pathErr(syscall.ENOSPC), false},
		{"not a folder", pathErr(syscall.ENOTDIR), false},
		{"something else", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("cannot open: %w: %w", model.ErrUnavailable, markNotWritable(tc.err))
			if got := errors.Is(err, ErrNotWritable); got != tc.want {
				t.Errorf("errors.Is(%q, ErrNotWritable) = %v; want %v", err, got, tc.want)
			}
			if !errors.Is(err, tc.err) || !errors.Is(err, model.ErrUnavailable) {
				t.Errorf("%q no longer wraps its cause and ErrUnavailable", err)
			}
			if want := "cannot open: " + model.ErrUnavailable.Error() + ": " + tc.err.Error(); err.Error() != want {
				t.Errorf("the mark changed the text: %q; want %q", err, want)
			}
		})
	}
}
