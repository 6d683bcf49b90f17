package postman

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/courierapp/courier/model"
)

// LooksLikeCurl reports whether s (for example text pasted into the URL
// bar) is a cURL command rather than a URL.
func LooksLikeCurl(s string) bool { return isCurl([]byte(s)) }

// ParseCurl turns a cURL command line (bash quoting, line continuations)
// into a request. It understands -X, -H, -d/--data/--data-raw/
// --data-binary/--data-ascii, --data-urlencode, -F/--form, -u, -A, -e, -b,
// -G, -I, --url, and maps -k to strictSSL: false and -L to
// followRedirects: true (protocolProfileBehavior in Extra); --compressed
// and output options are accepted and ignored. Errors wrap
// model.ErrInvalid.
func ParseCurl(cmd string) (model.Request, error) {
	args, err := shellSplit(cmd)
	if err != nil {
		return model.Request{}, err
	}
	if len(args) > 0 && args[0] == "$" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] != "curl" {
		return model.Request{}, fmt.Errorf("curl: the command does not start with curl: %w", model.ErrInvalid)
	}
	p := &curlParse{}
	if err := p.parse(args[1:]); err != nil {
		return model.Request{}, err
	}
	return p.request()
}

type curlParse struct {
	method     string
	url        string
	headers    []model.KV
	data       []string // -d parts, joined with &
	binaryFile string
	urlencoded []model.KV
	form       []model.KV
	user       string
	hasUser    bool
	get, head  bool
	ppb        obj // protocolProfileBehavior
}

// curlArgOpts are the options that take a value.
var curlArgOpts = map[string]string{
	"-X": "request", "--request": "request", "-H": "header", "--header": "header",
	"-d": "data", "--data": "data", "--data-ascii": "data", "--data-raw": "data-raw", "--data-binary": "data-binary",
	"--data-urlencode": "data-urlencode", "-F": "form", "--form": "form", "--form-string": "form-string",
	"-u": "user", "--user": "user", "-A": "agent", "--user-agent": "agent", "-e": "referer", "--referer": "referer",
	"-b": "cookie", "--cookie": "cookie", "--url": "url",
	// Accepted and ignored.
	"-o": "", "--output": "", "-m": "", "--max-time": "", "--connect-timeout": "", "-x": "", "--proxy": "",
	"-w": "", "--write-out": "", "--retry": "", "--cacert": "", "--cert": "", "-E": "", "--key": "", "-c": "",
	"--cookie-jar": "", "--resolve": "", "-T": "", "--upload-file": "", "--limit-rate": "", "-r": "", "--range": "",
	"--max-redirs": "", "--proto": "", "--interface": "", "-K": "", "--config": "", "--oauth2-bearer": "bearer",
}

func (p *curlParse) parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if p.url == "" {
				p.url = a
			}
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			if n, v, ok := strings.Cut(a, "="); ok {
				if _, known := curlArgOpts[n]; known {
					name, val, hasVal = n, v, true
				}
			}
		} else if len(a) > 2 {
			if _, takes := curlArgOpts[a[:2]]; takes {
				name, val, hasVal = a[:2], a[2:], true
			} else {
				for _, c := range a[1:] { // -sSLk: a run of flags
					p.flag("-" + string(c))
				}
				continue
			}
		}
		what, takes := curlArgOpts[name]
		if !takes {
			p.flag(name)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("curl: option %s needs a value: %w", name, model.ErrInvalid)
			}
			i++
			val = args[i]
		}
		if err := p.option(what, val); err != nil {
			return err
		}
	}
	if p.url == "" {
		return fmt.Errorf("curl: no URL in the command: %w", model.ErrInvalid)
	}
	return nil
}

func (p *curlParse) flag(name string) {
	switch name {
	case "-k", "--insecure":
		p.ppb.set("strictSSL", jbool(false))
	case "-L", "--location":
		p.ppb.set("followRedirects", jbool(true))
	case "-G", "--get":
		p.get = true
	case "-I", "--head":
		p.head = true
	}
}

