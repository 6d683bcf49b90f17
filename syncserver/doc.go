// Package syncserver is Courier's sync server: the account API over HTTPS
// (sign-up, email confirmation, prelogin, sign-in, sessions, password
// change and reset, account deletion), collection links (links.go: the
// owner's API and the public /c/{token} JSON or page), the mailers that
// send its emails (SMTP and a dev mailbox), per-IP and per-identifier rate limits, the dev
// certificate authority, metrics, and the Storage interface that backends
// (boltstore, later pgstore) implement and storetest checks.
//
// The sync endpoint (syncproto.PathSync, sync.go and hub.go) serves the
// WebSocket protocol of DESIGN.md section 4: each connection's sender
// loop waits on the hub for its account's head to move and pulls the
// changes from SyncStorage, so the hub holds heads and waiters, never
// payloads; pushes are group-committed and durable before anyone sees
// them; session revocations close the session's connections with 4401.
//
// Sign-in with OpenID Connect providers (oidc*.go, Config.OIDC) is the
// authorization code flow with PKCE for a native app: the server holds
// the client secret, the verifier and the nonce, exchanges the code the
// app's loopback redirect received, verifies the ID token (go-oidc:
// signature against the provider's JWKS, issuer, audience, expiry; then
// the nonce and a verified email), and links identities to accounts in
// OIDCStorage. An identity never signs in to an account it is not linked
// to; linking needs a session of that account.
//
// The server is built from a Config with New, serves with Run and stops
// with Close; cmd/courier-server only turns flags into a Config.
package syncserver
