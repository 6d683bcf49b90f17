package syncserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// snapshot is a small Postman v2.1 collection named name.
func snapshot(name, desc string) json.RawMessage {
	c := map[string]any{
		"info": map[string]any{"name": name, "description": desc,
			"schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{
			map[string]any{"name": "Users", "item": []any{
				map[string]any{"name": "List users", "request": map[string]any{"method": "GET", "url": map[string]any{"raw": "https://api.example.com/users?page=1"}}},
			}},
			map[string]any{"name": "Create <b>thing</b>", "request": map[string]any{"method": "post", "url": "https://api.example.com/things"}},
			map[string]any{"name": "Bare", "request": "https://api.example.com/bare"},
		},
	}
	b, _ := json.Marshal(c)
	return b
}

// linkEnv is a server with one signed-in account per name.
func linkEnv(t testing.TB, opts ...envOption) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t, append([]envOption{withLimits(syncserver.NoLimits()), withMailer(&discardMailer{})}, opts...)...)
	tokens := map[string]string{}
	for _, name := range []string{"ann", "bob"} {
		pw := newPassword("pw " + name)
		e.createConfirmed(t, name, name+"@example.com", pw)
		in, perr := e.signIn(name, pw, "laptop")
		mustOK(t, "sign in "+name, perr)
		tokens[name] = in.Token
	}
	return e, tokens
}

// get fetches a public path with an Accept header.
func (e *env) get(path, accept string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes()
}

func publicPath(info syncproto.LinkInfo) string {
	u, _ := url.Parse(info.URL)
	return u.Path
}

func TestLinkLifecycle(t *testing.T) {
	e, tok := linkEnv(t)
	snap := snapshot("Pet <Store>", "Line one\n<script>alert(1)</script>")
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snap, Source: "01COLL"})
	mustOK(t, "create", perr)
	if info.ID == "" || len(info.Token) != syncproto.LinkTokenLen || info.URL != e.base+"/c/"+info.Token || info.Name != "Pet <Store>" || info.Size != len(snap) {
		t.Fatalf("create answer = %+v", info)
	}
	path := publicPath(info)

	t.Run("programs get the JSON", func(t *testing.T) {
		for _, accept := range []string{"", "*/*", "application/json", "application/json, text/html;q=0.5"} {
			status, hdr, body := e.get(path, accept)
			if status != 200 || hdr.Get("Content-Type") != "application/json" || !bytes.Equal(body, snap) {
				t.Fatalf("Accept %q: %d %s %q", accept, status, hdr.Get("Content-Type"), body)
			}
		}
	})
	t.Run("browsers get an escaped page with a strict CSP", func(t *testing.T) {
		status, hdr, body := e.get(path, browserAccept)
		page := string(body)
		csp := hdr.Get("Content-Security-Policy")
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("%d %s CSP %q", status, hdr.Get("Content-Type"), csp)
		}
		for _, want := range []string{"Pet &lt;Store&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;", "Users", "List users",
			"https://api.example.com/users?page=1", "POST", "Create &lt;b&gt;thing&lt;/b&gt;", "https://api.example.com/bare",
			">Download</a>", "courier://import?url=" + url.QueryEscape(info.URL), path + "?download=1"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(page, "<script") {
			t.Errorf("page holds a script element:\n%s", page)
		}
	})
	t.Run("download is an attachment", func(t *testing.T) {
		status, hdr, body := e.get(path+"?download=1", browserAccept)
		if status != 200 || !bytes.Equal(body, snap) || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(hdr.Get("Content-Disposition"), "Pet _Store_.postman_collection.json") {
			t.Fatalf("%d %q %q", status, hdr.Get("Content-Disposition"), body)
		}
	})

	list, perr := call[syncproto.LinksResponse](e, "GET", syncproto.PathLinks, tok["ann"], nil)
	mustOK(t, "list", perr)
	if len(list.Links) != 1 || list.Links[0].ID != info.ID || list.Links[0].Token != "" || list.Links[0].Source != "01COLL" {
		t.Fatalf("list = %+v", list)
	}

	snap2 := snapshot("Pet Store v2", "")
	up, perr := call[syncproto.LinkInfo](e, "PUT", syncproto.PathLinks+"/"+info.ID, tok["ann"], syncproto.UpdateLinkRequest{Collection: snap2})
	mustOK(t, "update", perr)
	if up.Name != "Pet Store v2" || up.Token != "" {
		t.Fatalf("update answer = %+v", up)
	}
	if _, _, body := e.get(path, ""); !bytes.Equal(body, snap2) {
		t.Fatalf("after update the link serves %q", body)
	}

	_, perr = call[syncproto.StatusResponse](e, "DELETE", syncproto.PathLinks+"/"+info.ID, tok["ann"], nil)
	mustOK(t, "revoke", perr)
	_, perr = call[json.RawMessage](e, "GET", path, "", nil)
	wantCode(t, "GET after revoke", perr, syncproto.CodeNotFound)
	if status, _, body := e.get(path, browserAccept); status != 404 || !strings.Contains(string(body), "Link not found") {
		t.Fatalf("page after revoke: %d %q", status, body)
	}
	_, perr = call[syncproto.StatusResponse](e, "DELETE", syncproto.PathLinks+"/"+info.ID, tok["ann"], nil)
	wantCode(t, "second revoke", perr, syncproto.CodeNotFound)
}

