// Package store is Courier's local database: one bbolt file, courier.db, in
// the profile directory.
//
// # Layers
//
// It keeps the two layers of DESIGN.md section 3. The confirmed layer holds
// the server's state as of the cursor (or, without an account, everything
// the user wrote); the outbox holds local ops not yet acknowledged, in order.
// The visible layer, which Get, List and History read, is materialised per
// record: confirmed with the pending ops for that record applied on top, in
// outbox order; deleted records are left out. Every write that changes
// confirmed or the outbox re-materialises the records it touched in the same
// transaction, so the three never disagree on disk. A record without pending
// ops is stored once: its visible entry only says "as confirmed".
//
// # For the sync engine
//
// SyncEnabled says where Apply writes: off, into confirmed; on, into the
// outbox. Turning it on needs a profile without visible records, or the
// user's choice first: QueueAllLocal (merge: every visible record becomes one
// op; sync turns on) or CopyTo then DiscardLocal (keep aside). Push
// PendingOps in order; apply each page of the stream with
// ApplyServerChanges(changes, pageEndSeq), which also drops the ops the page
// echoes; call AckOps for the server's duplicate acks. A page repeated or
// older than the cursor is ignored. Subscribe to learn of local writes
// (Remote false) worth pushing. When the server's stream ends before the
// cursor (it was restored from a backup), Rebase starts over: the stream
// is pulled again from seq 1 and only what the server lost is pushed.
//
// # Secret values
//
// Opened with Options.SecretKey (32 bytes the app keeps in the OS
// keyring), the store keeps the value of every secret variable sealed on
// disk (XChaCha20-Poly1305; see secrets.go), in every layer and in the
// outbox, and returns it in plain text: callers see no difference. Once a
// value is sealed, Open refuses a missing or wrong key with
// ErrSecretsLocked and changes nothing; opened read-write with a key, a
// profile holding plain secret values is sealed at once. Without a key values stay
// plain: SecretsSealed and UnsealedSecrets say so, for a warning.
//
// # Reading a profile that may not be written
//
// Open creates the folder, locks the file for itself, and may write before
// it returns: a schema migration, the sealing of plain secret values, a
// compaction, a damaged file set aside. A folder or file it may not write
// (permission denied, a read-only file system) fails with an error that
// matches ErrNotWritable. Options.ReadOnly then opens the profile for
// reading only: the file is opened read-only under a shared lock, nothing
// at all is written, every write method fails with model.ErrUnavailable
// saying the profile was opened read-only, and a file that must be
// written before it can be read (schema 1, not set up, damaged) is refused
// with a sentence saying it must be opened once with write access. Sealed
// values need the key as for Open; plain ones are read plain. Read-only
// DBs share a profile, with each other and with other processes', but
// never with a read-write DB: whichever comes second gets
// ErrProfileLocked (see readonly.go).
//
// # Writes and errors
//
// One bbolt Update (one commit: two fdatasyncs) serves each exported write
// method, but for the three that may rewrite the whole profile,
// QueueAllLocal, Rebase and SetSyncEnabled(false): they commit a chunk of
// records at a time, so that their heap stays small, and leave a
// consistent profile after each chunk (what is left is finished before
// the next server change is applied). Errors wrap the model vocabulary: model.ErrInvalid for bad input,
// model.ErrNotFound, model.ErrConflict, model.ErrTooLarge, and
// model.ErrUnavailable when the disk cannot be written (full, read-only,
// permission denied), the store was opened read-only, the file is damaged,
// or the profile is held by another process (ErrProfileLocked). A failed
// write changes nothing and leaves the earlier data readable.
package store
