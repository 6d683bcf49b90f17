package postman

import (
	"bytes"
	"context"
	"fmt"

	"github.com/courierapp/courier/model"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// compacter validates JSON and removes its insignificant whitespace in one
// pass, writing over its own input (the output is never longer). It is
// several times faster than json.Compact on Postman files, whose bulk is
// long strings, and it checks ctx as it goes.
type compacter struct {
	ctx   context.Context
	b     []byte // input, overwritten from the start by the output
	r, w  int    // read and write positions
	depth int
	next  int // read position of the next context check
	// line and lineStart place errors: every newline outside a string is
	// whitespace that space() reads (a string may not hold a raw newline).
	line, lineStart int
}

type syntaxErr struct {
	off int
	msg string
}

func (e *syntaxErr) Error() string { return e.msg }

// compactInPlace compacts data over itself and returns the compact text.
// A syntax error is reported with its line and column (wrapping
// model.ErrInvalid), and data that is empty or does not start as JSON
// does as such; a cancelled ctx with its error.
func compactInPlace(ctx context.Context, data []byte) ([]byte, error) {
	c := &compacter{ctx: ctx, b: data, next: 1 << 20, line: 1}
	err := c.run()
	if err == nil {
		return c.b[:c.w], nil
	}
	if se, ok := err.(*syntaxErr); ok {
		col := se.off - c.lineStart + 1
		return nil, notJSON(data, c.line, col, se.msg)
	}
	return nil, err
}

// notJSON words a syntax error at line and col of data: data that is
// empty, or that does not start with an object or an array (the JSON of
// every Postman file), is not a Postman file at all; other data is JSON
// that breaks at that place.
func notJSON(data []byte, line, col int, why string) error {
	start := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(start) == 0:
		return fmt.Errorf("it is empty, where a Postman file (JSON) or a cURL command was expected: %w", model.ErrInvalid)
	case start[0] != '{' && start[0] != '[':
		sl, sc := 1, 1 // where the text starts
		for _, b := range data[:len(data)-len(start)] {
			sc++
			if b == '\n' {
				sl, sc = sl+1, 1
			}
		}
		return fmt.Errorf("not a Postman file or cURL command: it is not JSON (from line %d, column %d): %w", sl, sc, model.ErrInvalid)
	}
	return fmt.Errorf("not valid JSON at line %d, column %d: %s: %w", line, col, why, model.ErrInvalid)
}

func (c *compacter) run() error {
	c.space()
	if c.r >= len(c.b) {
		return &syntaxErr{c.r, "unexpected end of JSON input"}
	}
	if err := c.value(); err != nil {
		return err
	}
	c.space()
	if c.r < len(c.b) {
		return &syntaxErr{c.r, fmt.Sprintf("invalid character %q after top-level value", c.b[c.r])}
	}
	return nil
}

func (c *compacter) space() {
	for c.r < len(c.b) {
		switch c.b[c.r] {
		case '\n':
			c.r++
			c.line++
			c.lineStart = c.r
		case ' ', '\t', '\r':
			c.r++
		default:
			return
		}
	}
}

func (c *compacter) emit(ch byte) {
	c.b[c.w] = ch
	c.w++
	c.r++
}

func (c *compacter) eof() error { return &syntaxErr{c.r, "unexpected end of JSON input"} }

func (c *compacter) value() error {
	if c.r >= c.next {
		c.next = c.r + 1<<20
		if err := c.ctx.Err(); err != nil {
			return fmt.Errorf("import cancelled: %w", err)
		}
	}
	switch ch := c.b[c.r]; {
	case ch == '{':
		return c.container('}', true)
	case ch == '[':
		return c.container(']', false)
	case ch == '"':
		return c.str()
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	default:
		return &syntaxErr{c.r, fmt.Sprintf("invalid character %q looking for beginning of value", ch)}
	}
}