func TestLinkExpiry(t *testing.T) {
	e, tok := linkEnv(t)
	at := e.clock.Now().Add(time.Hour)
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("Exp", ""), ExpiresAt: &at})
	mustOK(t, "create", perr)
	if info.ExpiresAt == nil || !info.ExpiresAt.Equal(at) {
		t.Fatalf("expires_at = %v, want %v", info.ExpiresAt, at)
	}
	if status, _, _ := e.get(publicPath(info), ""); status != 200 {
		t.Fatalf("before expiry: %d", status)
	}
	e.clock.Advance(time.Hour)
	_, perr = call[json.RawMessage](e, "GET", publicPath(info), "", nil)
	wantCode(t, "GET at expiry", perr, syncproto.CodeNotFound)

	// The owner may extend it, which brings it back, or drop the expiry.
	later := e.clock.Now().Add(time.Hour)
	_, perr = call[syncproto.LinkInfo](e, "PUT", syncproto.PathLinks+"/"+info.ID, tok["ann"], syncproto.UpdateLinkRequest{ExpiresAt: &later})
	mustOK(t, "extend", perr)
	e.clock.Advance(30 * time.Minute)
	if status, _, _ := e.get(publicPath(info), ""); status != 200 {
		t.Fatalf("after extending: %d", status)
	}
	up, perr := call[syncproto.LinkInfo](e, "PUT", syncproto.PathLinks+"/"+info.ID, tok["ann"], syncproto.UpdateLinkRequest{NoExpiry: true})
	mustOK(t, "no expiry", perr)
	e.clock.Advance(1000 * time.Hour)
	if status, _, _ := e.get(publicPath(info), ""); status != 200 || up.ExpiresAt != nil {
		t.Fatalf("without expiry: %d, expires_at %v", status, up.ExpiresAt)
	}

	past := e.clock.Now().Add(-time.Minute)
	_, perr = call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("Old", ""), ExpiresAt: &past})
	wantCode(t, "expiry in the past", perr, syncproto.CodeInvalidInput)
}

