package postman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/courierapp/courier/model"
)

// DefaultMaxSize is the largest file Import reads when Options.MaxSize is 0.
const DefaultMaxSize = 256 << 20

// Options tune Import.
type Options struct {
	// Progress, when set, is called as the file is read with the number of
	// bytes read so far (from the goroutine calling Import).
	Progress func(read int64)
	// MaxSize caps the bytes read; 0 means DefaultMaxSize. A larger input
	// fails with model.ErrTooLarge.
	MaxSize int64
	// After is the order key after which the imported collections and
	// environments are placed ("" places them from the start).
	After string
}

// Import reads one Postman file (a collection v1/v2.0/v2.1, a bare item
// array, an environment, a globals file, a data dump) or a cURL command,
// detects its kind and returns everything it holds, or an error and
// nothing. Errors wrap model.ErrInvalid and name the place of the problem
// (a JSON path such as item[3].request.url; line and column for a syntax
// error), model.ErrTooLarge past Options.MaxSize, or the context's error
// when ctx is cancelled.
func Import(ctx context.Context, r io.Reader, opts Options) (*Bundle, error) {
	data, err := readAll(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	return importOwned(ctx, data, opts)
}

// readAll reads r, reporting progress and stopping when ctx is cancelled.
func readAll(ctx context.Context, r io.Reader, opts Options) ([]byte, error) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok && int64(l.Len()) <= limit {
		buf.Grow(l.Len() + 1)
	} else if s, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := s.Stat(); err == nil && fi.Size() <= limit {
			buf.Grow(int(fi.Size()) + 1)
		}
	}
	chunk := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("import cancelled after %d bytes: %w", buf.Len(), err)
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > limit {
			return nil, fmt.Errorf("import: file larger than %d bytes: %w", limit, model.ErrTooLarge)
		}
		if n > 0 && opts.Progress != nil {
			opts.Progress(int64(buf.Len()))
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("import: read: %w", err)
		}
	}
}

// Detect tells what kind of file data is. It fails with model.ErrInvalid
// (and the line and column of a JSON syntax error) when data is none of
// the kinds Import reads.
func Detect(data []byte) (Kind, error) {
	if isCurl(data) {
		return KindCurl, nil
	}
	c, err := compactJSON(trimBOM(data))
	if err != nil {
		return "", err
	}
	return detectCompact(c)
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

func isCurl(data []byte) bool {
	s := strings.TrimSpace(string(trimBOM(data[:min(len(data), 64)])))
	s = strings.TrimPrefix(s, "$ ")
	return s == "curl" || strings.HasPrefix(s, "curl ") || strings.HasPrefix(s, "curl\t") || strings.HasPrefix(s, "curl\\")
}

func detectCompact(c []byte) (Kind, error) {
	if els, ok := elements(c); ok {
		return detectArray(els)
	}
	ms, ok := members(c)
	if !ok {
		return "", pathErr("", "expected a JSON object or array, found %s", kindOf(c))
	}
	has := func(k string) bool { _, ok := get(ms, k); return ok }
	switch {
	case has("$schema") || (has("properties") && has("type")) || has("definitions"):
		return "", pathErr("", "this is a JSON Schema, not a Postman collection, environment or globals file")
	case has("info") || has("item"):
		return collectionVersion(ms), nil
	case has("collections") || has("environments") || has("headerPresets") || (has("globals") && has("version")):
		return KindDump, nil
	case has("requests") || has("folders") || (has("order") && has("name")):
		return KindCollectionV1, nil
	case has("values"):
		if s, ok := get(ms, "_postman_variable_scope"); ok && scalarText(s) == "globals" {
			return KindGlobals, nil
		}
		return KindEnvironment, nil
	}
	return "", pathErr("", "not a Postman file: no info or item (collection), values (environment, globals), requests (v1 collection) or collections (data dump)")
}

func detectArray(els [][]byte) (Kind, error) {
	if len(els) == 0 {
		return KindGlobals, nil
	}
	ms, ok := members(els[0])
	if !ok {
		return "", pathErr("[0]", "expected an object, found %s", kindOf(els[0]))
	}
	_, hasReq := get(ms, "request")
	_, hasItem := get(ms, "item")
	_, hasKey := get(ms, "key")
	switch {
	case hasReq || hasItem:
		return KindItems, nil
	case hasKey:
		return KindGlobals, nil
	}
	return "", pathErr("[0]", "an array must hold items (with request or item) or variables (with key)")
}

func collectionVersion(ms []member) Kind {
	info, _ := get(ms, "info")
	im, _ := members(info)
	for _, k := range []string{"schema", "_postman_schema"} {
		if s, ok := get(im, k); ok {
			v := scalarText(s)
			if strings.Contains(v, "v2.0.") || strings.Contains(v, "#2.0.") {
				return KindCollectionV20
			}
		}
	}
	return KindCollectionV21
}

// importBytes imports data, which it leaves as it is.
func importBytes(ctx context.Context, data []byte, opts Options) (*Bundle, error) {
	return importOwned(ctx, bytes.Clone(data), opts)
}

// importOwned imports data, overwriting it: the JSON is compacted in place.
func importOwned(ctx context.Context, data []byte, opts Options) (*Bundle, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("import cancelled: %w", err)
	}
	if isCurl(data) {
		r, err := ParseCurl(string(data))
		if err != nil {
			return nil, err
		}
		return &Bundle{Kind: KindCurl, Requests: []model.Request{r}}, nil
	}
	c, err := compactInPlace(ctx, trimBOM(data))
	if err != nil {
		return nil, err
	}
	kind, err := detectCompact(c)
	if err != nil {
		return nil, err
	}
	d := &decoder{ctx: ctx, b: &Bundle{Kind: kind}}
	top, err := model.KeyBetween(opts.After, "")
	if err != nil {
		return nil, fmt.Errorf("import: options: %w", err)
	}
	ms, _ := members(c)
	switch kind {
	case KindCollectionV20, KindCollectionV21:
		err = d.collectionV2(ms, "", top)
	case KindItems:
		err = d.itemArray(c, top)
	case KindCollectionV1:
		err = d.collectionV1(ms, "", top)
	case KindEnvironment:
		err = d.environment(ms, "", top)
	case KindGlobals:
		err = d.globals(c, "")
	case KindDump:
		err = d.dump(ms, opts.After)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("import cancelled: %w", err)
	}
	return d.b, nil
}

// itemArray imports a bare array of v2 items as a collection with no name
// and no info block of its own.
func (d *decoder) itemArray(c []byte, order string) error {
	col := model.Collection{ID: model.NewID(), Order: order}
	setExtra(&col.Extra, keyItemsOnly, []byte("true"))
	if err := d.items2(c, "", col.ID, col.ID); err != nil {
		return err
	}
	d.b.Collections = append(d.b.Collections, col)
	return nil
}

// keyItemsOnly marks a collection imported from a bare item array.
const keyItemsOnly = "courier:items_only"
