// Package boltfile checks a bbolt database file before bbolt maps it into
// memory. bbolt trusts the file: a file cut short (by a crash, a full disk
// or an unfinished copy) still has valid meta pages, and bbolt then reads
// pages past its end through the mapping, which kills the process with
// SIGBUS instead of returning an error. Check reads the two meta pages the
// way bbolt does and compares the file with them; Open runs Check, then
// bbolt.Open.
package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/bits"
	"os"
	"runtime/debug"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged is wrapped by every error of Check and Open that says the
// file is not a usable database.
var ErrDamaged = errors.New("damaged database file")

// Error says why a file is not a usable database.
type Error struct {
	// Size is the file's length in bytes.
	Size int64
	// Want is the length its pages need when the file is truncated, else 0.
	Want int64
	msg  string
	err  error // the bbolt error it matches, if any
}

func (e *Error) Error() string { return e.msg }

// Truncated says whether the file is shorter than its pages need.
func (e *Error) Truncated() bool { return e.Want > 0 }

// Unwrap returns ErrDamaged and the bbolt error the problem matches, if any.
func (e *Error) Unwrap() []error {
	if e.err != nil {
		return []error{ErrDamaged, e.err}
	}
	return []error{ErrDamaged}
}

// The on-disk layout, as in go.etcd.io/bbolt/internal/common (page.go,
// meta.go, types.go). bbolt reads these structs in the machine's byte
// order.
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	metaSize       = 64 // see meta
	pgidSize       = 8

	magic            = 0xED0CDAED
	version          = 2
	freelistPageFlag = 0x10
	noFreelist       = math.MaxUint64 // freelist not written (NoFreelistSync)

	// firstMetaRead is how much of the file bbolt reads to find the page
	// size in the first meta page; secondMetaTries is how many places
	// (1 KiB << i) it tries for the second.
	firstMetaRead   = 0x1000
	secondMetaTries = 15
)

// meta is bbolt's meta page body, after the page header.
type meta struct {
	magic, version, pageSize, flags uint32
	root, sequence                  uint64
	freelist, pgid, txid, checksum  uint64
	sum                             uint64 // FNV-64a of the bytes before checksum
}

// parseMeta reads the meta in the page that starts at b.
func parseMeta(b []byte) meta {
	b = b[pageHeaderSize : pageHeaderSize+metaSize]
	e := binary.NativeEndian
	h := fnv.New64a()
	_, _ = h.Write(b[:56])
	return meta{
		magic: e.Uint32(b[0:]), version: e.Uint32(b[4:]), pageSize: e.Uint32(b[8:]), flags: e.Uint32(b[12:]),
		root: e.Uint64(b[16:]), sequence: e.Uint64(b[24:]),
		freelist: e.Uint64(b[32:]), pgid: e.Uint64(b[40:]), txid: e.Uint64(b[48:]), checksum: e.Uint64(b[56:]),
		sum: h.Sum64(),
	}
}

// validate is common.Meta.Validate.
func (m meta) validate() error {
	switch {
	case m.magic != magic:
		return berrors.ErrInvalid
	case m.version != version:
		return berrors.ErrVersionMismatch
	case m.checksum != m.sum:
		return berrors.ErrChecksum
	}
	return nil
}

// Check reports whether the bbolt file at path can be opened without bbolt
// reading past its end. It returns nil when it is sound as far as its meta
// pages tell, and also when there is nothing to check or the check cannot
// decide, leaving bbolt.Open to report those: no file or an empty one
// (bbolt makes a new database), a file that cannot be read, or one another
// process has open (locked; a file in use is not checked, as a writer may
// be changing it).
//
// Otherwise the error is an *Error wrapping ErrDamaged: the file is shorter
// than the pages its newest valid meta page counts (Truncated), neither
// meta page is valid (also wrapping bbolt's error for the first one), or
// the meta page points outside the file's pages. It never changes the file.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if locked(f) {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil
	}
	return check(f, fi.Size())
}