func TestLinkSizeLimit(t *testing.T) {
	e, tok := linkEnv(t)
	big := fmt.Appendf(nil, `{"info":{"name":"Big"},"item":[],"pad":"%s"}`, strings.Repeat("x", syncproto.MaxLinkSnapshot))
	_, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: big})
	wantCode(t, "snapshot over the limit", perr, syncproto.CodeTooLarge)
	if !strings.Contains(perr.Message, "5 MiB") {
		t.Fatalf("message %q does not name the limit", perr.Message)
	}
	// Just under the limit is accepted.
	fits := fmt.Appendf(nil, `{"info":{"name":"Fits"},"item":[],"pad":"%s"}`, strings.Repeat("x", syncproto.MaxLinkSnapshot-100))
	_, perr = call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: fits})
	mustOK(t, "snapshot under the limit", perr)
	// A body far past the cap is cut off while it is read.
	status, _, body := e.raw("POST", syncproto.PathLinks, tok["ann"], append([]byte(`{"collection":"`), bytes.Repeat([]byte("a"), syncproto.MaxLinkBody+1)...))
	if status != http.StatusRequestEntityTooLarge || !bytes.Contains(body, []byte(`"too_large"`)) {
		t.Fatalf("huge body: %d %q", status, body)
	}
}

func TestLinkRateLimit(t *testing.T) {
	limits := syncserver.NoLimits()
	limits.LinkGet = syncserver.Rate{Burst: 3, Every: time.Minute}
	e, tok := linkEnv(t, withLimits(limits))
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("Busy", "")})
	mustOK(t, "create", perr)
	for i := range 3 {
		if status, _, _ := e.get(publicPath(info), ""); status != 200 {
			t.Fatalf("GET %d: %d", i, status)
		}
	}
	_, perr = call[json.RawMessage](e, "GET", publicPath(info), "", nil)
	wantCode(t, "4th GET", perr, syncproto.CodeRateLimited)
	if perr.RetryAfter <= 0 {
		t.Fatalf("429 without Retry-After")
	}
	// Unknown tokens spend the same budget, so guessing is limited too.
	if status, hdr, _ := e.get("/c/AAAAAAAAAAAAAAAAAAAAAA", browserAccept); status != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("page past the limit: %d", status)
	}
	e.clock.Advance(time.Minute)
	if status, _, _ := e.get(publicPath(info), ""); status != 200 {
		t.Fatalf("after a minute: %d", status)
	}
}

func TestLinkOfAnotherAccount(t *testing.T) {
	e, tok := linkEnv(t)
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("Ann's", "")})
	mustOK(t, "create", perr)
	_, perr = call[syncproto.LinkInfo](e, "PUT", syncproto.PathLinks+"/"+info.ID, tok["bob"], syncproto.UpdateLinkRequest{Collection: snapshot("Bob was here", "")})
	wantCode(t, "bob updates ann's link", perr, syncproto.CodeNotFound)
	_, perr = call[syncproto.StatusResponse](e, "DELETE", syncproto.PathLinks+"/"+info.ID, tok["bob"], nil)
	wantCode(t, "bob revokes ann's link", perr, syncproto.CodeNotFound)
	list, perr := call[syncproto.LinksResponse](e, "GET", syncproto.PathLinks, tok["bob"], nil)
	mustOK(t, "bob's list", perr)
	if len(list.Links) != 0 {
		t.Fatalf("bob lists %+v", list.Links)
	}
	if _, _, body := e.get(publicPath(info), ""); !bytes.Contains(body, []byte("Ann's")) {
		t.Fatalf("ann's link changed: %q", body)
	}
	_, perr = call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, "", syncproto.CreateLinkRequest{Collection: snapshot("x", "")})
	wantCode(t, "create without a session", perr, syncproto.CodeUnauthorized)
}