func (c *compacter) container(end byte, isObj bool) error {
	c.depth++
	if c.depth > maxDepth {
		return &syntaxErr{c.r, "exceeded max depth"}
	}
	c.emit(c.b[c.r])
	c.space()
	if c.r < len(c.b) && c.b[c.r] == end {
		c.emit(end)
		c.depth--
		return nil
	}
	for {
		if c.r >= len(c.b) {
			return c.eof()
		}
		if isObj {
			if c.b[c.r] != '"' {
				return &syntaxErr{c.r, fmt.Sprintf("invalid character %q looking for beginning of object key string", c.b[c.r])}
			}
			if err := c.str(); err != nil {
				return err
			}
			c.space()
			if c.r >= len(c.b) {
				return c.eof()
			}
			if c.b[c.r] != ':' {
				return &syntaxErr{c.r, fmt.Sprintf("invalid character %q after object key", c.b[c.r])}
			}
			c.emit(':')
			c.space()
			if c.r >= len(c.b) {
				return c.eof()
			}
		}
		if err := c.value(); err != nil {
			return err
		}
		c.space()
		if c.r >= len(c.b) {
			return c.eof()
		}
		switch c.b[c.r] {
		case ',':
			c.emit(',')
			c.space()
		case end:
			c.emit(end)
			c.depth--
			return nil
		default:
			what := "array element"
			if isObj {
				what = "object key:value pair"
			}
			return &syntaxErr{c.r, fmt.Sprintf("invalid character %q after %s", c.b[c.r], what)}
		}
	}
}

// str copies a string, checking its escapes and that it holds no control
// characters.
func (c *compacter) str() error {
	start := c.r
	i := c.r + 1
	for {
		if i >= len(c.b) {
			return &syntaxErr{len(c.b), "unexpected end of JSON input"}
		}
		ch := c.b[i]
		switch {
		case ch == '"':
			n := copy(c.b[c.w:], c.b[start:i+1])
			c.w += n
			c.r = i + 1
			return nil
		case ch == '\\':
			if i+1 >= len(c.b) {
				return &syntaxErr{len(c.b), "unexpected end of JSON input"}
			}
			switch c.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(c.b[i+2:]); !ok {
					return &syntaxErr{i + 2, "invalid character in \\u hexadecimal character escape"}
				}
				i += 6
			default:
				return &syntaxErr{i + 1, fmt.Sprintf("invalid character %q in string escape code", c.b[i+1])}
			}
		case ch < 0x20:
			return &syntaxErr{i, fmt.Sprintf("invalid character %q in string literal", ch)}
		default:
			i++
		}
	}
}

func (c *compacter) number() error {
	start := c.r
	i := c.r
	if c.b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(c.b) && c.b[i] >= '0' && c.b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(c.b) && c.b[i] == '0':
		i++
	case digits() == 0:
		return c.numErr(i)
	}
	if i < len(c.b) && c.b[i] == '.' {
		i++
		if digits() == 0 {
			return c.numErr(i)
		}
	}
	if i < len(c.b) && (c.b[i] == 'e' || c.b[i] == 'E') {
		i++
		if i < len(c.b) && (c.b[i] == '+' || c.b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return c.numErr(i)
		}
	}
	c.w += copy(c.b[c.w:], c.b[start:i])
	c.r = i
	return nil
}

func (c *compacter) numErr(i int) error {
	if i >= len(c.b) {
		return &syntaxErr{i, "unexpected end of JSON input"}
	}
	return &syntaxErr{i, fmt.Sprintf("invalid character %q in numeric literal", c.b[i])}
}

func (c *compacter) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if c.r+k >= len(c.b) {
			return &syntaxErr{c.r + k, "unexpected end of JSON input"}
		}
		if c.b[c.r+k] != lit[k] {
			return &syntaxErr{c.r + k, fmt.Sprintf("invalid character %q in literal %s (expecting %q)", c.b[c.r+k], lit, lit[k])}
		}
	}
	c.w += copy(c.b[c.w:], lit)
	c.r += len(lit)
	return nil
}
