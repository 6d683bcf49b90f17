package app

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/courierapp/courier/model"
)

// Finding is one value of a collection that looks like a credential, shown
// to the owner before the collection is published.
type Finding struct {
	// Where names the item and the place in it: `request "Login" ›
	// header Authorization`.
	Where string
	// What says what it looks like: "Authorization header", "token in
	// the URL query", "bearer auth with a token", ...
	What string
	// Preview is the start of the value, the rest masked.
	Preview string
}

// templateRE matches a {{variable}} reference.
var templateRE = regexp.MustCompile(`\{\{[^{}]*\}\}`)

// sensitiveNameRE matches names of parameters, fields, headers and
// variables that usually hold a credential.
var sensitiveNameRE = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|passwd|pwd|api[-_]?key|apikey|access[-_]?key|private[-_]?key|client[-_]?secret|signature|^sig$|^key$|^auth$|session[-_]?id|credential|cookie)`)

// credentialHeaderRE matches header names that carry credentials.
var credentialHeaderRE = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|x-access-token|x-csrf-token)$`)

// tokenValueRE matches values shaped like well-known tokens: JWTs, GitHub,
// Slack, Stripe, AWS, OpenAI and Google keys, bearer credentials.
var tokenValueRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|[rs]k_(live|test)_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}`)

// bodyPairRE matches `"name": "value"` in JSON and `name=value` in form
// or text bodies, for checking the name.
var bodyPairRE = regexp.MustCompile(`"([^"\\]{1,64})"\s*:\s*"((?:[^"\\]|\\.){1,1000})"|(?:^|[&\s?])([A-Za-z0-9_.-]{1,64})=([^&\s]{1,1000})`)

// literal returns v without {{variable}} references and surrounding
// space: what is published as is. A value made only of references
// publishes no credential itself.
func literal(v string) string {
	return strings.TrimSpace(templateRE.ReplaceAllString(v, ""))
}

// preview shows enough of a credential to tell which it is: a quarter of
// its characters, at most four (the "ghp_" or "Bear" of a long token),
// none of one shorter than four.
func preview(v string) string {
	r := []rune(strings.TrimSpace(v))
	n := min(4, len(r)/4)
	if n == 0 {
		return strings.Repeat("•", len(r))
	}
	return string(r[:n]) + "…"
}

// authSchemeRE is the scheme word of an Authorization value.
var authSchemeRE = regexp.MustCompile(`(?i)^(bearer|basic|token|digest|apikey|hmac|aws4-hmac-sha256|negotiate|ntlm)\b`)

// ScanCredentials lists what looks like a credential in the collection's
// auth, its folders' and requests' auth, headers, URL queries and bodies,
// and the values of its variables that are not secret (secret ones are
// never published). Values made only of {{variable}} references are not
// findings: the variable is checked instead.
func ScanCredentials(c model.Collection, folders []model.Folder, reqs []model.Request, vars []model.Variable) []Finding {
	var s scanner
	s.auth("collection "+quote(c.Name), c.Auth)
	for _, f := range folders {
		s.auth("folder "+quote(f.Name), f.Auth)
	}
	for _, r := range reqs {
		s.request(r)
	}
	for _, v := range vars {
		if !v.Secret && literal(v.Value) != "" && (sensitiveNameRE.MatchString(v.Name) || tokenValueRE.MatchString(v.Value)) {
			s.add("variable "+quote(v.Name), "a variable that looks like a credential and is not marked secret", v.Value)
		}
	}
	return s.out
}

type scanner struct{ out []Finding }

func (s *scanner) add(where, what, value string) {
	s.out = append(s.out, Finding{Where: where, What: what, Preview: preview(value)})
}

func quote(name string) string { return `"` + name + `"` }

func (s *scanner) request(r model.Request) {
	item := "request " + quote(r.Name)
	s.auth(item, &r.Auth)
	for _, h := range r.Headers {
		v := literal(h.Value)
		switch {
		case v == "":
		case credentialHeaderRE.MatchString(h.Key):
			if strings.EqualFold(h.Key, "authorization") && literal(authSchemeRE.ReplaceAllString(v, "")) == "" {
				continue // "Bearer {{token}}": the variable is checked
			}
			s.add(item+" › header "+h.Key, h.Key+" header", h.Value)
		case sensitiveNameRE.MatchString(h.Key) || tokenValueRE.MatchString(v):
			s.add(item+" › header "+h.Key, "header with a token-like value", h.Value)
		}
	}
	s.query(item, r.URL)
	s.body(item, r.Body)
}

// query checks the URL's query parameters by name and value.
func (s *scanner) query(item, rawURL string) {
	_, q, ok := strings.Cut(rawURL, "?")
	if !ok {
		return
	}
	q, _, _ = strings.Cut(q, "#")
	for _, pair := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if literal(v) == "" {
			continue
		}
		if sensitiveNameRE.MatchString(k) || tokenValueRE.MatchString(v) {
			s.add(item+" › URL query "+k, "token, key, secret or password in the URL query", v)
		}
	}
}

// authValueKeys are the params of each auth type (Postman's names) that
// hold the secret part; other types are checked by param name.
var authValueKeys = map[string][]string{
	model.AuthBearer: {"token"},
	model.AuthBasic:  {"password"},
	model.AuthAPIKey: {"value"},
	"digest":         {"password"},
	"ntlm":           {"password"},
	"oauth1":         {"consumerSecret", "token", "tokenSecret", "privateKey"},
	"oauth2":         {"accessToken", "refreshToken", "clientSecret", "password"},
	"awsv4":          {"secretKey", "sessionToken"},
	"hawk":           {"authKey"},
	"edgegrid":       {"accessToken", "clientToken", "clientSecret"},
	"jwt":            {"secret", "privateKey"},
	"asap":           {"privateKey"},
}

// settingNameRE matches auth param names that name a setting rather than
// hold a secret (tokenType, addTokenTo, signatureMethod, ...).
var settingNameRE = regexp.MustCompile(`(Type|Method|To|Params|Encoded|Url|URL|Location|Name|Prefix)$`)

func (s *scanner) auth(item string, a *model.Auth) {
	if a == nil || a.Type == model.AuthInherit || a.Type == model.AuthNone {
		return
	}
	keys, known := authValueKeys[a.Type]
	for _, p := range a.Params {
		secret := known && contains(keys, p.Key) ||
			!known && sensitiveNameRE.MatchString(p.Key) && !settingNameRE.MatchString(p.Key)
		if v := a.Param(p.Key); secret && literal(v) != "" {
			s.add(item+" › auth "+a.Type+" "+p.Key, a.Type+" auth with a value in "+p.Key, v)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// body checks form fields by name and value, and raw bodies for
// name/value pairs with a credential's name and for token-shaped values.
func (s *scanner) body(item string, b model.Body) {
	for _, kvs := range [][]model.KV{b.URLEncoded, b.FormData} {
		for _, kv := range kvs {
			if v := literal(kv.Value); v != "" && (sensitiveNameRE.MatchString(kv.Key) || tokenValueRE.MatchString(v)) {
				s.add(item+" › body field "+kv.Key, "token-like value in the body", kv.Value)
			}
		}
	}
	raw := b.Raw
	if b.GraphQL != nil {
		raw += "\n" + b.GraphQL.Variables
	}
	for _, m := range bodyPairRE.FindAllStringSubmatch(raw, 50) {
		name, value := m[1]+m[3], m[2]+m[4]
		if literal(value) != "" && sensitiveNameRE.MatchString(name) {
			s.add(item+" › body "+name, "token-like value in the body", value)
			raw = strings.Replace(raw, value, "", 1) // counted once
		}
	}
	if t := tokenValueRE.FindString(templateRE.ReplaceAllString(raw, "")); t != "" {
		s.add(item+" › body", "token-like value in the body", t)
	}
}
