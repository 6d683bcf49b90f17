package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// echoServer answers /echo with a JSON of what it got, /bytes?n=N with N
// bytes, and /hang by waiting until the client goes away.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "auth": r.Header.Get("Authorization"), "query": r.URL.RawQuery, "body": string(body),
		})
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(bytes.Repeat([]byte{'a'}, n))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func echoed(t *testing.T, res *app.SendResult) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(res.Body, &m); err != nil {
		t.Fatalf("echo body %q: %v", res.Body, err)
	}
	return m
}

func bearer(tok string) *model.Auth {
	a := &model.Auth{Type: model.AuthBearer}
	a.SetParam("token", tok)
	return a
}

// TestPrepareWarnsOfTwinVariablesItUses: two enabled globals of one name
// (made on two devices at once) are told of when the request refers to
// that name, and the first is the one used.
func TestPrepareWarnsOfTwinVariablesItUses(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	for _, v := range []model.Variable{
		{Owner: model.GlobalsID, Name: "shared", Value: "A1", Enabled: true},
		{Owner: model.GlobalsID, Name: "shared", Value: "A2", Enabled: true},
		{Owner: model.GlobalsID, Name: "other", Value: "o", Enabled: true},
	} {
		must[model.Variable](t)(a.SaveVariable(ctx, v))
	}
	p := must[app.Prepared](t)(a.Prepare(ctx, model.Request{Method: "GET", URL: "https://example.org/{{shared}}"}))
	if p.ResolvedURL != "https://example.org/A1" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `two enabled globals are called "shared"`) {
		t.Errorf("resolved %q, warnings %q; want A1 and one warning naming the twins", p.ResolvedURL, p.Warnings)
	}
	p = must[app.Prepared](t)(a.Prepare(ctx, model.Request{Method: "GET", URL: "https://example.org/{{other}}"}))
	if len(p.Warnings) != 0 {
		t.Errorf("warnings for a request that does not use the twins: %q", p.Warnings)
	}
}

