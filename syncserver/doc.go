// Package syncserver is Courier's sync server: the account API over HTTPS
// (sign-up, email confirmation, prelogin, sign-in, sessions, password
// change and reset, account deletion), the mailers that send its emails
// (SMTP and a dev mailbox), per-IP and per-identifier rate limits, the dev
// certificate authority, metrics, and the Storage interface that backends
// (boltstore, later pgstore) implement and storetest checks, with the
// SyncStorage half that the sync endpoint will use.
//
// The server is built from a Config with New, serves with Run and stops
// with Close; cmd/courier-server only turns flags into a Config.
package syncserver
