package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/courierapp/courier/model"
)

// The push log (write-ahead log) beside the bbolt file makes a push
// durable with one sequential write and one fdatasync. A bbolt commit
// writes each page the push touched (about ten, scattered over the file)
// and syncs twice; the committer now makes those commits (checkpoints)
// in the background, for many pushes at once (see committer).
//
// The file holds records, each
//
//	length  uint32 BE  (of the payload)
//	crc     uint32 BE  (Castagnoli, of the file's log id, lsn and payload)
//	lsn     uint64 BE  (numbered from 1, one more than the record before)
//	payload            (a push: see encodePush)
//
// written from the file's start after each checkpoint, over the records
// before it. The checkpoint stores the last lsn it holds (kLogLSN in
// bMeta), so at open the records to replay are those that follow it in
// order from the start, up to the first that is torn, stale or absent.
// The log id (kLogID in bMeta, random) ties the records to their data
// file: a log left beside another file (a backup put back) replays
// nothing into it.
type pushLog struct {
	id   []byte
	f    *os.File
	off  int64 // where the next record goes
	size int64 // bytes of the file known written (not a hole)
	buf  []byte
}

// kLogLSN (in bMeta) is the lsn of the last record a checkpoint holds;
// kLogID is the file's log id.
var (
	kLogLSN = []byte("log.lsn")
	kLogID  = []byte("log.id")
)

const (
	logHeader = 16
	// logInitial is the size of a new log file, written with zeros so
	// that a record overwrites blocks already allocated: an fdatasync
	// then flushes the data alone, not the file system's journal.
	logInitial = 1 << 20
	// maxLogRecord bounds one record's payload (a push is bounded by
	// the protocol's frame limit, well below).
	maxLogRecord = 256 << 20
	// minFreeForLog is the free space below which a group is committed
	// to the data file before it is acknowledged, as without the log:
	// then a full disk refuses only the pushes that do not fit, and never
	// holds acknowledged ones in the log, unable to write them into the
	// file (which would refuse every other write until there is room).
	minFreeForLog = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openPushLog opens (creating if needed) the log at path.
func openPushLog(path string) (*pushLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the push log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open the push log: %w", err)
	}
	return &pushLog{f: f, size: st.Size()}, nil
}

// scan returns the payloads of the records after lsn, in order.
func (l *pushLog) scan(lsn uint64) ([][]byte, error) {
	var out [][]byte
	var head [logHeader]byte
	for off := int64(0); ; {
		if _, err := l.f.ReadAt(head[:], off); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("read the push log at %d: %w", off, err)
		}
		n := binary.BigEndian.Uint32(head[0:])
		if binary.BigEndian.Uint64(head[8:]) != lsn+1 || n > maxLogRecord {
			return out, nil // stale (or torn) from here on
		}
		payload := make([]byte, n)
		if _, err := l.f.ReadAt(payload, off+logHeader); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil // torn: never acknowledged
			}
			return nil, fmt.Errorf("read the push log at %d: %w", off, err)
		}
		if l.crc(head[8:16], payload) != binary.BigEndian.Uint32(head[4:]) {
			return out, nil
		}
		out = append(out, payload)
		lsn++
		off += logHeader + int64(n)
	}
}

// crc is a record's checksum, of the log id, its lsn and its payload.
func (l *pushLog) crc(lsn, payload []byte) uint32 {
	c := crc32.Update(crc32.Checksum(l.id, castagnoli), castagnoli, lsn)
	return crc32.Update(c, castagnoli, payload)
}

// read returns the payload of n bytes of the record at off.
func (l *pushLog) read(off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := l.f.ReadAt(b, off+logHeader); err != nil {
		return nil, fmt.Errorf("read the push log at %d: %w", off, err)
	}
	return b, nil
}

