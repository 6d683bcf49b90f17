// Package model holds Courier's domain types (requests, collections,
// folders, environments, variables, header presets, history entries), the
// record form in which every one of them is stored and synced, and the small
// vocabulary of errors shared by every layer.
//
// It imports nothing of Courier's and no third-party code except the ULID
// generator, so every other package may depend on it.
package model
