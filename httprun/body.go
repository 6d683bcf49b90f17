package httprun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/courierapp/courier/model"
)

// payload is a request body that can be read again (for a redirect that
// keeps the body).
type payload struct {
	length      int64
	open        func() (io.ReadCloser, error)
	contentType string // sent unless the request sets its own
	force       bool   // replace the request's Content-Type (multipart needs its boundary)
	warnings    []string
}

// setOn sets the Content-Type on h and returns the warnings of the body.
func (p *payload) setOn(h http.Header) []string {
	switch {
	case p.contentType == "":
	case p.force && !strings.Contains(h.Get("Content-Type"), "boundary="):
		if h.Get("Content-Type") != "" {
			p.warnings = append(p.warnings, "the Content-Type header was replaced by "+p.contentType+" (a multipart body needs its boundary)")
		}
		h.Set("Content-Type", p.contentType)
	case h.Get("Content-Type") == "":
		h.Set("Content-Type", p.contentType)
	}
	return p.warnings
}

func bytesPayload(b []byte, contentType string) *payload {
	return &payload{
		length:      int64(len(b)),
		open:        func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		contentType: contentType,
	}
}

// languageTypes are the Content-Types implied by a raw body's language.
var languageTypes = map[string]string{
	model.LangJSON: "application/json",
	model.LangText: "text/plain",
	model.LangXML:  "application/xml",
	model.LangHTML: "text/html",
	model.LangJS:   "application/javascript",
	"":             "text/plain",
}

// buildBody makes the payload of b: an empty one for no body.
func buildBody(b model.Body, rs resolveFunc) (*payload, error) {
	if b.Disabled {
		return &payload{}, nil
	}
	switch b.Mode {
	case model.BodyNone:
		return &payload{}, nil
	case model.BodyRaw:
		s, err := rs(b.Raw, "body", "")
		if err != nil {
			return nil, err
		}
		ct, ok := languageTypes[b.Language]
		if !ok {
			ct = "text/plain"
		}
		if s == "" {
			ct = ""
		}
		return bytesPayload([]byte(s), ct), nil
	case model.BodyURLEncoded:
		return urlencodedBody(b.URLEncoded, rs)
	case model.BodyFormData:
		return multipartBody(b.FormData, rs)
	case model.BodyFile:
		return fileBody(b.File, rs)
	case model.BodyGraphQL:
		return graphQLBody(b.GraphQL, rs)
	}
	return &payload{warnings: []string{fmt.Sprintf("body mode %q is not supported; the request was sent without a body", b.Mode)}}, nil
}

