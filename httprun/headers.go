package httprun

import (
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
	"golang.org/x/net/http/httpguts"
)

// ParseHeaderLine parses one header as curl -H takes it: "Name: value"
// (spaces around both trimmed), or "Name;" for a header with an empty value.
// The name may contain {{variables}}. A line without a colon, with an empty
// or invalid name, or with a control character in the value is an error
// wrapping model.ErrInvalid.
func ParseHeaderLine(line string) (model.KV, error) {
	line = strings.TrimRight(line, "\r\n")
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		n, rest, semi := strings.Cut(line, ";")
		if !semi || strings.TrimSpace(rest) != "" {
			return model.KV{}, fmt.Errorf("header %q: no ':' between the name and the value: %w", line, model.ErrInvalid)
		}
		name = n
	}
	kv := model.KV{Key: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
	if err := checkHeader(kv.Key, kv.Value, true); err != nil {
		return model.KV{}, fmt.Errorf("header %q: %w: %w", line, err, model.ErrInvalid)
	}
	return kv, nil
}

// checkHeader reports what makes a header unsendable. With templates set,
// {{variables}} in the name are accepted (they are resolved later).
func checkHeader(name, value string, templates bool) error {
	n := name
	if templates {
		n = stripVars(name)
	}
	switch {
	case name == "":
		return fmt.Errorf("the name is empty")
	case strings.IndexFunc(name, isControl) >= 0:
		// Inside a {{variable}} too: nothing defines such a name.
		return fmt.Errorf("the name %q has a control character", name)
	case n != "" && !httpguts.ValidHeaderFieldName(n):
		return fmt.Errorf("the name %q is not a valid header name", name)
	case !httpguts.ValidHeaderFieldValue(value):
		return fmt.Errorf("the value of %q has a line break or control character", name)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// stripVars returns s without its {{variable}} references (as Resolve
// finds them).
func stripVars(s string) string {
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
		if name := s[i+2 : i+2+j]; name == "" || strings.ContainsAny(name, "{}") {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}
