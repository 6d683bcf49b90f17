// Package servertest runs a real sync server for tests: syncserver over
// TLS on loopback with a dev certificate and a bbolt store in a temporary
// directory, its emails captured on a channel and, when asked, an
// in-process OpenID Connect provider (mockoidc) it trusts. It also makes
// confirmed accounts and their sessions, and compares the visible state
// of profiles that sync through it.
//
// It is for tests only: import it from _test.go files, never from the
// application's code. Everything it starts stops when the test ends, and
// a failure to start or stop fails the test.
package servertest
