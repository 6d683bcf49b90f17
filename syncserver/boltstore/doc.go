// Package boltstore is the single-node storage backend of the sync server,
// on one bbolt file. It implements syncserver.Storage and passes
// storetest.Run.
package boltstore