func TestLinkRequestsAreValidated(t *testing.T) {
	e, tok := linkEnv(t)
	for name, body := range map[string]string{
		"not an object":     `{"collection":[1,2]}`,
		"no name":           `{"collection":{"info":{},"item":[]}}`,
		"no items":          `{"collection":{"info":{"name":"x"}}}`,
		"v1 schema":         `{"collection":{"info":{"name":"x","schema":"https://schema.getpostman.com/json/collection/v1.0.0/collection.json"},"item":[]}}`,
		"source with space": `{"collection":{"info":{"name":"x"},"item":[]},"source":"a b"}`,
		"no collection":     `{}`,
	} {
		status, _, b := e.raw("POST", syncproto.PathLinks, tok["ann"], []byte(body))
		if status != http.StatusBadRequest || !bytes.Contains(b, []byte("invalid_input")) {
			t.Errorf("%s: %d %q", name, status, b)
		}
	}
}

func TestDeleteAccountEndsItsLinks(t *testing.T) {
	e, tok := linkEnv(t)
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("Gone", "")})
	mustOK(t, "create", perr)
	if err := e.store.DeleteAccount(t.Context(), "id-ann"); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.get(publicPath(info), ""); status != 404 {
		t.Fatalf("link of a deleted account: %d", status)
	}
}

var linkFuzzRoutes = []struct{ method, path string }{
	{"POST", syncproto.PathLinks},
	{"PUT", syncproto.PathLinks + "/ID"},
	{"DELETE", syncproto.PathLinks + "/ID"},
	{"GET", syncproto.PathLinks},
	{"GET", "/c/TOKEN"},
	{"GET", "/c/TOKEN?download=1"},
}

// FuzzLinkHandlers sends fuzzed bodies to the link routes and fuzzed
// snapshots to the public page: no 5xx, errors as JSON, and the page
// never holds a script element.
func FuzzLinkHandlers(f *testing.F) {
	f.Add(uint8(0), []byte(`{"collection":`+string(snapshot("x", "y"))+`}`), false)
	f.Add(uint8(1), []byte(`{"collection":{"info":{"name":"a"},"item":[{"item":[{"request":7}]}]},"no_expiry":true}`), false)
	f.Add(uint8(4), []byte(`{"info":{"name":"<script>x</script>","description":{"content":"<img src=x>"}},"item":[{"name":[],"request":{"url":{"raw":"javascript:alert(1)"}}}]}`), true)
	f.Add(uint8(4), []byte(`{"info":{"name":"deep"},"item":[{"item":[{"item":[{"item":[{"name":"x","request":"u"}]}]}]}]}`), true)
	f.Add(uint8(1), []byte(`{"expires_at":"2000-01-01T00:00:00Z"}`), false)

	e, tok := linkEnv(f)
	h := e.srv.Handler()
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snapshot("fuzz", "")})
	mustOK(f, "create", perr)

	f.Fuzz(func(t *testing.T, route uint8, body []byte, asSnapshot bool) {
		rt := linkFuzzRoutes[int(route)%len(linkFuzzRoutes)]
		path := strings.NewReplacer("ID", info.ID, "TOKEN", info.Token).Replace(rt.path)
		if asSnapshot {
			// Publish body as the snapshot, then view it as a page.
			req, _ := json.Marshal(syncproto.UpdateLinkRequest{Collection: body})
			if !json.Valid(body) {
				req = []byte(`{"collection":` + string(body) + `}`)
			}
			r := httptest.NewRequest("PUT", "https://localhost"+syncproto.PathLinks+"/"+info.ID, bytes.NewReader(req))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+tok["ann"])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			checkAnswer(t, "PUT snapshot", rec, body)
			rt.method, path = "GET", "/c/"+info.Token
		}
		req := httptest.NewRequest(rt.method, "https://localhost"+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok["ann"])
		if asSnapshot {
			req.Header.Set("Accept", browserAccept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") && strings.Contains(strings.ToLower(rec.Body.String()), "<script") {
			t.Fatalf("page holds a script element: %s", rec.Body)
		}
		if rt.method == "GET" && strings.HasPrefix(path, "/c/") && rec.Code == 200 && !asSnapshot {
			return // the snapshot itself, JSON by construction
		}
		checkAnswer(t, rt.method+" "+rt.path, rec, body)
	})
}
