package syncserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// handlerFunc is an API handler: it writes a success answer itself or
// returns an error, which api turns into the JSON error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// rateLimitedError asks the client to come back after RetryAfter.
type rateLimitedError struct {
	RetryAfter time.Duration
}

func (e *rateLimitedError) Error() string { return "rate limited" }
func (e *rateLimitedError) Unwrap() error { return syncproto.ErrRateLimited }

// apiErr builds an error with a code and a message meant for the caller.
func apiErr(code syncproto.ErrorCode, msg string) error {
	return &syncproto.Error{Code: code, Message: msg}
}

// api adapts h: it caps the body and writes h's error as JSON.
func (s *Server) api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, syncproto.MaxAccountBody)
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError answers err as {"error": {...}}. Errors of the model
// vocabulary carry their own message (validation text written for the
// caller); anything else is logged and answered as "internal".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *syncproto.Error
	var rl *rateLimitedError
	var body syncproto.Error
	switch {
	case errors.As(err, &pe):
		body = syncproto.Error{Code: pe.Code, Message: pe.Message}
	case errors.As(err, &rl):
		secs := int((rl.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		body = syncproto.Error{Code: syncproto.CodeRateLimited, Message: "too many requests; try again in " + strconv.Itoa(max(secs, 1)) + " s"}
	default:
		code := syncproto.CodeFor(err)
		body = syncproto.Error{Code: code, Message: err.Error()}
		if code == syncproto.CodeInternal || code == syncproto.CodeUnavailable {
			s.log.Error("request failed", "route", r.Pattern, "err", err)
			body.Message = "the server could not do this now; try again later"
		}
	}
	writeJSON(w, body.Code.HTTPStatus(), syncproto.ErrorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encode answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeValid decodes the body into v as decode does, then checks it with
// its Validate method; a rule it breaks is an invalid_input error.
func decodeValid(r *http.Request, v interface{ Validate() error }) error {
	if err := decode(r, v); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return invalid(err)
	}
	return nil
}

// decode reads one JSON value of the body into v. It answers 415 for a
// non-JSON content type, 413 past MaxAccountBody, 400 for anything
// malformed.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return apiErr(syncproto.CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(syncproto.CodeTooLarge, fmt.Sprintf("the body exceeds %d bytes", syncproto.MaxAccountBody))
		}
		return apiErr(syncproto.CodeInvalidInput, "the body is not valid JSON of the expected shape: "+jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(syncproto.CodeInvalidInput, "the body holds more than one JSON value")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing input back.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + strconv.Quote(te.Field) + " has the wrong type"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	}
	return "malformed"
}

// invalid turns a validation error into a 400 whose message is the
// validation text (written for the caller).
func invalid(err error) error {
	if errors.Is(err, model.ErrInvalid) {
		return apiErr(syncproto.CodeInvalidInput, err.Error())
	}
	return err
}

// statusRecorder remembers the status a handler wrote, for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts and times every request by route and status, and logs
// it at debug level (the route pattern only: URLs may hold tokens).
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.observe(route, rec.status, d)
		s.log.Debug("request", "route", route, "status", rec.status, "duration", d)
	})
}

// notFound and methodNotAllowed answer the JSON error body.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apiErr(syncproto.CodeNotFound, "no such route: "+r.Method+" "+r.URL.Path))
}

// logAttr wraps a value so it logs as a short hash, never in clear.
func hashAttr(key, v string) slog.Attr {
	return slog.String(key, shortHash(v))
}
