// Package httprun executes a model.Request: it resolves {{variables}} from a
// Scope, builds the body (raw, urlencoded, multipart form-data, binary file,
// GraphQL) and the auth (bearer, basic, API key), sends it with net/http
// through one shared, keep-alive Transport, and reads the response with its
// timings (DNS, connect, TLS, first byte, total).
//
// Response bodies up to Options.MaxMemoryBody stay in memory; a larger body
// is streamed to a new file in Options.BodyDir and only its first part is
// kept in memory. Compressed bodies (gzip, deflate) are decoded here, so the
// headers shown are the ones the server sent.
//
// Every error from Send is an *Error with a Kind and a one-line sentence
// meant for the user; it unwraps to the cause and matches model.ErrInvalid
// (bad input) or model.ErrUnavailable (network) with errors.Is.
//
// The package also holds the small helpers the request editor needs:
// ParseQuery and WithQuery for the Params table, ParseHeaderLine, CheckBody,
// PrettyJSON and HexPreview. It imports only the standard library,
// golang.org/x/net and model.
package httprun
