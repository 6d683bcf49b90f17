package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// writeOutput writes data where an -o flag says: to stdout for "" or "-";
// else to the file path, as writeFile does. Errors name path as the user
// gave it.
func writeOutput(env *Env, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := env.Stdout.Write(data)
		return err
	}
	if err := writeFile(path, data); err != nil {
		return Exitf(ExitFailure, "-o %s: %v", path, bareError(err))
	}
	return nil
}

// errIsDir says that -o names a folder.
var errIsDir = errors.New("is a directory")

// writeFile writes data to path the way its kind asks:
//
//   - a regular file, or none, is replaced through a temporary file in the
//     same folder, so a failure leaves any old file whole. A new file is
//     readable by its owner only (it may hold secret values); an old one
//     keeps its mode.
//   - a symbolic link is followed, and its target replaced (or created)
//     that way: the link stays a link.
//   - a device, named pipe or socket, or a descriptor of this process
//     (/dev/stdout, /dev/fd/N), is opened and written in place.
//   - a folder is an error.
func writeFile(path string, data []byte) error {
	fi, statErr := os.Stat(path)
	switch {
	case statErr == nil && fi.IsDir():
		return errIsDir
	case statErr == nil && !fi.Mode().IsRegular():
		return writeInPlace(path, data, false)
	case statErr != nil && !errors.Is(statErr, fs.ErrNotExist):
		return statErr
	case statErr != nil && os.IsPathSeparator(path[len(path)-1]):
		return errIsDir // a folder that does not exist
	}
	target, viaFD, err := linkTarget(path)
	switch {
	case err != nil:
		return err
	case viaFD && statErr != nil:
		return statErr // a descriptor that is not open
	case viaFD:
		return writeInPlace(path, data, true)
	case statErr == nil:
		return replaceFile(target, data, fi.Mode().Perm(), true)
	}
	return replaceFile(target, data, 0, false)
}

// linkTarget follows the symbolic links that path's last element leads
// through, to the path that is not a link (it may not exist: a dangling
// link is followed to the file it would name). viaFD reports a link among
// a process's file descriptors (/dev/fd/N, /proc/self/fd/N), whose target
// is not a path to replace: the descriptor must be written in place.
func linkTarget(path string) (target string, viaFD bool, err error) {
	p := filepath.Clean(path)
	for range 40 {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", false, err
		}
		if fdDir(dir) {
			return "", true, nil
		}
		p = filepath.Join(dir, filepath.Base(p))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return p, false, nil
		}
		if err != nil {
			return "", false, err
		}
		to, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(dir, to)
		}
		p = to
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// fdDir reports whether dir lists a process's file descriptors.
func fdDir(dir string) bool {
	if dir == "/dev/fd" {
		return true
	}
	for _, pattern := range []string{"/proc/*/fd", "/proc/*/task/*/fd"} {
		if ok, _ := filepath.Match(pattern, dir); ok {
			return true
		}
	}
	return false
}

// writeInPlace writes data to the file path names, which must exist;
// truncate empties it first (a regular file behind a descriptor).
func writeInPlace(path string, data []byte, truncate bool) error {
	flag := os.O_WRONLY
	if truncate {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile replaces the regular file path (or creates it) with data,
// through a synced temporary file renamed over it. keepMode gives the new
// file mode; else it is readable by its owner only.
func replaceFile(path string, data []byte, mode fs.FileMode, keepMode bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	err = fillTemp(tmp, data, mode, keepMode)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename last too
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func fillTemp(tmp *os.File, data []byte, mode fs.FileMode, keepMode bool) error {
	if keepMode {
		if err := tmp.Chmod(mode); err != nil {
			return err
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	return tmp.Sync()
}

// bareError drops the file name an os error carries: the name may be
// the temporary file's, or a link's target, not the path the user gave.
func bareError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