func TestPrepareScopeAndAuth(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.a
	env := must[model.Environment](t)(a.CreateEnvironment(ctx, "dev"))
	for _, v := range []model.Variable{
		{Owner: model.GlobalsID, Name: "host", Value: "global.example", Enabled: true},
		{Owner: model.GlobalsID, Name: "only_global", Value: "g", Enabled: true},
		{Owner: f.coll.ID, Name: "host", Value: "coll.example", Enabled: true},
		{Owner: env.ID, Name: "host", Value: "env.example", Enabled: true},
		{Owner: env.ID, Name: "off", Value: "x", Enabled: false},
	} {
		must[model.Variable](t)(a.SaveVariable(ctx, v))
	}
	must[model.Folder](t)(a.Folder(ctx, f.users.ID))
	// The collection has a bearer token; folder Users basic auth.
	setAuth := func(kind model.Kind, id model.ID, auth *model.Auth) {
		op := model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: model.Fields{"auth": mustMarshal(t, auth)}}
		if err := f.db.Apply(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	setAuth(model.KindCollection, f.coll.ID, bearer("coll-token"))
	basic := &model.Auth{Type: model.AuthBasic}
	basic.SetParam("username", "u")
	setAuth(model.KindFolder, f.users.ID, basic)

	tests := []struct {
		name           string
		req            model.Request
		env            model.ID
		wantAuth       string
		wantFrom       model.ID
		wantUnresolved []string
		wantHost       string
		wantWarning    bool
	}{
		{"request in a folder inherits the folder's auth", f.get, env.ID, model.AuthBasic, f.users.ID, nil, "env.example", false},
		{"request at the root inherits the collection's auth", f.health, env.ID, model.AuthBearer, f.coll.ID, nil, "env.example", false},
		{"own auth wins", func() model.Request { r := f.get; r.Auth = model.Auth{Type: model.AuthNone}; return r }(), "", model.AuthNone, "", nil, "coll.example", false},
		{"unsaved request has no auth and only globals", model.Request{URL: "http://{{host}}/{{missing}}/{{off}}/{{only_global}}"}, env.ID, model.AuthNone, "", []string{"missing", "off"}, "env.example", false},
		{"invalid JSON body is a warning", model.Request{URL: "http://x", Body: model.Body{Mode: model.BodyRaw, Language: model.LangJSON, Raw: "{bad"}}, "", model.AuthNone, "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.PrepareWith(ctx, tt.req, app.SendOptions{Environment: tt.env})
			if err != nil {
				t.Fatal(err)
			}
			if p.Auth.Type != tt.wantAuth || p.AuthFrom != tt.wantFrom || p.Request.Auth.Type != tt.wantAuth {
				t.Fatalf("auth %q from %q, want %q from %q", p.Auth.Type, p.AuthFrom, tt.wantAuth, tt.wantFrom)
			}
			if !slices.Equal(p.Unresolved, tt.wantUnresolved) {
				t.Fatalf("unresolved = %v, want %v", p.Unresolved, tt.wantUnresolved)
			}
			if tt.wantHost != "" {
				host := p.Scope.Environment["host"]
				if host == "" {
					host = p.Scope.Collection["host"]
				}
				if host != tt.wantHost {
					t.Fatalf("host = %q, want %q (scope %+v)", host, tt.wantHost, p.Scope)
				}
			}
			if (len(p.Warnings) > 0) != tt.wantWarning {
				t.Fatalf("warnings = %q", p.Warnings)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendSavesHistory(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	sent := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a, _ := newApp(t, app.Options{Clock: fixedClock{sent}})
	env := must[model.Environment](t)(a.CreateEnvironment(ctx, "local"))
	must[model.Variable](t)(a.SaveVariable(ctx, model.Variable{Owner: env.ID, Name: "base", Value: srv.URL, Enabled: true}))
	if err := a.SetActiveEnvironment(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	req := model.Request{Method: "POST", URL: "{{base}}/echo?q=1", Body: model.Body{Mode: model.BodyRaw, Raw: "hello"}}
	res, err := a.Send(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Status != 200 || echoed(t, res)["body"] != "hello" || echoed(t, res)["method"] != "POST" {
		t.Fatalf("response %d %s", res.Response.Status, res.Body)
	}
	if res.HistoryErr != nil || res.HistoryID == "" {
		t.Fatalf("history %q %v", res.HistoryID, res.HistoryErr)
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, res.HistoryID))
	if e.Request.URL != req.URL || e.Request.ResolvedURL != srv.URL+"/echo?q=1" || !e.SentAt.Equal(sent) || e.Environment != env.ID {
		t.Fatalf("entry request %+v sent %v env %s", e.Request, e.SentAt, e.Environment)
	}
	if e.Response == nil || e.Response.Status != 200 || !bytes.Equal(e.Response.Body, res.Body) || e.Response.Truncated {
		t.Fatalf("entry response %+v", e.Response)
	}
	hs := must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{Search: "echo"}))
	if len(hs) != 1 || hs[0].ID != res.HistoryID || hs[0].Status != 200 {
		t.Fatalf("history = %+v", hs)
	}
}

func TestSendRefusesUnresolvedVariables(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	a, db := newApp(t, app.Options{})
	req := model.Request{URL: srv.URL + "/echo?token={{token}}"}
	_, err := a.Send(ctx, req)
	var ue *app.UnresolvedError
	if !errors.As(err, &ue) || !slices.Equal(ue.Names, []string{"token"}) || !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("Send = %v, want UnresolvedError{token}", err)
	}
	if n := must[int](t)(db.HistoryCount(ctx)); n != 0 {
		t.Fatalf("%d history entries after a refused send", n)
	}
	res, err := a.SendWith(ctx, req, app.SendOptions{AllowUnresolved: true})
	if err != nil {
		t.Fatal(err)
	}
	if q := echoed(t, res)["query"]; q != "token=%7B%7Btoken%7D%7D" && q != "token={{token}}" {
		t.Fatalf("query sent = %q", q)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestSendTransportErrorIsSavedWithTheError(t *testing.T) {
	ctx := context.Background()
	addr := closedAddr(t)
	a, _ := newApp(t, app.Options{})
	_, err := a.Send(ctx, model.Request{URL: "http://" + addr + "/"})
	if err == nil || !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("Send = %v, want a connection error", err)
	}
	hs := must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{}))
	if len(hs) != 1 || hs[0].Error == "" || hs[0].Status != 0 {
		t.Fatalf("history = %+v", hs)
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, hs[0].ID))
	if e.Response != nil || e.Request.ResolvedURL != "http://"+addr+"/" {
		t.Fatalf("entry of a failed send: response %v resolved %q", e.Response, e.Request.ResolvedURL)
	}
}

func TestSendTrustsTheCAOfTheSettings(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "internal") }))
	t.Cleanup(srv.Close)
	a, _ := newApp(t, app.Options{})
	req := model.Request{URL: srv.URL + "/"}
	if _, err := a.Send(ctx, req); err == nil {
		t.Fatal("a server of an unknown CA was trusted")
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := must[app.Settings](t)(a.Settings(ctx))
	s.CAFile = ca
	if err := a.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	res, err := a.Send(ctx, req)
	if err != nil || string(res.Body) != "internal" {
		t.Fatalf("Send with the CA trusted = %v, %v", res, err)
	}
	if err := os.WriteFile(ca, []byte("a certificate no more"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, req); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("Send after the CA file changed = %v, want it read again (and refused)", err)
	}
	before := len(must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{})))
	if _, err := a.SendWith(ctx, req, app.SendOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("Send with a missing CA file = %v, want ErrInvalid", err)
	}
	if n := len(must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{}))); n != before {
		t.Errorf("a send refused for its CA file went to the history (%d entries, want %d)", n, before)
	}
}

