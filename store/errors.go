package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// writeProblem returns a sentence saying why the profile in dir could not
// be written, for the user. bbolt does not always wrap the system error
// (some paths format it with %s), so the text is checked too.
func writeProblem(dir string, err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error()):
		return fmt.Sprintf("the disk holding the profile %s is full; free some space and try again (nothing was saved, earlier data is intact)", dir)
	case errors.Is(err, syscall.EROFS) || strings.Contains(msg, syscall.EROFS.Error()):
		return fmt.Sprintf("the profile %s is on a read-only file system; nothing was saved", dir)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		strings.Contains(msg, syscall.EACCES.Error()) || strings.Contains(msg, syscall.EPERM.Error()):
		return fmt.Sprintf("Courier may not write to the profile %s (permission denied); nothing was saved", dir)
	default:
		return fmt.Sprintf("the profile %s could not be written; nothing was saved", dir)
	}
}
