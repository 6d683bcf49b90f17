package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ErrNotWritable reports that the profile's folder or file may not be
// written: permission denied, or a read-only file system. Open with
// Options.ReadOnly may still read the profile. Errors that match it also
// wrap model.ErrUnavailable; their text is the error's own.
var ErrNotWritable = errors.New("the profile may not be written")

// writeCause is why a write failed, as writeProblem tells the user.
type writeCause int

const (
	causeOther writeCause = iota
	causeFull
	causeReadOnlyFS
	causeDenied
)

// classify says why err, from writing the profile, happened. bbolt does
// not always wrap the system error (some paths format it with %s), so the
// text is checked too.
func classify(err error) writeCause {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error()):
		return causeFull
	case errors.Is(err, syscall.EROFS) || strings.Contains(msg, syscall.EROFS.Error()):
		return causeReadOnlyFS
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		strings.Contains(msg, syscall.EACCES.Error()) || strings.Contains(msg, syscall.EPERM.Error()):
		return causeDenied
	}
	return causeOther
}

// writeProblem returns a sentence saying why the profile in dir could not
// be written, for the user.
func writeProblem(dir string, err error) string {
	switch classify(err) {
	case causeFull:
		return fmt.Sprintf("the disk holding the profile %s is full; free some space and try again (nothing was saved, earlier data is intact)", dir)
	case causeReadOnlyFS:
		return fmt.Sprintf("the profile %s is on a read-only file system; nothing was saved", dir)
	case causeDenied:
		return fmt.Sprintf("Courier may not write to the profile %s (permission denied); nothing was saved", dir)
	default:
		return fmt.Sprintf("the profile %s could not be written; nothing was saved", dir)
	}
}

// notWritable is an error that says the profile may not be written: it
// matches ErrNotWritable and reads as the error it holds.
type notWritable struct{ err error }

func (e notWritable) Error() string        { return e.err.Error() }
func (e notWritable) Unwrap() error        { return e.err }
func (e notWritable) Is(target error) bool { return target == ErrNotWritable }

// markNotWritable returns err, marked to match ErrNotWritable when it says
// the profile may not be written (permission denied, read-only file
// system).
func markNotWritable(err error) error {
	switch classify(err) {
	case causeReadOnlyFS, causeDenied:
		return notWritable{err}
	}
	return err
}