func (p *curlParse) option(what, val string) error {
	switch what {
	case "request":
		p.method = strings.ToUpper(val)
	case "header":
		k, v, ok := strings.Cut(val, ":")
		if !ok && strings.HasSuffix(val, ";") { // "X-Empty;" sends an empty header
			k, v = strings.TrimSuffix(val, ";"), ""
		}
		p.headers = append(p.headers, model.KV{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	case "data", "data-raw":
		if what == "data" && strings.HasPrefix(val, "@") {
			p.binaryFile = val[1:]
			return nil
		}
		p.data = append(p.data, val)
	case "data-binary":
		if strings.HasPrefix(val, "@") {
			p.binaryFile = val[1:]
			return nil
		}
		p.data = append(p.data, val)
	case "data-urlencode":
		p.urlencoded = append(p.urlencoded, dataURLEncode(val))
	case "form", "form-string":
		p.form = append(p.form, formField(val, what == "form"))
	case "user":
		p.user, p.hasUser = val, true
	case "agent":
		p.headers = append(p.headers, model.KV{Key: "User-Agent", Value: val})
	case "referer":
		p.headers = append(p.headers, model.KV{Key: "Referer", Value: val})
	case "cookie":
		if strings.Contains(val, "=") {
			p.headers = append(p.headers, model.KV{Key: "Cookie", Value: val})
		}
	case "bearer":
		p.headers = append(p.headers, model.KV{Key: "Authorization", Value: "Bearer " + val})
	case "url":
		p.url = val
	}
	return nil
}

func dataURLEncode(val string) model.KV {
	name, content, ok := strings.Cut(val, "=")
	if !ok {
		if n, file, ok := strings.Cut(val, "@"); ok && n != "" {
			return model.KV{Key: n, Type: "file", Src: file}
		}
		return model.KV{Key: val}
	}
	return model.KV{Key: name, Value: content}
}

// formField reads -F name=value, name=@file;type=mime, name=<file.
func formField(val string, special bool) model.KV {
	name, content, _ := strings.Cut(val, "=")
	kv := model.KV{Key: name, Type: "text"}
	if special && strings.HasPrefix(content, "@") {
		kv.Type = "file"
		content = content[1:]
		parts := strings.Split(content, ";")
		kv.Src = strings.Trim(parts[0], `"`)
		for _, attr := range parts[1:] {
			if t, ok := strings.CutPrefix(strings.TrimSpace(attr), "type="); ok {
				kv.ContentType = t
			}
		}
		return kv
	}
	if special {
		if v, t, ok := strings.Cut(content, ";type="); ok {
			content, kv.ContentType = v, t
		}
	}
	kv.Value = strings.Trim(content, `"`)
	return kv
}

func (p *curlParse) request() (model.Request, error) {
	r := model.Request{ID: model.NewID(), Method: p.method, URL: p.url, Headers: p.headers}
	hasBody := len(p.data) > 0 || len(p.urlencoded) > 0 || len(p.form) > 0 || p.binaryFile != ""
	switch {
	case p.get && len(p.data) > 0:
		sep := "?"
		if strings.Contains(r.URL, "?") {
			sep = "&"
		}
		r.URL += sep + strings.Join(p.data, "&")
		hasBody = len(p.urlencoded) > 0 || len(p.form) > 0 || p.binaryFile != ""
	case len(p.form) > 0:
		r.Body = model.Body{Mode: model.BodyFormData, FormData: p.form}
	case p.binaryFile != "":
		r.Body = model.Body{Mode: model.BodyFile, File: p.binaryFile}
	case len(p.urlencoded) > 0:
		r.Body = model.Body{Mode: model.BodyURLEncoded, URLEncoded: append(formPairs(p.data), p.urlencoded...)}
	case len(p.data) > 0:
		r.Body = dataBody(strings.Join(p.data, "&"), headerValue(p.headers, "Content-Type"))
	}
	if r.Method == "" {
		switch {
		case p.head:
			r.Method = "HEAD"
		case hasBody && !p.get:
			r.Method = "POST"
		default:
			r.Method = "GET"
		}
	}
	if p.hasUser {
		u, pw, _ := strings.Cut(p.user, ":")
		r.Auth = model.Auth{Type: model.AuthBasic}
		r.Auth.SetParam("username", u)
		r.Auth.SetParam("password", pw)
	}
	if len(p.ppb) > 0 {
		setExtra(&r.Extra, "protocolProfileBehavior", p.ppb.bytes())
	}
	return r, nil
}

// dataBody makes the body of -d data: urlencoded fields when the content
// type is (or defaults to) a form and the data parses as one, raw text
// otherwise, with the language its content type implies.
func dataBody(data, contentType string) model.Body {
	ct := strings.ToLower(contentType)
	if (ct == "" || strings.Contains(ct, "x-www-form-urlencoded")) && isFormData(data) {
		return model.Body{Mode: model.BodyURLEncoded, URLEncoded: formPairs([]string{data})}
	}
	body := model.Body{Mode: model.BodyRaw, Raw: data}
	switch {
	case strings.Contains(ct, "json"):
		body.Language = model.LangJSON
	case strings.Contains(ct, "xml"):
		body.Language = model.LangXML
	case strings.Contains(ct, "html"):
		body.Language = model.LangHTML
	case strings.Contains(ct, "javascript"):
		body.Language = model.LangJS
	case ct == "" && json.Valid([]byte(data)) && strings.ContainsAny(data[:1], "{["):
		body.Language = model.LangJSON
	}
	return body
}

func isFormData(s string) bool {
	if s == "" || strings.ContainsAny(s, " \n{}[]\"") {
		return false
	}
	for _, part := range strings.Split(s, "&") {
		if !strings.Contains(part, "=") {
			return false
		}
		if _, err := url.QueryUnescape(part); err != nil {
			return false
		}
	}
	return true
}

func formPairs(parts []string) []model.KV {
	var out []model.KV
	for _, s := range parts {
		for _, part := range strings.Split(s, "&") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			kd, err1 := url.QueryUnescape(k)
			vd, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				kd, vd = k, v
			}
			out = append(out, model.KV{Key: kd, Value: vd})
		}
	}
	return out
}

