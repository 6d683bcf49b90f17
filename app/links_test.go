package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

func TestScanCredentials(t *testing.T) {
	bearer := func(tok string) model.Auth {
		a := model.Auth{Type: model.AuthBearer}
		a.SetParam("token", tok)
		return a
	}
	basic := model.Auth{Type: model.AuthBasic}
	basic.SetParam("username", "ann")
	basic.SetParam("password", "hunter22")
	apikey := model.Auth{Type: model.AuthAPIKey}
	apikey.SetParam("key", "X-Key")
	apikey.SetParam("value", "abc123")
	oauth := model.Auth{Type: "oauth2"}
	oauth.SetParam("accessToken", "ya29.a0AfH6")
	oauth.SetParam("tokenType", "Bearer")
	other := model.Auth{Type: "custom"}
	other.SetParam("signatureMethod", "HMAC")
	other.SetParam("sharedSecret", "x")
	tests := []struct {
		name string
		req  model.Request
		want string // a substring of the one finding's What; "" for none
	}{
		{"a plain request has none", model.Request{URL: "https://api.example.com/users?page=2"}, ""},
		{"an Authorization header", model.Request{Headers: []model.KV{{Key: "Authorization", Value: "Bearer abc.def"}}}, "Authorization header"},
		{"an Authorization header of a variable only", model.Request{Headers: []model.KV{{Key: "authorization", Value: "Bearer {{token}}"}}}, ""},
		{"an API key header", model.Request{Headers: []model.KV{{Key: "X-API-Key", Value: "k-123"}}}, "X-API-Key header"},
		{"a cookie", model.Request{Headers: []model.KV{{Key: "Cookie", Value: "sid=42"}}}, "Cookie header"},
		{"a JWT in another header", model.Request{Headers: []model.KV{{Key: "X-Thing", Value: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig"}}}, "token-like"},
		{"an ordinary header", model.Request{Headers: []model.KV{{Key: "Accept", Value: "application/json"}}}, ""},
		{"a token in the query", model.Request{URL: "https://x.test/a?access_token=abc&x=1"}, "URL query"},
		{"an api_key in the query", model.Request{URL: "https://x.test/a?api_key=abc"}, "URL query"},
		{"a password in the query", model.Request{URL: "https://x.test/login?user=a&password=p%40ss"}, "URL query"},
		{"a query secret from a variable", model.Request{URL: "https://x.test/a?key={{apiKey}}"}, ""},
		{"a GitHub token as a query value", model.Request{URL: "https://x.test/a?q=ghp_abcdefghijklmnopqrstuvwxyz0123"}, "URL query"},
		{"bearer auth with a token", model.Request{Auth: bearer("abc")}, "bearer auth"},
		{"bearer auth from a variable", model.Request{Auth: bearer("{{token}}")}, ""},
		{"basic auth with a password", model.Request{Auth: basic}, "basic auth with a value in password"},
		{"apikey auth with a value", model.Request{Auth: apikey}, "apikey auth with a value in value"},
		{"oauth2 with an access token, not its type", model.Request{Auth: oauth}, "oauth2 auth with a value in accessToken"},
		{"an unknown auth type by param name", model.Request{Auth: other}, "custom auth with a value in sharedSecret"},
		{"a password in a JSON body", model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: `{"user":"ann","password":"hunter2"}`}}, "body"},
		{"a JSON body of variables", model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: `{"user":"ann","password":"{{pw}}"}`}}, ""},
		{"a token in a form body", model.Request{Body: model.Body{Mode: model.BodyURLEncoded, URLEncoded: []model.KV{{Key: "client_secret", Value: "s"}}}}, "body"},
		{"a key=value token in a text body", model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: "grant_type=x&refresh_token=abc"}}, "body"},
		{"a Stripe key anywhere in a body", model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: "use sk_live_abcdefghijklmnop1234 here"}}, "body"},
		{"an ordinary body", model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: `{"name":"ann","count":3}`}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Name = "R"
			got := app.ScanCredentials(model.Collection{Name: "C"}, nil, []model.Request{tt.req}, nil)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].What, tt.want) || !strings.HasPrefix(got[0].Where, `request "R"`) {
				t.Fatalf("findings %+v, want one saying %q", got, tt.want)
			}
		})
	}
}

