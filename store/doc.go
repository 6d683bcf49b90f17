// Package store is Courier's local database: one bbolt file, courier.db, in
// the profile directory.
//
// It keeps the two layers of DESIGN.md section 3. The confirmed layer holds
// the server's state as of the cursor (or, without an account, everything
// the user wrote); the outbox holds local ops not yet acknowledged, in order.
// The visible layer, which Get, List and History read, is materialised per
// record: confirmed with the pending ops for that record applied on top, in
// outbox order. Every write that changes confirmed or the outbox
// re-materialises the records it touched in the same transaction, so the
// three never disagree on disk.
//
// One bbolt Update (one commit, one pair of fdatasyncs) serves each exported
// write method. Errors wrap the model vocabulary: model.ErrInvalid for bad
// input, model.ErrNotFound, model.ErrConflict, model.ErrTooLarge, and
// model.ErrUnavailable when the disk cannot be written (full, read-only,
// permission denied) or the profile is held by another process
// (ErrProfileLocked). A failed write leaves the earlier data readable.
package store
