// Package pgstore is the PostgreSQL backend of syncserver.Storage, for
// one or many server replicas sharing a database.
//
// Open applies the embedded, versioned SQL migrations under an advisory
// lock, so replicas starting together are safe. Each Storage method is
// one transaction. A push locks its account's row, which serialises the
// writers of one account and never those of different accounts, assigns
// the next seqs there, dedupes op ids and upserts the field values.
//
// After a commit the store sends NOTIFY courier_head (courier_head_<schema>
// outside the public schema, as NOTIFY reaches the whole database) with
// only "<account>:<head>", coalesced to at most one per account every few
// milliseconds; WatchHeads LISTENs on one dedicated connection and hands
// the heads to the server, which pokes its local sync connections. NOTIFY
// is a hint and the seq is the truth: after a lost LISTEN connection the
// watcher re-reads the heads of the connected accounts.
//
// Compact records each session's cursor on its row and drops the log
// entries that hold no value at or below the low water. Its work is what
// was logged since the last compaction, not the log: each entry lists the
// seqs of the values its op overwrote (sync_log.kills), and the dead
// entries a device may still need wait in sync_dead (migration 0009).
//
// Errors: the model vocabulary (model.ErrNotFound, model.ErrConflict,
// model.ErrInvalid); a database that does not answer gives errors
// wrapping model.ErrUnavailable, which callers may retry.
package pgstore
