// Package postman reads and writes Postman's files: collections (v1, v2.0
// and v2.1), environments, globals (object or bare array), Postman data
// dumps and cURL commands, and maps them onto Courier's model.
//
// Import detects the kind of its input and returns a Bundle of domain
// values with fresh IDs (Bundle.Ops turns them into upserts for the
// store). ExportCollection, ExportEnvironment, ExportGlobals, ExportDump
// and ExportCurl write them back.
//
// Round trips are lossless: what Courier does not use (scripts, auth
// types it does not apply, example responses, protocolProfileBehavior,
// Postman's ids, unknown keys at every level) is kept in the model's Extra
// maps, Events and Auth params, and written back unchanged; a value the
// file wrote in another shape than the exporter's (a URL object, a
// description object, a header string) is kept as a shadow and written
// back as long as the user has not changed it (see shadow.go). Exports
// are Collection v2.1: a v2.0 file's auth attributes ({"username": "x"})
// become v2.1 arrays and its schema URL the v2.1 one, and a v1 file
// becomes v2.1 as Postman's own transformer would make it.
//
// Every error wraps a model error: model.ErrInvalid with the place of the
// problem (a JSON path, or a line and column for a syntax error),
// model.ErrTooLarge, or the context's error. Import returns everything or
// nothing.
package postman
