// Package vault is Courier's end-to-end cryptography: it turns a password
// into keys (Argon2id, then HKDF-SHA256), wraps the random account key with
// a password-derived or recovery key, formats and parses the recovery key,
// and seals each synced field value so that only the account's devices can
// read it.
//
// The scheme:
//
//	masterKey  = Argon2id(password, salt16, KDFParams)          32 bytes
//	authKey    = HKDF-SHA256(masterKey, info "courier/v1/auth")  sent to the server
//	wrapKey    = HKDF-SHA256(masterKey, info "courier/v1/wrap")  never leaves the device
//	stored     = SHA-256(authKey)                                on the server
//	wrapped    = 0x01 || nonce24 || XChaCha20-Poly1305(wrapKey, accountKey, ad "courier/v1/account-key")
//	recovery   = 160 random bits shown once; its wrap key is
//	             HKDF-SHA256(recovery, info "courier/v1/recovery")
//	field      = 0x01 || nonce24 || XChaCha20-Poly1305(accountKey, json, ad kind 0x00 id 0x00 field)
//
// HKDF is used with an empty salt throughout: every input is already a
// uniformly random key.
//
// Errors wrap the model vocabulary: model.ErrInvalid for bad parameters,
// malformed input and sealed values that do not open (tampered, truncated
// or moved to another record or field); model.ErrUnauthorized when a
// wrapped account key does not open (wrong password or recovery key, or
// tampering). Messages never contain key material.
//
// Key types (MasterKey, AccountKey) print as "[redacted]" with fmt and slog,
// so a stray log line cannot leak them. The package is pure Go, holds no
// state and is safe for concurrent use.
package vault
