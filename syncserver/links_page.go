package syncserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/courierapp/courier/syncproto"
)

// Bounds of what a link page shows, so a hostile snapshot cannot make a
// page of unbounded depth or length.
const (
	maxPageDepth = 16
	maxPageItems = 2000
	maxPageText  = 2000 // characters of a description or URL
)

// pageItem is one folder or request of a link page.
type pageItem struct {
	Name        string
	Description string
	Folder      bool
	Method      string
	URL         string
	Children    []pageItem
}

// linkPage is what the page template shows.
type linkPage struct {
	Name        string
	Description string
	Items       []pageItem
	// Hidden counts items past the page's bounds; Broken is set when the
	// items could not be read at all.
	Hidden      int
	Broken      bool
	URL         string
	DownloadURL string
	OpenURL     template.URL
}

// pmItem and pmCollection are the parts of a Postman collection the page
// reads; every field is raw so an odd shape loses only that field.
type pmItem struct {
	Name        json.RawMessage   `json:"name"`
	Description json.RawMessage   `json:"description"`
	Item        []json.RawMessage `json:"item"`
	Request     json.RawMessage   `json:"request"`
}

type pmCollection struct {
	Info struct {
		Name        json.RawMessage `json:"name"`
		Description json.RawMessage `json:"description"`
	} `json:"info"`
	Item []json.RawMessage `json:"item"`
}

// text returns a JSON string, the "content" (or "raw") of an object, or
// "" for anything else; cut to maxPageText characters.
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	switch raw[0] {
	case '"':
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
	case '{':
		var obj struct {
			Content json.RawMessage `json:"content"`
			Raw     json.RawMessage `json:"raw"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return ""
		}
		var c, r string
		json.Unmarshal(obj.Content, &c)
		json.Unmarshal(obj.Raw, &r)
		s = c + r
	default:
		return ""
	}
	return clip(s)
}

// newLinkPage reads the snapshot for the page: in one pass when the
// items have the usual shape, else item by item, skipping odd ones.
func newLinkPage(snapshot []byte) linkPage {
	var fast fastCollection
	if err := json.Unmarshal(snapshot, &fast); err == nil {
		p := linkPage{Name: clip(string(fast.Info.Name)), Description: clip(string(fast.Info.Description))}
		budget := maxPageItems
		p.Items = fastItems(fast.Item, 0, &budget)
		p.Hidden = max(-budget, 0)
		return p
	}
	var c pmCollection
	if err := json.Unmarshal(snapshot, &c); err != nil {
		// Validated at publish time, so only items of an odd shape
		// fail here: show the name at least.
		var head struct {
			Info struct{ Name json.RawMessage }
		}
		json.Unmarshal(snapshot, &head)
		return linkPage{Name: text(head.Info.Name), Broken: true}
	}
	p := linkPage{Name: text(c.Info.Name), Description: text(c.Info.Description)}
	budget := maxPageItems
	p.Items = pageItems(c.Item, 0, &budget)
	p.Hidden = max(-budget, 0)
	return p
}

// flexText decodes a JSON string, or the "content" (or "raw") of an
// object, and ignores any other shape instead of failing.
type flexText string

func (t *flexText) UnmarshalJSON(b []byte) error {
	*t = flexText(text(b))
	return nil
}

// fastRequest is a request given as a URL string or as an object.
type fastRequest struct {
	Method, URL string
	Set         bool
}

func (r *fastRequest) UnmarshalJSON(b []byte) error {
	r.Method, r.URL = requestLine(b)
	r.Set = r.Method != ""
	return nil
}

type fastItem struct {
	Name        flexText     `json:"name"`
	Description flexText     `json:"description"`
	Item        []fastItem   `json:"item"`
	Request     *fastRequest `json:"request"`
}

type fastCollection struct {
	Info struct {
		Name        flexText `json:"name"`
		Description flexText `json:"description"`
	} `json:"info"`
	Item []fastItem `json:"item"`
}

// clip cuts s to maxPageText characters.
func clip(s string) string {
	if r := []rune(s); len(r) > maxPageText {
		return string(r[:maxPageText]) + "…"
	}
	return s
}

// fastItems is pageItems for decoded items.
func fastItems(items []fastItem, depth int, budget *int) []pageItem {
	var out []pageItem
	for _, it := range items {
		*budget--
		if *budget < 0 || depth >= maxPageDepth {
			continue
		}
		pi := pageItem{Name: clip(string(it.Name)), Description: clip(string(it.Description))}
		if it.Item != nil || it.Request == nil || !it.Request.Set {
			pi.Folder = true
			pi.Children = fastItems(it.Item, depth+1, budget)
		} else {
			pi.Method, pi.URL = it.Request.Method, clip(it.Request.URL)
		}
		out = append(out, pi)
	}
	return out
}

// pageItems converts raw items, spending one unit of budget per item; past
// the budget or maxPageDepth items are only counted (budget goes below 0).
func pageItems(raws []json.RawMessage, depth int, budget *int) []pageItem {
	var out []pageItem
	for _, raw := range raws {
		*budget--
		if *budget < 0 || depth >= maxPageDepth {
			continue
		}
		var it pmItem
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		pi := pageItem{Name: text(it.Name), Description: text(it.Description)}
		if it.Item != nil || len(it.Request) == 0 {
			pi.Folder = true
			pi.Children = pageItems(it.Item, depth+1, budget)
		} else {
			pi.Method, pi.URL = requestLine(it.Request)
		}
		out = append(out, pi)
	}
	return out
}

// requestLine returns a request's method and URL: a request may be a bare
// URL string, and a URL may be a string or an object with "raw".
func requestLine(raw json.RawMessage) (method, u string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", ""
	}
	if raw[0] == '"' {
		return "GET", text(raw)
	}
	var r struct {
		Method flexText `json:"method"`
		URL    flexText `json:"url"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &r) != nil {
		return "", ""
	}
	method = strings.ToUpper(string(r.Method))
	if method == "" {
		method = "GET"
	}
	if len(method) > 16 {
		method = method[:16]
	}
	return method, string(r.URL)
}

const pageCSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:960px;margin:0 auto;padding:24px}
h1{margin:0 0 8px;font-size:28px}
.desc{white-space:pre-wrap;color:#454d5d}
.actions{margin:16px 0 24px;display:flex;gap:12px;flex-wrap:wrap}
.btn{display:inline-block;padding:8px 16px;border-radius:6px;background:#2563eb;color:#fff;text-decoration:none;font-weight:600}
.btn.alt{background:#fff;color:#2563eb;border:1px solid #2563eb}
ul{list-style:none;padding-left:20px;margin:0}
main>ul{padding-left:0}
li{margin:4px 0}
.folder>.name{font-weight:600}
.req{display:flex;gap:8px;align-items:baseline;background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:6px 10px}
.method{font:600 12px/1.6 ui-monospace,monospace;min-width:64px;color:#0f766e}
.url{font:13px ui-monospace,monospace;color:#454d5d;word-break:break-all}
.note{color:#6b7280;font-size:13px}
code{font:13px ui-monospace,monospace;word-break:break-all}`

// pageCSP allows the page's one stylesheet and nothing else: no script,
// no image, no frame, no form.
var pageCSP = func() string {
	h := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

var linkPageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Name}} · Courier</title>
<style>{{.CSS}}</style></head>
<body><main>
{{with .Page}}<h1>{{.Name}}</h1>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
<div class="actions"><a class="btn" href="{{.DownloadURL}}" download>Download</a>
<a class="btn alt" href="{{.OpenURL}}">Open in Courier</a></div>
<p class="note">Postman Collection v2.1 · <code>{{.URL}}</code></p>
{{if .Broken}}<p class="note">The requests of this collection cannot be listed here; download it to see them.</p>{{end}}
{{template "items" .Items}}
{{if .Hidden}}<p class="note">… and {{.Hidden}} more items: download the collection to see them all.</p>{{end}}{{end}}
</main></body></html>
{{define "items"}}{{if .}}<ul>{{range .}}{{if .Folder}}<li class="folder"><span class="name">{{.Name}}</span>{{template "items" .Children}}</li>{{else}}<li class="req" title="{{.Description}}"><span class="method">{{.Method}}</span><span class="name">{{.Name}}</span><span class="url">{{.URL}}</span></li>{{end}}{{end}}</ul>{{end}}{{end}}`))

var errorPageTmpl = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Courier</title><style>{{.CSS}}</style></head>
<body><main><h1>{{.Title}}</h1><p class="desc">{{.Message}}</p></main></body></html>`))

func setPageHeaders(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
}

// writeLinkPage renders the page of link l.
func (s *Server) writeLinkPage(w http.ResponseWriter, r *http.Request, l Link, token string) {
	p := newLinkPage(l.Snapshot)
	if p.Name == "" {
		p.Name = l.Name
	}
	p.URL = s.linkURL(token)
	p.DownloadURL = p.URL + "?" + syncproto.LinkDownloadParam + "=1"
	p.OpenURL = openInCourier(p.URL)
	var buf bytes.Buffer
	err := linkPageTmpl.Execute(&buf, struct {
		Name string
		CSS  template.CSS
		Page linkPage
	}{p.Name, template.CSS(pageCSS), p})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setPageHeaders(w, http.StatusOK)
	w.Write(buf.Bytes())
}

// writeErrorPage answers err as a small page with the status of its code.
func (s *Server) writeErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	var pe *syncproto.Error
	var rl *rateLimitedError
	title, msg, status := "Something went wrong", "The server could not show this link now; try again later.", http.StatusInternalServerError
	switch {
	case errors.As(err, &rl):
		secs := int((rl.RetryAfter.Seconds()) + 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		title, msg, status = "Too many requests", "Try again in "+strconv.Itoa(secs)+" s.", http.StatusTooManyRequests
	case errors.As(err, &pe) && pe.Code == syncproto.CodeNotFound:
		title, msg, status = "Link not found", pe.Message, http.StatusNotFound
	default:
		s.log.Error("request failed", "route", r.Pattern, "err", err)
	}
	setPageHeaders(w, status)
	errorPageTmpl.Execute(w, struct {
		Title, Message string
		CSS            template.CSS
	}{title, msg, template.CSS(pageCSS)})
}
