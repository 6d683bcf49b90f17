// Package keyring keeps Courier's device secrets (session tokens and
// account keys) in the operating system's keyring (Secret Service on
// Linux, Keychain on macOS, Credential Manager on Windows) through
// github.com/zalando/go-keyring, and satisfies the app's Secrets port:
//
//	Get(ctx, key) ([]byte, error)
//	Set(ctx, key, value) error
//	Delete(ctx, key) error
//
// Naming: an entry lives under the service given to New (Courier passes
// "courier") with the account name "<profileID>/<key>", for example
// "3f9a0c5e1b7d2a46/account/01HZY.../token". The profile ID is
// ProfileID(profileDir): the first 16 hex digits of the SHA-256 of the
// absolute profile directory when the profile was first opened, so two
// profiles on one machine never share an entry. PinProfileID keeps it in
// the profile folder (file IDFile), so a profile moved or restored to
// another path keeps its entries; a copy of the whole folder shares them. Values are binary and stored base64-encoded (standard
// alphabet, padded), as go-keyring stores strings.
//
// Errors wrap the model vocabulary: model.ErrNotFound for a missing entry
// (from Get and Delete), model.ErrInvalid for an empty key or a profile ID
// containing '/', model.ErrTooLarge when the OS refuses the size, and
// model.ErrUnavailable, with the sentence "the system keyring is not
// available: ...", when no keyring is reachable (no D-Bus session, no
// Secret Service) or it does not answer within the time-out (3 s by
// default; a locked collection can wait on a prompt forever).
//
// On a desktop whose login keyring is locked, the OS shows an unlock
// prompt and the call waits for the person: an interactive app may want a
// longer WithTimeout than a headless run.
//
// A call that times out leaves its goroutine waiting on the OS; a Keyring
// runs one OS call at a time, so at most one such goroutine exists and
// later calls fail with model.ErrUnavailable until it returns.
//
// Memory is an in-memory Secrets for a run without a keyring, and Fallback
// tries the OS keyring first and moves to memory for the rest of the run
// when it is unavailable; Persistent reports which. LoadOrCreateKey keeps
// a random per-profile key (the one sealing the store's secret values) in
// a persistent keyring only. Nothing secret is ever written to a file by
// this package.
//
// The integration test against a real Secret Service is behind the build
// tag keyring_integration and fails when none is reachable. Run it under a
// private D-Bus session with an unlocked gnome-keyring:
//
//	dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//	  go test -tags keyring_integration ./keyring/'
package keyring