func TestScanCredentialsLooksAtParentsAndVariables(t *testing.T) {
	auth := model.Auth{Type: model.AuthBearer}
	auth.SetParam("token", "tok-123456")
	vars := []model.Variable{
		{Name: "apiToken", Value: "abc"},             // a finding
		{Name: "password", Value: "x", Secret: true}, // blanked, not a finding
		{Name: "baseUrl", Value: "https://x.test"},   // ordinary
		{Name: "sessionToken", Value: "{{other}}"},   // a reference only
	}
	got := app.ScanCredentials(model.Collection{Name: "C", Auth: &auth}, []model.Folder{{Name: "F", Auth: &auth}}, nil, vars)
	var wheres []string
	for _, f := range got {
		wheres = append(wheres, f.Where)
		if strings.Contains(f.Preview, "123456") {
			t.Errorf("preview %q shows the whole value", f.Preview)
		}
	}
	want := []string{`collection "C" › auth bearer token`, `folder "F" › auth bearer token`, `variable "apiToken"`}
	if fmt.Sprint(wheres) != fmt.Sprint(want) {
		t.Fatalf("findings at %q, want %q", wheres, want)
	}
}

func TestBlankSecretsEmptiesSecretValuesOnly(t *testing.T) {
	in := []model.Variable{
		{Name: "token", Value: "s3cr3t", Secret: true, Extra: map[string]json.RawMessage{"currentValue": []byte(`"s3cr3t"`), "description": []byte(`"d"`)}},
		{Name: "baseUrl", Value: "https://x.test"},
	}
	out, names := app.BlankSecrets(in)
	if out[0].Value != "" || out[0].Extra["currentValue"] != nil || out[0].Extra["description"] == nil || out[1].Value != "https://x.test" {
		t.Fatalf("blanked = %+v", out)
	}
	if in[0].Value != "s3cr3t" || in[0].Extra["currentValue"] == nil {
		t.Fatal("BlankSecrets changed its input")
	}
	if fmt.Sprint(names) != "[token]" {
		t.Fatalf("names = %v", names)
	}
}

func TestParseOpenURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"courier://import?url=https%3A%2F%2Fsync.example.com%2Fc%2Fabc", "https://sync.example.com/c/abc", ""},
		{"COURIER://import?url=https://x.test/c.json", "https://x.test/c.json", ""},
		{"courier:///import?url=https://x.test/c.json", "https://x.test/c.json", ""},
		{"courier://import?url=http://x.test/c.json", "", "needs url=https"},
		{"courier://import", "", "needs url=https"},
		{"courier://delete?url=https://x.test", "", "only import"},
		{"https://x.test", "", "not a courier:// URL"},
	}
	for _, tt := range tests {
		got, err := app.ParseOpenURL(tt.in)
		if tt.err == "" && (err != nil || got != tt.want) || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, model.ErrInvalid)) {
			t.Errorf("ParseOpenURL(%q) = %q, %v; want %q, error %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// fakeLinkServer is an in-memory link API: the AccountAPI a fake dial hands
// out, with the link calls and FetchURL.
type fakeLinkServer struct {
	mu    sync.Mutex
	links map[string]syncproto.LinkInfo
	snaps map[string][]byte // by URL
	n     int
}

type fakeLinkClient struct {
	app.AccountAPI // nil: only the link calls are used
	s              *fakeLinkServer
	token          string
}

func (c *fakeLinkClient) CreateLink(_ context.Context, r syncproto.CreateLinkRequest) (syncproto.LinkInfo, error) {
	name, err := r.Validate(time.Now())
	if err != nil {
		return syncproto.LinkInfo{}, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.n++
	info := syncproto.LinkInfo{ID: fmt.Sprint("L", c.s.n), Name: name, Source: r.Source, Size: len(r.Collection), ExpiresAt: r.ExpiresAt,
		URL: fmt.Sprintf("https://links.test/c/%d", c.s.n)}
	c.s.snaps[info.URL] = r.Collection
	stored := info
	stored.URL = ""
	c.s.links[info.ID] = stored
	return info, nil
}

func (c *fakeLinkClient) UpdateLink(_ context.Context, id string, r syncproto.UpdateLinkRequest) (syncproto.LinkInfo, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	info, ok := c.s.links[id]
	if !ok {
		return info, fmt.Errorf("link %s: %w", id, model.ErrNotFound)
	}
	if r.Collection != nil {
		info.Size = len(r.Collection)
		c.s.snaps[strings.Replace(id, "L", "https://links.test/c/", 1)] = r.Collection
	}
	if r.ExpiresAt != nil || r.NoExpiry {
		info.ExpiresAt = r.ExpiresAt
	}
	c.s.links[id] = info
	return info, nil
}

func (c *fakeLinkClient) RevokeLink(_ context.Context, id string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.links, id)
	delete(c.s.snaps, strings.Replace(id, "L", "https://links.test/c/", 1))
	return nil
}

func (c *fakeLinkClient) Links(context.Context) ([]syncproto.LinkInfo, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	out := []syncproto.LinkInfo{}
	for i := 1; i <= c.s.n; i++ {
		if l, ok := c.s.links[fmt.Sprint("L", i)]; ok {
			out = append(out, l)
		}
	}
	return out, nil
}

func (c *fakeLinkClient) FetchURL(_ context.Context, u string, maxBytes int64) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	b, ok := c.s.snaps[u]
	if !ok {
		return nil, fmt.Errorf("fetch %s: %w", u, model.ErrNotFound)
	}
	return b, nil
}

// linkSecrets is an app.Secrets in memory.
type linkSecrets struct{ m sync.Map }

func (s *linkSecrets) Get(_ context.Context, k string) ([]byte, error) {
	v, ok := s.m.Load(k)
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", k, model.ErrNotFound)
	}
	return v.([]byte), nil
}
func (s *linkSecrets) Set(_ context.Context, k string, v []byte) error { s.m.Store(k, v); return nil }
func (s *linkSecrets) Delete(_ context.Context, k string) error        { s.m.Delete(k); return nil }