func check(f *os.File, size int64) error {
	// The page size, found as bbolt's DB.getPageSize does.
	ps, found, err0, ok := pageSize(f, size)
	if !ok {
		return &Error{Size: size, err: err0, msg: fmt.Sprintf(
			"not a database: neither of the two meta pages at its start is valid (%v); it is not a bbolt file, or its start was overwritten", err0)}
	}
	if ps < pageHeaderSize+metaSize {
		return &Error{Size: size, msg: fmt.Sprintf("its meta page gives an impossible page size of %d bytes", ps)}
	}

	// The meta pages, chosen as bbolt's DB.meta does: the one with the
	// higher txid if valid, else the other one.
	m0, ok0 := readMeta(f, 0)
	m1, ok1 := readMeta(f, ps)
	a, okA, b, okB := m0, ok0, m1, ok1
	if ok1 && m1.txid > m0.txid {
		a, okA, b, okB = m1, ok1, m0, ok0
	}
	var m meta
	switch {
	case okA && a.validate() == nil:
		m = a
	case okB && b.validate() == nil:
		m = b
	case size < 2*ps:
		// bbolt's "file size too small": the second meta page is
		// past the end. found is valid, so its count is trusted.
		want := 2 * ps
		if hi, n := bits.Mul64(found.pgid, uint64(ps)); hi == 0 && n <= math.MaxInt64 {
			want = max(want, int64(n))
		}
		return truncated(size, want, ps)
	default:
		err := a.validate()
		return &Error{Size: size, err: err, msg: fmt.Sprintf(
			"not a database: neither of its two meta pages is valid (%v)", err)}
	}

	hi, need := bits.Mul64(m.pgid, uint64(ps))
	switch {
	case hi != 0 || need > math.MaxInt64:
		return &Error{Size: size, msg: fmt.Sprintf("its meta page counts an impossible %d pages", m.pgid)}
	case m.root >= m.pgid:
		return &Error{Size: size, msg: fmt.Sprintf("its root page %d is past the %d pages it counts", m.root, m.pgid)}
	case m.freelist != noFreelist && m.freelist >= m.pgid:
		return &Error{Size: size, msg: fmt.Sprintf("its free-page list %d is past the %d pages it counts", m.freelist, m.pgid)}
	case size < int64(need) || size < 2*ps:
		return truncated(size, max(int64(need), 2*ps), ps)
	}
	if m.freelist != noFreelist {
		return checkFreelist(f, m.freelist, ps, int64(need), size)
	}
	return nil
}

// pageSize finds the page size as bbolt's DB.getPageSize does: from the
// first meta page if it is valid, else from the first valid meta page at
// 1 KiB, 2 KiB, ... 16 MiB, and returns that meta page. ok is false when
// there is none (bbolt.Open then fails), with the first meta page's error.
func pageSize(f *os.File, size int64) (ps int64, found meta, err0 error, ok bool) {
	var buf [firstMetaRead]byte
	err0 = berrors.ErrInvalid
	if n, err := f.ReadAt(buf[:], 0); err == nil && n == len(buf) {
		m := parseMeta(buf[:])
		if err0 = m.validate(); err0 == nil {
			return int64(m.pageSize), m, nil, true
		}
	}
	for i := range secondMetaTries {
		buf = [firstMetaRead]byte{}
		pos := int64(1024) << i
		if pos >= size-1024 {
			break
		}
		n, err := f.ReadAt(buf[:], pos)
		if (err == nil && n == len(buf)) || (err == io.EOF && int64(n) == size-pos) {
			if m := parseMeta(buf[:]); m.validate() == nil {
				return int64(m.pageSize), m, nil, true
			}
		}
	}
	return 0, meta{}, err0, false
}

// readMeta reads the meta page at off; ok is false when it is not all in
// the file.
func readMeta(f *os.File, off int64) (meta, bool) {
	var buf [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(buf[:], off); err != nil {
		return meta{}, false
	}
	return parseMeta(buf[:]), true
}

// checkFreelist checks that the free-page list bbolt reads at open (page id
// at ps bytes each) is one and lies within the file's first need bytes.
func checkFreelist(f *os.File, id uint64, ps, need, size int64) error {
	off := int64(id) * ps
	var buf [pageHeaderSize + pgidSize]byte
	if _, err := f.ReadAt(buf[:], off); err != nil {
		return nil // within need <= size, so not for want of bytes
	}
	e := binary.NativeEndian
	if flags := e.Uint16(buf[8:]); flags != freelistPageFlag {
		return &Error{Size: size, msg: fmt.Sprintf("its free-page list %d is not a free-page list (page flags %#x)", id, flags)}
	}
	// As common.Page.FreelistPageCount: a count of 0xFFFF means the real
	// count is the list's first element.
	n, lead := uint64(e.Uint16(buf[10:])), uint64(0)
	if n == 0xFFFF {
		n, lead = e.Uint64(buf[pageHeaderSize:]), 1
	}
	if n > uint64(need)/pgidSize || off+pageHeaderSize+int64(lead+n)*pgidSize > need {
		return &Error{Size: size, msg: fmt.Sprintf("its free-page list %d runs past its last page", id)}
	}
	return nil
}

func truncated(size, want, ps int64) *Error {
	return &Error{Size: size, Want: want, msg: fmt.Sprintf(
		"the file is truncated: it is %d bytes, but its pages need %d (%d pages of %d bytes); it was cut short, as by a crash, a full disk or an unfinished copy",
		size, want, want/ps, ps)}
}

// Open is bbolt.Open after Check. As a second line of defence, a memory
// fault or a panic inside bbolt.Open (from damage Check cannot see) is
// returned as an error wrapping ErrDamaged instead of ending the process;
// the database bbolt was opening is then abandoned, its file left open and
// locked until the process exits, so the caller should not retry it. A
// panic in a goroutine bbolt starts itself cannot be caught here.
func Open(path string, mode os.FileMode, o *bbolt.Options) (db *bbolt.DB, err error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	// Per goroutine: bbolt reads the meta pages and the free-page list
	// on this one.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		db = nil
		if _, fault := p.(interface{ Addr() uintptr }); fault {
			err = &Error{msg: "reading it failed with a memory fault: a page it points to is past its end"}
		} else {
			err = &Error{msg: fmt.Sprintf("reading it failed: %v", p)}
		}
	}()
	return bbolt.Open(path, mode, o)
}