func headerValue(h []model.KV, key string) string {
	for _, kv := range h {
		if !kv.Disabled && strings.EqualFold(kv.Key, key) {
			return kv.Value
		}
	}
	return ""
}

// shellSplit splits a command line as bash would: single quotes, double
// quotes (with \" \\ \$ \` escapes), $'...' strings, backslash escapes and
// backslash-newline continuations. It fails on an unterminated quote.
func shellSplit(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\n' || (s[i+1] == '\r' && i+2 < len(s) && s[i+2] == '\n')):
			if s[i+1] == '\r' {
				i++
			}
			i++ // continuation: the backslash-newline vanishes
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\\':
			inArg = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case c == '\'':
			inArg = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("curl: unterminated single quote at offset %d: %w", i, model.ErrInvalid)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '$' && i+1 < len(s) && s[i+1] == '\'':
			inArg = true
			n, err := ansiQuoted(s[i+2:], &cur)
			if err != nil {
				return nil, fmt.Errorf("curl: at offset %d: %w", i, err)
			}
			i += 1 + n
		case c == '"':
			inArg = true
			n, err := doubleQuoted(s[i+1:], &cur)
			if err != nil {
				return nil, fmt.Errorf("curl: at offset %d: %w", i, err)
			}
			i += n
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// doubleQuoted reads up to the closing quote; it returns the bytes consumed
// including the closing quote.
func doubleQuoted(s string, out *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 < len(s) {
				switch s[i+1] {
				case '"', '\\', '$', '`':
					out.WriteByte(s[i+1])
					i++
					continue
				case '\n':
					i++
					continue
				}
			}
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("unterminated double quote: %w", model.ErrInvalid)
}

// ansiQuoted reads a $'...' string body; it returns the bytes consumed
// including the closing quote.
func ansiQuoted(s string, out *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			return i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			out.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			out.WriteByte('\n')
		case 't':
			out.WriteByte('\t')
		case 'r':
			out.WriteByte('\r')
		case '0':
			out.WriteByte(0)
		default:
			out.WriteByte(s[i])
		}
	}
	return 0, fmt.Errorf("unterminated $' quote: %w", model.ErrInvalid)
}
