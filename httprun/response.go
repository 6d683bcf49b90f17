package httprun

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
)

// readBody reads the body of resp into res: in memory up to MaxMemoryBody,
// else into a new file in BodyDir.
func (r *Runner) readBody(resp *http.Response, res *Result) error {
	wire := &countingReader{r: resp.Body}
	body, encoded := decoder(resp.Header.Get("Content-Encoding"), wire)
	limit := r.opts.MaxMemoryBody
	var buf bytes.Buffer
	if !encoded && resp.ContentLength > 0 && resp.Request.Method != http.MethodHead {
		buf.Grow(int(min(resp.ContentLength, limit+1, 1<<20))) // a hint only: the server may lie
	}
	n, err := io.CopyN(&buf, body, limit+1)
	defer func() { res.WireSize = wire.n }()
	if err != nil && err != io.EOF {
		return readError(err, wire)
	}
	if n <= limit {
		res.Body = buf.Bytes()
		res.Response.Size = n
		res.Response.Body = res.Body[:min(len(res.Body), model.HistoryBodyLimit)]
		res.Response.Truncated = len(res.Body) > model.HistoryBodyLimit
		return nil
	}
	return r.spill(buf.Bytes(), body, wire, res)
}

// spill writes head and the rest of the body to a new file (mode 0600)
// and keeps the first part in res. On failure the partial file is removed.
func (r *Runner) spill(head []byte, rest io.Reader, wire *countingReader, res *Result) error {
	dir := r.opts.BodyDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return newError(KindBodyFile, err, "cannot save the response body in %q: %s", dir, innermost(err))
	}
	f, err := os.CreateTemp(dir, "response-*.body")
	if err != nil {
		return newError(KindBodyFile, err, "cannot save the response body in %q: %s", dir, innermost(err))
	}
	keep := &capture{max: model.HistoryBodyLimit}
	_, _ = keep.Write(head)
	n, err := f.Write(head)
	if err == nil {
		var m int64
		m, err = io.Copy(io.MultiWriter(f, keep), rest)
		res.Response.Size = int64(n) + m
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name()) // our own partial file, never the user's data
		if wire.err != nil || !isWriteError(err, f.Name()) {
			return readError(err, wire)
		}
		return newError(KindBodyFile, err, "cannot save the response body in %q: %s", dir, innermost(err))
	}
	res.BodyFile = f.Name()
	res.Response.BodyFile = f.Name()
	res.Response.Body = keep.b
	res.Response.Truncated = true
	res.Body = keep.b[:min(len(keep.b), PreviewSize)]
	return nil
}

// isWriteError reports whether err came from writing the file at path.
func isWriteError(err error, path string) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == path
}

// readError tells a transport failure (kept by the counting reader) from
// a corrupt compressed body.
func readError(err error, wire *countingReader) error {
	if wire.err != nil {
		return wire.err
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(KindDecode, err, "the compressed response body is corrupt: %s", innermost(err))
}

// capture keeps the first max bytes written to it.
type capture struct {
	b   []byte
	max int
}

func (c *capture) Write(p []byte) (int, error) {
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// countingReader counts the bytes read from the wire and keeps the first
// error other than EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// decoder returns a reader that decodes a body of the given
// Content-Encoding (gzip or deflate), and whether it decodes; any other
// encoding is read as it is.
func decoder(encoding string, r io.Reader) (io.Reader, bool) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "gzip", "x-gzip":
		return &lazyDecoder{src: r, open: func(br *bufio.Reader) (io.Reader, error) { return gzip.NewReader(br) }}, true
	case "deflate":
		return &lazyDecoder{src: r, open: openDeflate}, true
	}
	return r, false
}

// openDeflate reads zlib-wrapped deflate (what the standard says) or raw
// deflate (what some servers send).
func openDeflate(br *bufio.Reader) (io.Reader, error) {
	h, err := br.Peek(2)
	if err == nil && h[0]&0x0f == 8 && (uint(h[0])<<8|uint(h[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// lazyDecoder opens its decoder at the first read, so an empty body (a
// HEAD, a 204) with a Content-Encoding reads as empty.
type lazyDecoder struct {
	src  io.Reader
	open func(*bufio.Reader) (io.Reader, error)
	dec  io.Reader
}

func (l *lazyDecoder) Read(p []byte) (int, error) {
	if l.dec == nil {
		br := bufio.NewReader(l.src)
		if _, err := br.Peek(1); err != nil {
			return 0, err
		}
		dec, err := l.open(br)
		if err != nil {
			return 0, err
		}
		l.dec = dec
	}
	return l.dec.Read(p)
}

// headerKVs lists the headers sorted by name, each value in order.
func headerKVs(h http.Header) []model.KV {
	keys := make([]string, 0, len(h))
	n := 0
	for k, vs := range h {
		keys = append(keys, k)
		n += len(vs)
	}
	sort.Strings(keys)
	kvs := make([]model.KV, 0, n)
	for _, k := range keys {
		for _, v := range h[k] {
			kvs = append(kvs, model.KV{Key: k, Value: v})
		}
	}
	return kvs
}

// mediaType returns the lowercased media type of a Content-Type value
// (its parameters dropped).
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// isBinary reports whether a body is not text: by its declared media type
// when that says, else by sniffing the first bytes.
func isBinary(declared string, sample []byte) bool {
	switch {
	case declared == "":
	case strings.HasPrefix(declared, "text/") || isTextType(declared):
		return false
	case strings.HasPrefix(declared, "image/"), strings.HasPrefix(declared, "audio/"),
		strings.HasPrefix(declared, "video/"), strings.HasPrefix(declared, "font/"):
		return true
	}
	return sniffBinary(sample)
}

func isTextType(mt string) bool {
	if strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+yaml") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-javascript", "application/x-www-form-urlencoded", "application/graphql",
		"application/x-ndjson", "application/jsonl", "application/yaml", "application/x-yaml",
		"application/toml", "application/sql", "application/csv", "application/x-sh":
		return true
	}
	return false
}

// sniffBinary looks at the first 512 bytes: a known binary signature, a
// control byte or invalid UTF-8 makes it binary.
func sniffBinary(sample []byte) bool {
	if len(sample) == 0 {
		return false
	}
	s := sample[:min(len(sample), 512)]
	if !strings.HasPrefix(http.DetectContentType(s), "text/") {
		return true
	}
	return !utf8.Valid(trimCutRune(s))
}

// trimCutRune drops a multi-byte character cut short at the end of s.
func trimCutRune(s []byte) []byte {
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRune(s[i:]) {
				return s[:i]
			}
			break
		}
	}
	return s
}