// TestATimeOutSaysWhereItWasSet: the Settings' time-out is named as
// such; one given for the send names what its caller says.
func TestATimeOutSaysWhereItWasSet(t *testing.T) {
	srv := echoServer(t)
	a, _ := newApp(t, app.Options{})
	ctx := context.Background()
	s := must[app.Settings](t)(a.Settings(ctx))
	s.Timeout = 50 * time.Millisecond
	if err := a.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	req := model.Request{URL: srv.URL + "/hang"}
	if _, err := a.Send(ctx, req); err == nil || !strings.Contains(err.Error(), "within 50ms (the time-out in Settings)") {
		t.Errorf("Send = %v, want the Settings' time-out named", err)
	}
	_, err := a.SendWith(ctx, req, app.SendOptions{Timeout: 60 * time.Millisecond, TimeoutFrom: "--timeout"})
	if err == nil || !strings.Contains(err.Error(), "within 60ms (--timeout)") || strings.Contains(err.Error(), "Settings") {
		t.Errorf("SendWith = %v, want --timeout named", err)
	}
}

func TestSendCancelSavesNothing(t *testing.T) {
	srv := echoServer(t)
	a, db := newApp(t, app.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Send(ctx, model.Request{URL: srv.URL + "/hang"})
		done <- err
	}()
	time.AfterFunc(50*time.Millisecond, cancel)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return after cancel")
	}
	if n := must[int](t)(db.HistoryCount(context.Background())); n != 0 {
		t.Fatalf("%d history entries after a cancelled send", n)
	}
}

func TestSendLargeBodyGoesToAFileKeptByTheEntry(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	a, _ := newApp(t, app.Options{MaxMemoryBody: 1 << 10})
	n := model.HistoryBodyLimit + 1000
	res, err := a.Send(ctx, model.Request{URL: srv.URL + "/bytes?n=" + strconv.Itoa(n)})
	if err != nil {
		t.Fatal(err)
	}
	if res.BodyFile == "" || filepath.Dir(res.BodyFile) != a.ResponsesDir() {
		t.Fatalf("body file %q, want one in %s", res.BodyFile, a.ResponsesDir())
	}
	if fi, err := os.Stat(res.BodyFile); err != nil || fi.Size() != int64(n) {
		t.Fatalf("body file: %v %v", fi, err)
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, res.HistoryID))
	if e.Response.BodyFile != res.BodyFile || !e.Response.Truncated || len(e.Response.Body) > model.HistoryBodyLimit || e.Response.Size != int64(n) {
		t.Fatalf("entry: file %q truncated %v body %d size %d", e.Response.BodyFile, e.Response.Truncated, len(e.Response.Body), e.Response.Size)
	}
	if err := a.DeleteHistory(ctx, res.HistoryID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res.BodyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("body file left after deleting its entry: %v", err)
	}
}

