package model

import (
	"encoding/json"
	"time"
)

// KV is one row of a key-value table: a header, a query parameter, a form
// field. Disabled rows are kept but not sent.
type KV struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Disabled    bool   `json:"disabled,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is "text" (the default) or "file" for multipart form fields.
	Type string `json:"type,omitempty"`
	// Src is the local path of a file form field.
	Src string `json:"src,omitempty"`
	// ContentType is the part's Content-Type of a multipart field, if set.
	ContentType string `json:"content_type,omitempty"`
	// Extra keeps what Courier does not use itself (for lossless import/export).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Body modes.
const (
	BodyNone       = ""
	BodyRaw        = "raw"
	BodyURLEncoded = "urlencoded"
	BodyFormData   = "formdata"
	BodyFile       = "file"
	BodyGraphQL    = "graphql"
)

// Raw body languages; each implies a default Content-Type.
const (
	LangText = "text"
	LangJSON = "json"
	LangXML  = "xml"
	LangHTML = "html"
	LangJS   = "javascript"
)

// Body is a request body. Mode selects which of the other fields is used;
// the others are kept so switching modes in the editor loses nothing.
type Body struct {
	Mode       string `json:"mode,omitempty"`
	Raw        string `json:"raw,omitempty"`
	Language   string `json:"language,omitempty"`
	URLEncoded []KV   `json:"urlencoded,omitempty"`
	FormData   []KV   `json:"formdata,omitempty"`
	// File is the local path of a binary body.
	File     string       `json:"file,omitempty"`
	GraphQL  *GraphQLBody `json:"graphql,omitempty"`
	Disabled bool         `json:"disabled,omitempty"`
	// Extra keeps what Courier does not use itself (Postman's options, ...).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// GraphQLBody is a GraphQL query and its variables (a JSON text).
type GraphQLBody struct {
	Query     string `json:"query"`
	Variables string `json:"variables,omitempty"`
}

// Auth types Courier applies itself; any other Postman type is kept as is.
const (
	AuthInherit = ""       // use the parent folder's or collection's auth
	AuthNone    = "noauth" // send no auth, even if a parent has some
	AuthBearer  = "bearer"
	AuthBasic   = "basic"
	AuthAPIKey  = "apikey"
)

// Auth is a request's, folder's or collection's authentication. Params hold
// the attributes of Type in Postman's form (bearer: token; basic: username,
// password; apikey: key, value, in = "header" or "query").
type Auth struct {
	Type   string      `json:"type,omitempty"`
	Params []AuthParam `json:"params,omitempty"`
	// Extra keeps what Courier does not use itself (other types' attributes).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// AuthParam is one attribute of an Auth. Value is any JSON value (usually a
// string), kept verbatim for types Courier does not apply.
type AuthParam struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Type  string          `json:"type,omitempty"`
}

// Param returns the attribute key as a string: the string itself, or the
// JSON text of a non-string value, or "" when absent.
func (a Auth) Param(key string) string {
	for _, p := range a.Params {
		if p.Key == key {
			var s string
			if err := json.Unmarshal(p.Value, &s); err == nil {
				return s
			}
			return string(p.Value)
		}
	}
	return ""
}

// SetParam sets the string attribute key, adding it if absent.
func (a *Auth) SetParam(key, value string) {
	b, _ := json.Marshal(value)
	for i := range a.Params {
		if a.Params[i].Key == key {
			a.Params[i].Value = b
			return
		}
	}
	a.Params = append(a.Params, AuthParam{Key: key, Value: b, Type: "string"})
}

// Collection is a named tree of folders and requests, with its own
// variables (variable records owned by the collection) and auth.
type Collection struct {
	ID          ID                         `json:"-"`
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Auth        *Auth                      `json:"auth,omitempty"`
	Events      json.RawMessage            `json:"events,omitempty"`
	Extra       map[string]json.RawMessage `json:"extra,omitempty"`
	Order       string                     `json:"order,omitempty"`
}

// Folder groups requests and folders inside a collection. Parent is the
// collection or another folder; an item whose parent is gone shows at the
// root of its collection.
type Folder struct {
	ID          ID                         `json:"-"`
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Auth        *Auth                      `json:"auth,omitempty"`
	Events      json.RawMessage            `json:"events,omitempty"`
	Extra       map[string]json.RawMessage `json:"extra,omitempty"`
	Collection  ID                         `json:"collection"`
	Parent      ID                         `json:"parent"`
	Order       string                     `json:"order,omitempty"`
}

// Request is an HTTP request, saved in a collection or open in a tab.
// Collection and Parent are empty for a request that is not saved.
type Request struct {
	ID          ID                         `json:"-"`
	Name        string                     `json:"name"`
	Method      string                     `json:"method"`
	URL         string                     `json:"url"`
	Headers     []KV                       `json:"headers,omitempty"`
	Body        Body                       `json:"body"`
	Auth        Auth                       `json:"auth"`
	Description string                     `json:"description,omitempty"`
	Events      json.RawMessage            `json:"events,omitempty"`
	Extra       map[string]json.RawMessage `json:"extra,omitempty"`
	Collection  ID                         `json:"collection,omitempty"`
	Parent      ID                         `json:"parent,omitempty"`
	Order       string                     `json:"order,omitempty"`
}

// Environment is a named set of variables (variable records it owns).
type Environment struct {
	ID    ID                         `json:"-"`
	Name  string                     `json:"name"`
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
	Order string                     `json:"order,omitempty"`
}

// Variable is one variable of an environment, a collection or the globals
// (Owner is the environment's or collection's ID, or GlobalsID). Each is its
// own record, so two devices editing two variables never collide. A secret
// variable's value is masked in the UI and never published in a link.
type Variable struct {
	ID      ID                         `json:"-"`
	Owner   ID                         `json:"owner"`
	Name    string                     `json:"name"`
	Value   string                     `json:"value"`
	Enabled bool                       `json:"enabled"`
	Secret  bool                       `json:"secret,omitempty"`
	Extra   map[string]json.RawMessage `json:"extra,omitempty"`
	Order   string                     `json:"order,omitempty"`
}

// HeaderPreset is a named list of headers that a request can insert.
type HeaderPreset struct {
	ID      ID     `json:"-"`
	Name    string `json:"name"`
	Headers []KV   `json:"headers,omitempty"`
	Order   string `json:"order,omitempty"`
}

// HistoryBodyLimit is how much of a response body a history entry keeps and
// syncs; a larger body is cut and marked truncated.
const HistoryBodyLimit = 256 << 10

// Default and maximum number of history entries kept.
const (
	DefaultHistoryLimit = 10_000
	MaxHistoryLimit     = 100_000
)

// HistoryEntry is one sent request and what came back.
type HistoryEntry struct {
	ID     ID        `json:"-"`
	SentAt time.Time `json:"sent_at"`
	// Request is the request as edited (variables unresolved), with its
	// saved ID, collection and parent when it came from a collection.
	Request  HistoryRequest `json:"request"`
	Response *Response      `json:"response,omitempty"`
	// Error is the transport error, when no response came back.
	Error string `json:"error,omitempty"`
	// Environment is the environment active when it was sent.
	Environment ID `json:"environment,omitempty"`
}

// HistoryRequest is a Request as stored in a history entry.
type HistoryRequest struct {
	Request
	SavedID ID `json:"saved_id,omitempty"`
	// ResolvedURL is the URL actually sent, variables resolved.
	ResolvedURL string `json:"resolved_url,omitempty"`
	// Truncated says the request was cut to fit the history (see Cap):
	// its body, mostly. Sent again from the history, it sends what is
	// left.
	Truncated bool `json:"truncated,omitempty"`
}

// Timings of one exchange. Durations missing from the exchange (no DNS for
// an IP, no TLS for http, a reused connection) are zero.
type Timings struct {
	DNS       time.Duration `json:"dns"`
	Connect   time.Duration `json:"connect"`
	TLS       time.Duration `json:"tls"`
	FirstByte time.Duration `json:"first_byte"`
	Total     time.Duration `json:"total"`
}

// Response is what a server answered.
type Response struct {
	Status     int     `json:"status"`
	StatusText string  `json:"status_text,omitempty"`
	Proto      string  `json:"proto,omitempty"`
	Headers    []KV    `json:"headers,omitempty"`
	Timings    Timings `json:"timings"`
	// Size is the size of the whole body as received (decoded), in bytes.
	Size int64 `json:"size"`
	// Body holds up to HistoryBodyLimit bytes (or the preview of a body
	// streamed to a file); Truncated says it is not the whole body.
	Body      []byte `json:"body,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// BodyFile is the local file holding the whole body when it was too
	// large to keep in memory; it exists only on the device that sent it.
	BodyFile string `json:"body_file,omitempty"`
	// ContentType is the response's media type, for choosing a viewer.
	ContentType string `json:"content_type,omitempty"`
}

// HistorySummary is the small form of a history entry that lists and
// searches use.
type HistorySummary struct {
	ID       ID            `json:"id"`
	SentAt   time.Time     `json:"sent_at"`
	Method   string        `json:"method"`
	URL      string        `json:"url"`
	Name     string        `json:"name,omitempty"`
	Status   int           `json:"status"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
}

// Summary returns the small form of e.
func (e HistoryEntry) Summary() HistorySummary {
	s := HistorySummary{ID: e.ID, SentAt: e.SentAt, Method: e.Request.Method, URL: e.Request.URL, Name: e.Request.Name, Error: e.Error}
	if e.Response != nil {
		s.Status = e.Response.Status
		s.Duration = e.Response.Timings.Total
	}
	return s
}