func urlencodedBody(rows []model.KV, rs resolveFunc) (*payload, error) {
	var b strings.Builder
	for _, kv := range rows {
		if kv.Disabled || kv.Key == "" && kv.Value == "" {
			continue
		}
		k, err := rs(kv.Key, "form field name", kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := rs(kv.Value, "form field", kv.Key)
		if err != nil {
			return nil, err
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	return bytesPayload([]byte(b.String()), "application/x-www-form-urlencoded"), nil
}

func graphQLBody(g *model.GraphQLBody, rs resolveFunc) (*payload, error) {
	var q struct {
		Query     string          `json:"query"`
		Variables json.RawMessage `json:"variables,omitempty"`
	}
	if g != nil {
		var err error
		if q.Query, err = rs(g.Query, "GraphQL query", ""); err != nil {
			return nil, err
		}
		vars, err := rs(g.Variables, "GraphQL variables", "")
		if err != nil {
			return nil, err
		}
		if vars = strings.TrimSpace(vars); vars != "" {
			if err := checkJSON([]byte(vars)); err != nil {
				return nil, newError(KindInvalidBody, fmt.Errorf("%w: %w", model.ErrInvalid, err), "the GraphQL variables are not valid JSON: %s", err)
			}
			q.Variables = json.RawMessage(vars)
		}
	}
	b, err := json.Marshal(q)
	if err != nil {
		return nil, newError(KindInvalidBody, err, "cannot encode the GraphQL body: %s", err)
	}
	return bytesPayload(b, "application/json"), nil
}

// fileBody sends the file at path, read anew for every attempt.
func fileBody(path string, rs resolveFunc) (*payload, error) {
	path, err := rs(path, "body file", "")
	if err != nil {
		return nil, err
	}
	size, err := statFile(path, "the body file")
	if err != nil {
		return nil, err
	}
	open := func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, newError(KindBodyFile, err, "cannot read the body file %q: %s", path, innermost(err))
		}
		return f, nil
	}
	return &payload{length: size, open: open, contentType: fileType(path)}, nil
}

// statFile returns the size of the regular file at path.
func statFile(path, what string) (int64, error) {
	if path == "" {
		return 0, newError(KindBodyFile, model.ErrInvalid, "no file chosen for %s", what)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, newError(KindBodyFile, err, "cannot read %s %q: %s", what, path, innermost(err))
	}
	if !fi.Mode().IsRegular() {
		return 0, newError(KindBodyFile, model.ErrInvalid, "cannot send %s %q: not a regular file", what, path)
	}
	return fi.Size(), nil
}

// fileType is the media type of a file by its extension.
func fileType(path string) string {
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// segment is a piece of a multipart body: bytes, or a file of known size.
type segment struct {
	data []byte
	path string
	size int64
}

// multipartBody streams a multipart/form-data body: the files are read
// while sending, never held in memory, and the length is known in advance.
func multipartBody(rows []model.KV, rs resolveFunc) (*payload, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var segs []segment
	for _, kv := range rows {
		if kv.Disabled || kv.Key == "" {
			continue
		}
		name, err := rs(kv.Key, "form field name", kv.Key)
		if err != nil {
			return nil, err
		}
		h := make(textproto.MIMEHeader)
		if kv.Type != "file" {
			if err := textPart(mw, h, name, kv, rs); err != nil {
				return nil, err
			}
			continue
		}
		path, err := rs(kv.Src, "form field", kv.Key)
		if err != nil {
			return nil, err
		}
		size, err := statFile(path, fmt.Sprintf("the file of form field %q", name))
		if err != nil {
			return nil, err
		}
		ct := kv.ContentType
		if ct == "" {
			ct = fileType(path)
		}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(name), quoteEscaper.Replace(filepath.Base(path))))
		h.Set("Content-Type", ct)
		if _, err := mw.CreatePart(h); err != nil {
			return nil, newError(KindInvalidBody, err, "cannot build the form: %s", err)
		}
		segs = append(segs, segment{data: bytes.Clone(buf.Bytes())}, segment{path: path, size: size})
		buf.Reset()
	}
	if err := mw.Close(); err != nil {
		return nil, newError(KindInvalidBody, err, "cannot build the form: %s", err)
	}
	segs = append(segs, segment{data: buf.Bytes()})
	var length int64
	for _, s := range segs {
		length += int64(len(s.data)) + s.size
	}
	return &payload{
		length:      length,
		open:        func() (io.ReadCloser, error) { return &segmentReader{segs: segs}, nil },
		contentType: mw.FormDataContentType(),
		force:       true,
	}, nil
}

func textPart(mw *multipart.Writer, h textproto.MIMEHeader, name string, kv model.KV, rs resolveFunc) error {
	v, err := rs(kv.Value, "form field", kv.Key)
	if err != nil {
		return err
	}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, quoteEscaper.Replace(name)))
	if kv.ContentType != "" {
		h.Set("Content-Type", kv.ContentType)
	}
	w, err := mw.CreatePart(h)
	if err == nil {
		_, err = io.WriteString(w, v)
	}
	if err != nil {
		return newError(KindInvalidBody, err, "cannot build the form: %s", err)
	}
	return nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "%0D", "\n", "%0A")

// segmentReader reads the segments in turn, opening each file when it is
// reached and reading exactly the size it had when the body was built.
type segmentReader struct {
	segs []segment
	cur  io.Reader
	file *os.File
}

func (s *segmentReader) Read(p []byte) (int, error) {
	for {
		if s.cur != nil {
			n, err := s.cur.Read(p)
			if err != io.EOF {
				return n, err
			}
			if err := s.endSegment(); err != nil {
				return n, err
			}
			if n > 0 {
				return n, nil
			}
		}
		if len(s.segs) == 0 {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
}

// next starts the first remaining segment.
func (s *segmentReader) next() error {
	seg := s.segs[0]
	s.segs = s.segs[1:]
	if seg.path == "" {
		s.cur = bytes.NewReader(seg.data)
		return nil
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return newError(KindBodyFile, err, "cannot read the form file %q: %s", seg.path, innermost(err))
	}
	s.file = f
	s.cur = &exactReader{r: io.LimitReader(f, seg.size), left: seg.size, path: seg.path}
	return nil
}

func (s *segmentReader) endSegment() error {
	s.cur = nil
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

func (s *segmentReader) Close() error {
	s.segs = nil
	return s.endSegment()
}

// exactReader fails when a file turns out shorter than when it was sized.
type exactReader struct {
	r    io.Reader
	left int64
	path string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, newError(KindBodyFile, io.ErrUnexpectedEOF, "the form file %q shrank while it was being sent", e.path)
	}
	return n, err
}
