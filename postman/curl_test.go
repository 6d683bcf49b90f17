package postman

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func readCurl(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../testdata/postman/curl", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseCurl(t *testing.T) {
	tests := []struct {
		file  string
		check func(r model.Request) bool
	}{
		{"post-json.sh", func(r model.Request) bool {
			return r.Method == "POST" && r.URL == "https://api.example.com/v1/users?active=true" &&
				len(r.Headers) == 2 && r.Headers[1].Value == "Bearer $TOKEN_NOT_EXPANDED" &&
				r.Body.Mode == model.BodyRaw && r.Body.Raw == `{"name": "Ann O'Neil", "tags": ["a", "b"]}` && r.Body.Language == model.LangJSON &&
				string(r.Extra["protocolProfileBehavior"]) == `{"strictSSL":false,"followRedirects":true}`
		}},
		{"form.sh", func(r model.Request) bool {
			f := r.Body.FormData
			return r.Method == "POST" && r.Body.Mode == model.BodyFormData && len(f) == 3 &&
				reflect.DeepEqual(f[0], model.KV{Key: "name", Value: "report", Type: "text"}) &&
				f[1].Type == "file" && f[1].Src == "/tmp/report.pdf" && f[1].ContentType == "application/pdf" &&
				f[2].Value == "quoted" && r.Auth.Type == model.AuthBasic && r.Auth.Param("username") == "alice" && r.Auth.Param("password") == "s3cret"
		}},
		{"urlencoded.sh", func(r model.Request) bool {
			u := r.Body.URLEncoded
			return r.Method == "POST" && r.Body.Mode == model.BodyURLEncoded && len(u) == 3 &&
				reflect.DeepEqual(u[1:], []model.KV{{Key: "pass", Value: "p@ss"}, {Key: "redirect", Value: "/home?x=1&y=2"}})
		}},
		{"binary.sh", func(r model.Request) bool {
			return r.Method == "PUT" && r.URL == "https://example.com/blob" && r.Body.Mode == model.BodyFile && r.Body.File == "./blob.bin"
		}},
		{"ansi-and-get.sh", func(r model.Request) bool {
			return r.Method == "GET" && r.URL == "https://example.com/search?q=go&page=2" && r.Body.Mode == model.BodyNone &&
				reflect.DeepEqual(r.Headers, []model.KV{{Key: "X-Tab", Value: "a\tb"}, {Key: "User-Agent", Value: "courier-test/1.0"},
					{Key: "Referer", Value: "https://ref.example"}, {Key: "Cookie", Value: "session=abc"}})
		}},
		{"chrome-copy.sh", func(r model.Request) bool {
			return r.Method == "PATCH" && len(r.Headers) == 3 && reflect.DeepEqual(r.Headers[2], model.KV{Key: "x-empty"}) &&
				r.Body.Mode == model.BodyRaw && r.Body.Raw == "plain text body"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cmd := readCurl(t, tt.file)
			if !LooksLikeCurl(cmd) {
				t.Fatal("LooksLikeCurl = false")
			}
			b, err := Import(context.Background(), strings.NewReader(cmd), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if b.Kind != KindCurl || len(b.Requests) != 1 {
				t.Fatalf("kind %s, %d requests", b.Kind, len(b.Requests))
			}
			r := b.Requests[0]
			if !tt.check(r) {
				t.Errorf("parsed as %+v", r)
			}
			back, err := ParseCurl(ExportCurl(r))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := curlView(back), curlView(r); !reflect.DeepEqual(got, want) {
				t.Errorf("export then parse gives\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestCurlExportParsesBack checks that every request of the testdata
// collection survives ExportCurl then ParseCurl in what cURL can say.
func TestCurlExportParsesBack(t *testing.T) {
	b := importBytesT(t, readTestdata(t, "everything.v21.postman_collection.json"))
	for _, r := range b.Requests {
		t.Run(r.Name, func(t *testing.T) {
			back, err := ParseCurl(ExportCurl(r))
			if err != nil {
				t.Fatalf("%v\n%s", err, ExportCurl(r))
			}
			want := curlView(r)
			if got := curlView(back); !reflect.DeepEqual(got, want) {
				t.Errorf("parsed back as\n%+v\nwant\n%+v\ncommand:\n%s", got, want, ExportCurl(r))
			}
		})
	}
}

// curlView is what a cURL command carries of a request: method, URL,
// enabled headers (auth as a header or --user), and the enabled body.
type view struct {
	Method, URL string
	Headers     []model.KV
	Mode, Raw   string
	Fields      []model.KV
	File        string
	User        string
	Insecure    bool
}

func curlView(r model.Request) view {
	v := view{Method: r.Method, URL: r.URL, Insecure: string(rawMap(r.Extra["protocolProfileBehavior"])["strictSSL"]) == "false"}
	for _, h := range r.Headers {
		if !h.Disabled {
			v.Headers = append(v.Headers, model.KV{Key: h.Key, Value: h.Value})
		}
	}
	switch r.Auth.Type {
	case model.AuthBasic:
		v.User = r.Auth.Param("username") + ":" + r.Auth.Param("password")
	case model.AuthBearer:
		v.Headers = append(v.Headers, model.KV{Key: "Authorization", Value: "Bearer " + r.Auth.Param("token")})
	case model.AuthAPIKey:
		if r.Auth.Param("in") == "query" {
			v.URL = addQuery(r.URL, r.Auth.Param("key"), r.Auth.Param("value"))
		}
	}
	if r.Body.Disabled {
		return v
	}
	v.Mode = r.Body.Mode
	switch r.Body.Mode {
	case model.BodyRaw:
		v.Raw = r.Body.Raw
	case model.BodyGraphQL:
		q, _ := json.Marshal(struct {
			Query     string          `json:"query"`
			Variables json.RawMessage `json:"variables,omitempty"`
		}{r.Body.GraphQL.Query, json.RawMessage(r.Body.GraphQL.Variables)})
		v.Mode, v.Raw = model.BodyRaw, string(q)
		if len(v.Headers) == 0 || v.Headers[len(v.Headers)-1].Key != "Content-Type" {
			v.Headers = append(v.Headers, model.KV{Key: "Content-Type", Value: "application/json"})
		}
	case model.BodyURLEncoded, model.BodyFormData:
		for _, kv := range append(r.Body.URLEncoded, r.Body.FormData...) {
			if !kv.Disabled {
				v.Fields = append(v.Fields, model.KV{Key: kv.Key, Value: kv.Value, Src: kv.Src, ContentType: kv.ContentType})
			}
		}
		if len(v.Fields) == 0 {
			v.Mode = ""
		}
	case model.BodyFile:
		v.File = r.Body.File
	}
	return v
}

// TestCurlRunsWithRealCurl runs exported commands with the real curl
// against a local server and checks what arrived.
func TestCurlRunsWithRealCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	type got struct {
		method, path, body, ct, auth, tricky string
	}
	seen := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Tricky")}
	}))
	defer srv.Close()
	tests := []struct {
		name string
		req  model.Request
		want got
	}{
		{"raw with quotes and a bearer token", model.Request{Method: "POST", URL: srv.URL + "/p?a=1",
			Headers: []model.KV{{Key: "Content-Type", Value: "application/json"}, {Key: "X-Tricky", Value: `it's "$HOME" \n`}},
			Body:    model.Body{Mode: model.BodyRaw, Raw: `{"q":"it's"}`},
			Auth:    model.Auth{Type: model.AuthBearer, Params: []model.AuthParam{{Key: "token", Value: []byte(`"t0k"`)}}}},
			got{"POST", "/p?a=1", `{"q":"it's"}`, "application/json", "Bearer t0k", `it's "$HOME" \n`}},
		{"urlencoded", model.Request{Method: "PUT", URL: srv.URL + "/u",
			Body: model.Body{Mode: model.BodyURLEncoded, URLEncoded: []model.KV{{Key: "a", Value: "x y&z"}, {Key: "off", Value: "1", Disabled: true}}}},
			got{"PUT", "/u", "a=x+y%26z", "application/x-www-form-urlencoded", "", ""}},
		{"graphql", model.Request{Method: "POST", URL: srv.URL + "/g",
			Body: model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{Query: "{ hi }", Variables: `{"n": 1}`}}},
			got{"POST", "/g", `{"query":"{ hi }","variables":{"n":1}}`, "application/json", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := strings.Replace(ExportCurl(tt.req), "curl ", curl+" --silent --output /dev/null ", 1)
			if out, err := exec.Command(bash, "-c", cmd).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s\n%s", err, out, cmd)
			}
			if g := <-seen; g != tt.want {
				t.Errorf("server saw %+v\nwant %+v", g, tt.want)
			}
		})
	}
}
