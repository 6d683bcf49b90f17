// Package syncclient talks to a Courier sync server from the app: a typed
// client for the HTTPS account API of package syncproto (sign-up, email
// confirmation, prelogin, sign-in, sessions, password change and reset,
// account deletion) and, later, the WSS sync engine.
//
// A Client accepts only https:// server URLs and verifies the server's
// certificate against the system roots plus, optionally, one extra CA file
// for self-hosted servers. Every call takes a context and is bounded by a
// time-out. Errors the server answers with come back as *syncproto.Error
// (wrapped with the name of the call), which unwraps to the model error
// vocabulary: errors.Is(err, model.ErrUnauthorized) and the like work, and
// errors.As gives the server's code, message and, for rate limits,
// Retry-After. Failures to reach the server wrap model.ErrUnavailable.
package syncclient
