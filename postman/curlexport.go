package postman

import (
	"net/url"
	"strings"

	"github.com/courierapp/courier/model"
)

// ExportCurl writes r as a cURL command, one option per line joined with
// backslash-newline, every value single-quoted for bash. Variables are
// written as they are ({{name}}): resolve them first to get a command that
// runs as is. Disabled headers and fields are left out; basic auth becomes
// --user, bearer and header API keys an Authorization or named header,
// query API keys a query parameter. Other auth types are not expressible
// and are left out. Redirects are followed (--location) unless the
// request's protocolProfileBehavior turns them off; strictSSL: false adds
// --insecure.
func ExportCurl(r model.Request) string {
	method := r.Method
	if method == "" {
		method = "GET"
	}
	rawURL := r.URL
	start := "curl --location"
	ppb := rawMap(r.Extra["protocolProfileBehavior"])
	if string(ppb["followRedirects"]) == "false" {
		start = "curl"
	}
	if string(ppb["strictSSL"]) == "false" {
		start += " --insecure"
	}
	start += " --request " + shellWord(method) + " "
	lines := []string{start + urlArg(rawURL)}
	headers := r.Headers
	switch r.Auth.Type {
	case model.AuthBasic:
		lines = append(lines, "--user "+shellQuote(r.Auth.Param("username")+":"+r.Auth.Param("password")))
	case model.AuthBearer:
		headers = append(headers, model.KV{Key: "Authorization", Value: "Bearer " + r.Auth.Param("token")})
	case model.AuthAPIKey:
		if r.Auth.Param("in") == "query" {
			lines[0] = start + urlArg(addQuery(rawURL, r.Auth.Param("key"), r.Auth.Param("value")))
		} else {
			headers = append(headers, model.KV{Key: r.Auth.Param("key"), Value: r.Auth.Param("value")})
		}
	}
	if r.Body.Mode == model.BodyGraphQL && headerValue(headers, "Content-Type") == "" {
		headers = append(headers, model.KV{Key: "Content-Type", Value: "application/json"})
	}
	for _, h := range headers {
		if !h.Disabled {
			lines = append(lines, "--header "+shellQuote(h.Key+": "+h.Value))
		}
	}
	lines = append(lines, curlBody(r.Body)...)
	return strings.Join(lines, " \\\n")
}

func addQuery(raw, k, v string) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}

func curlBody(b model.Body) []string {
	if b.Disabled {
		return nil
	}
	var out []string
	switch b.Mode {
	case model.BodyRaw:
		out = append(out, "--data-raw "+shellQuote(b.Raw))
	case model.BodyURLEncoded:
		for _, kv := range b.URLEncoded {
			if !kv.Disabled {
				out = append(out, "--data-urlencode "+shellQuote(kv.Key+"="+kv.Value))
			}
		}
	case model.BodyFormData:
		for _, kv := range b.FormData {
			if kv.Disabled {
				continue
			}
			v := kv.Value
			if kv.Type == "file" {
				v = "@" + kv.Src
			}
			if kv.ContentType != "" {
				v += ";type=" + kv.ContentType
			}
			out = append(out, "--form "+shellQuote(kv.Key+"="+v))
		}
	case model.BodyFile:
		out = append(out, "--data-binary "+shellQuote("@"+b.File))
	case model.BodyGraphQL:
		if b.GraphQL != nil {
			o := obj{{key: "query", val: jstr(b.GraphQL.Query)}}
			if strings.TrimSpace(b.GraphQL.Variables) != "" {
				o.set("variables", compactRaw([]byte(b.GraphQL.Variables)))
			}
			out = append(out, "--data-raw "+shellQuote(string(o.bytes())))
		}
	}
	return out
}

// shellQuote single-quotes s for bash: ' becomes '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// urlArg is the URL argument: quoted, and behind --url when it would
// otherwise read as an option.
func urlArg(u string) string {
	if strings.HasPrefix(u, "-") || u == "" {
		return "--url " + shellQuote(u)
	}
	return shellQuote(u)
}

// shellWord leaves a plain token (GET, PATCH) unquoted and quotes anything else.
func shellWord(s string) string {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return shellQuote(s)
		}
	}
	if s == "" {
		return "''"
	}
	return s
}
