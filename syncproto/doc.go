// Package syncproto holds what the Courier client and the sync server must
// agree on byte for byte: the account API's paths, its JSON request and
// response types (links.go: collection links), its error body and error
// codes, the validation rules for user input (usernames, emails, KDF
// parameters, key sizes), the sync protocol's frames, close codes and
// their validation (sync.go), and the limits both sides enforce.
//
// It is pure Go and imports nothing of Courier's except model, so both
// syncclient and syncserver may depend on it.
package syncproto