// signedInLinks returns the link use cases of a fresh profile signed in to
// the fake server (the account is remembered as a sign-in leaves it).
func signedInLinks(t *testing.T, srv *fakeLinkServer, clock app.Clock) (*app.App, *app.Links) {
	t.Helper()
	ctx := context.Background()
	core, db := newApp(t, app.Options{Clock: clock})
	secrets := &linkSecrets{}
	acc, err := app.NewAccounts(db, app.AccountsOptions{Secrets: secrets, Dial: func(_, token string) (app.AccountAPI, error) {
		return &fakeLinkClient{s: srv, token: token}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "app.account", app.Account{ServerURL: "https://links.test", AccountID: "A1", Username: "ann", SignedIn: true}); err != nil {
		t.Fatal(err)
	}
	secrets.Set(ctx, "account/A1/token", []byte("tok"))
	links, err := app.NewLinks(core, acc)
	if err != nil {
		t.Fatal(err)
	}
	return core, links
}

func TestLinkPublishFetchImportRoundTrips(t *testing.T) {
	ctx := context.Background()
	srv := &fakeLinkServer{links: map[string]syncproto.LinkInfo{}, snaps: map[string][]byte{}}
	now := time.Now().UTC().Truncate(time.Second)
	core, links := signedInLinks(t, srv, fixedClock{now})
	if _, err := core.Import(ctx, bytes.NewReader(readTestdata(t, "everything.v21.postman_collection.json")), app.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, _ := core.Collections(ctx)
	d, err := links.Draft(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(d.JSON, []byte("s3cr3t")) || fmt.Sprint(d.Blanked) != "[token]" {
		t.Fatalf("the snapshot holds the secret variable's value (blanked %v)", d.Blanked)
	}
	if len(d.Findings) == 0 {
		t.Fatal("the fixture's credentials were not found")
	}
	l, err := links.Create(ctx, d, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if l.URL == "" || l.Collection != cs[0].ID || !l.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("created %+v", l)
	}

	// Another profile imports the link: the same records come out.
	importerCore, importer := signedInLinks(t, srv, fixedClock{now})
	sum, err := importer.ImportURL(ctx, l.URL, app.ImportOptions{})
	if err != nil || len(sum.Collections) != 1 {
		t.Fatalf("ImportURL = %+v, %v", sum, err)
	}
	again, err := importerCore.ExportCollection(ctx, sum.Collections[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, d.JSON) {
		t.Fatalf("the imported link exports differently:\n%s\nvs\n%s", again, d.JSON)
	}

	list, err := links.List(ctx)
	if err != nil || len(list) != 1 || list[0].URL != l.URL || list[0].Collection != cs[0].ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := links.SetExpiry(ctx, l.ID, 0); err != nil {
		t.Fatal(err)
	}
	d2, err := links.DraftUpdate(ctx, l.ID)
	if err != nil || !bytes.Equal(d2.JSON, d.JSON) {
		t.Fatalf("DraftUpdate = %v", err)
	}
	if err := links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.ImportURL(ctx, l.URL, app.ImportOptions{}); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("import of a revoked link: %v", err)
	}
}