// append writes the records (numbered from first) after the ones since
// the last reset and makes them durable.
func (l *pushLog) append(first uint64, payloads [][]byte) error {
	b := l.buf[:0]
	for i, p := range payloads {
		var h [logHeader]byte
		binary.BigEndian.PutUint32(h[0:], uint32(len(p)))
		binary.BigEndian.PutUint64(h[8:], first+uint64(i))
		binary.BigEndian.PutUint32(h[4:], l.crc(h[8:16], p))
		b = append(append(b, h[:]...), p...)
	}
	l.buf = b
	if cap(l.buf) > 64<<10 {
		l.buf = nil // a large push's buffer is not kept
	}
	grows := l.off+int64(len(b)) > l.size
	if grows {
		l.extend(l.off + int64(len(b)))
	}
	if _, err := l.f.WriteAt(b, l.off); err != nil {
		return fmt.Errorf("write the push log: %w", err)
	}
	var err error
	if grows && l.off+int64(len(b)) > l.size {
		err = l.f.Sync() // the file's size changed: sync its metadata too
	} else {
		err = fdatasync(l.f)
	}
	if err != nil {
		return fmt.Errorf("sync the push log: %w", err)
	}
	l.off += int64(len(b))
	l.size = max(l.size, l.off)
	return nil
}

// extend writes zeros from the file's end to past need (twice the size,
// at least logInitial), so the records that follow overwrite allocated
// blocks. It is best effort: on a full disk the record extends the file
// itself.
func (l *pushLog) extend(need int64) {
	to := max(need, 2*l.size, logInitial)
	zeros := make([]byte, min(to-l.size, 1<<20))
	for l.size < to {
		n := min(int64(len(zeros)), to-l.size)
		if _, err := l.f.WriteAt(zeros[:n], l.size); err != nil {
			return
		}
		l.size += n
	}
	if l.f.Sync() != nil {
		l.size = l.off // not known durable: sync with the next record
	}
}

// prepare writes the file's first logInitial bytes (see logInitial).
func (l *pushLog) prepare() {
	if l.size < logInitial {
		l.extend(logInitial)
	}
}

// reset makes the next record go to the file's start: a checkpoint holds
// all the records written so far. A log that grew large (while
// checkpoints failed) is cut back.
func (l *pushLog) reset() {
	l.off = 0
	if l.size > 16*logInitial && l.f.Truncate(logInitial) == nil {
		l.size = logInitial
	}
}

func (l *pushLog) close() error { return l.f.Close() }

// roomy reports whether the log's file system has minFreeForLog bytes
// free (or says nothing of it).
func (l *pushLog) roomy() bool {
	free, ok := freeSpace(l.f)
	return !ok || free >= minFreeForLog
}

// encodePush is the payload of a push's record: the account and the ops,
// byte for byte (so the replay stores what the push stored).
func encodePush(accountID string, ops []model.Op) []byte {
	n := len(accountID) + 16
	for _, op := range ops {
		n += len(op.OpID) + len(op.Kind) + len(op.ID) + 16
		for k, v := range op.Fields {
			n += len(k) + len(v) + 8
		}
	}
	b := make([]byte, 0, n)
	str := func(s []byte) { b = append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	str([]byte(accountID))
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for _, op := range ops {
		str([]byte(op.OpID))
		str([]byte(op.Kind))
		str([]byte(op.ID))
		b = binary.AppendUvarint(b, uint64(len(op.Fields)))
		for k, v := range op.Fields {
			str([]byte(k))
			str(v)
		}
	}
	return b
}

// decodePush reads a payload of encodePush.
func decodePush(b []byte) (string, []model.Op, error) {
	bad := fmt.Errorf("a push log record does not decode: %w", model.ErrInvalid)
	num := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func() ([]byte, bool) {
		n, ok := num()
		if !ok || n > uint64(len(b)) {
			return nil, false
		}
		s := b[:n:n]
		b = b[n:]
		return s, true
	}
	acct, ok := str()
	if !ok {
		return "", nil, bad
	}
	nops, ok := num()
	if !ok || nops > uint64(len(b)) {
		return "", nil, bad
	}
	ops := make([]model.Op, 0, nops)
	for range nops {
		opID, ok1 := str()
		kind, ok2 := str()
		id, ok3 := str()
		nf, ok4 := num()
		if !ok1 || !ok2 || !ok3 || !ok4 || nf > uint64(len(b)) {
			return "", nil, bad
		}
		op := model.Op{OpID: model.ID(opID), Kind: model.Kind(kind), ID: model.ID(id), Fields: make(model.Fields, nf)}
		for range nf {
			k, ok1 := str()
			v, ok2 := str()
			if !ok1 || !ok2 {
				return "", nil, bad
			}
			op.Fields[string(k)] = v
		}
		ops = append(ops, op)
	}
	if len(b) != 0 {
		return "", nil, bad
	}
	return string(acct), ops, nil
}
