package httprun

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"strings"

	"github.com/courierapp/courier/model"
)

// CheckBody returns a warning about the body of req for the user, or "" when
// there is nothing to say. It never blocks sending. It reports a raw JSON
// body (language json, or a JSON Content-Type header) that is not valid
// JSON, with the line and column; a raw XML body that is not well-formed;
// GraphQL variables that are not JSON; a file to send that cannot be read.
// {{variables}} count as valid values.
func CheckBody(req model.Request) string {
	b := req.Body
	if b.Disabled {
		return ""
	}
	switch b.Mode {
	case model.BodyRaw:
		return checkRaw(b, contentType(req.Headers))
	case model.BodyGraphQL:
		if b.GraphQL == nil || strings.TrimSpace(b.GraphQL.Variables) == "" {
			return ""
		}
		if err := checkJSON([]byte(maskVars(b.GraphQL.Variables))); err != nil {
			return "the GraphQL variables are not valid JSON: " + err.Error()
		}
	case model.BodyFile:
		return checkFile(b.File, "the body file")
	case model.BodyFormData:
		for _, kv := range b.FormData {
			if !kv.Disabled && kv.Key != "" && kv.Type == "file" {
				if w := checkFile(kv.Src, fmt.Sprintf("the file of form field %q", kv.Key)); w != "" {
					return w
				}
			}
		}
	}
	return ""
}

func checkRaw(b model.Body, ct string) string {
	if strings.TrimSpace(b.Raw) == "" {
		return ""
	}
	switch {
	case b.Language == model.LangJSON || strings.Contains(ct, "json"):
		if err := checkJSON([]byte(maskVars(b.Raw))); err != nil {
			return "the body is not valid JSON: " + err.Error()
		}
	case b.Language == model.LangXML || strings.Contains(ct, "xml"):
		if err := checkXML(b.Raw); err != nil {
			return "the body is not well-formed XML: " + err.Error()
		}
	}
	return ""
}

func checkFile(path, what string) string {
	if strings.Contains(path, "{{") {
		return ""
	}
	if _, err := statFile(path, what); err != nil {
		return err.Error()
	}
	return ""
}

// contentType returns the value of the last enabled Content-Type header.
func contentType(headers []model.KV) string {
	ct := ""
	for _, kv := range headers {
		if !kv.Disabled && strings.EqualFold(strings.TrimSpace(kv.Key), "Content-Type") {
			ct = strings.ToLower(kv.Value)
		}
	}
	return ct
}

// maskVars replaces every {{reference}} by a JSON number of the same
// length, so a template such as {"id": {{id}}} checks as JSON and the
// positions of errors do not move.
func maskVars(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte('0')
		b.WriteString(strings.Repeat(" ", j+3))
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// checkJSON reports why b is not one JSON value, with the line and column.
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		end := dec.InputOffset()
		if _, err2 := dec.Token(); err2 != io.EOF {
			rest := bytes.TrimLeft(b[end:], " \t\r\n")
			return fmt.Errorf("unexpected text after the JSON value at %s", position(b, int64(len(b)-len(rest))))
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Offset counts the bytes read, the offending one included.
		return fmt.Errorf("%s at %s", strings.TrimPrefix(syn.Error(), "json: "), position(b, syn.Offset-1))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected end of the text at %s", position(b, int64(len(b))))
	}
	return err
}

// position gives the line and column (from 1) of the byte at index off.
func position(b []byte, off int64) string {
	off = min(max(off, 0), int64(len(b)))
	head := b[:off]
	line := bytes.Count(head, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(head, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

func checkXML(s string) error {
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var syn *xml.SyntaxError
			if errors.As(err, &syn) {
				return fmt.Errorf("%s at line %d", syn.Msg, syn.Line)
			}
			return err
		}
	}
}

// PrettyJSON returns b indented by two spaces (a leading UTF-8 byte order
// mark dropped), and false, with b unchanged, when b is not one JSON value.
// Numbers and key order are kept as written.
func PrettyJSON(b []byte) ([]byte, bool) {
	t := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !json.Valid(t) {
		return b, false
	}
	var out bytes.Buffer
	out.Grow(len(t) + len(t)/4)
	if err := json.Indent(&out, bytes.TrimSpace(t), "", "  "); err != nil {
		return b, false
	}
	return out.Bytes(), true
}

// HexPreview returns the classic hex dump (offset, 16 bytes in hex, the
// printable characters) of the first max bytes of b, followed by a line
// saying how many bytes are not shown; max <= 0 dumps all of b.
func HexPreview(b []byte, max int) string {
	if max <= 0 || max >= len(b) {
		return hex.Dump(b)
	}
	return hex.Dump(b[:max]) + fmt.Sprintf("... %d more bytes\n", len(b)-max)
}