func TestSendBodyOverHistoryLimitIsTruncatedInHistory(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	a, _ := newApp(t, app.Options{})
	n := model.HistoryBodyLimit + 1
	res, err := a.Send(ctx, model.Request{URL: srv.URL + "/bytes?n=" + strconv.Itoa(n)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Body) != n || res.BodyFile != "" {
		t.Fatalf("result body %d file %q", len(res.Body), res.BodyFile)
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, res.HistoryID))
	if len(e.Response.Body) != model.HistoryBodyLimit || !e.Response.Truncated || e.Response.Size != int64(n) {
		t.Fatalf("entry body %d truncated %v size %d", len(e.Response.Body), e.Response.Truncated, e.Response.Size)
	}
}

// A request body too large for the history is cut there, so the entry
// can sync; the whole body was sent.
func TestSendRequestBodyOverHistoryLimitIsCutInHistory(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	a, _ := newApp(t, app.Options{})
	body := strings.Repeat("0123456789abcdef", 600<<10/16)
	res, err := a.Send(ctx, model.Request{Method: "POST", URL: srv.URL + "/echo", Body: model.Body{Mode: model.BodyRaw, Raw: body}})
	if err != nil {
		t.Fatal(err)
	}
	if got := echoed(t, res)["body"]; got != body {
		t.Fatalf("the server got %d bytes of body; want all %d", len(fmt.Sprint(got)), len(body))
	}
	e := must[model.HistoryEntry](t)(a.HistoryEntry(ctx, res.HistoryID))
	if !e.Request.Truncated || !strings.HasPrefix(body, e.Request.Body.Raw) || len(e.Request.Body.Raw) != model.HistoryBodyLimit {
		t.Errorf("entry request truncated %v, body %d bytes; want the first %d", e.Request.Truncated, len(e.Request.Body.Raw), model.HistoryBodyLimit)
	}
	if b, _ := json.Marshal(e.Request); len(b) > model.HistoryRequestLimit {
		t.Errorf("entry request is %d bytes of JSON; want at most %d", len(b), model.HistoryRequestLimit)
	}
}

func TestSendPrunesHistoryToTheLimit(t *testing.T) {
	srv := echoServer(t)
	for _, tc := range []struct {
		name   string
		faulty bool
	}{{"through the store's pruner", false}, {"by the app when the store has none", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var st app.Store = openStore(t)
			if tc.faulty {
				st = &faultyStore{Store: st}
			}
			a := must[*app.App](t)(app.New(st, app.Options{}))
			s := app.DefaultSettings()
			s.HistoryLimit = 3
			if err := a.SaveSettings(ctx, s); err != nil {
				t.Fatal(err)
			}
			var ids []model.ID
			for i := range 5 {
				res, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo?i=" + strconv.Itoa(i)})
				if err != nil || res.HistoryErr != nil {
					t.Fatal(err, res.HistoryErr)
				}
				ids = append(ids, res.HistoryID)
			}
			hs := must[[]model.HistorySummary](t)(a.History(ctx, app.HistoryQuery{}))
			got := make([]model.ID, len(hs))
			for i, h := range hs {
				got[i] = h.ID
			}
			want := []model.ID{ids[4], ids[3], ids[2]}
			if !slices.Equal(got, want) {
				t.Fatalf("history = %v, want the newest three %v", got, want)
			}
		})
	}
}

func TestSendStillAnswersWhenHistoryCannotBeSaved(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	st := &faultyStore{Store: openStore(t)}
	a := must[*app.App](t)(app.New(st, app.Options{}))
	st.fail(model.KindHistory, fmt.Errorf("the disk holding the profile is full: %w", model.ErrUnavailable))
	res, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Status != 200 || !errors.Is(res.HistoryErr, model.ErrUnavailable) || res.HistoryID != "" {
		t.Fatalf("status %d history %q err %v", res.Response.Status, res.HistoryID, res.HistoryErr)
	}
}
