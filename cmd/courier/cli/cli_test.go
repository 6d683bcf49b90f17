package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/courierapp/courier/internal/silent"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncproto"
)

// run runs the command line in-process and returns the exit code and what
// it wrote.
type runOpts struct {
	stdin string
	env   map[string]string
	tty   bool
	main  func(*Main)
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{
		Stdin: strings.NewReader(o.stdin), Stdout: &out, Stderr: &errb,
		Getenv:     func(k string) string { return o.env[k] },
		IsTerminal: func(io.Writer) bool { return o.tty },
	}
	if o.main != nil {
		o.main(m)
	}
	code := m.Run(context.Background(), args)
	return result{code, out.String(), errb.String()}
}

// oneLine fails unless s is a single line of text.
func oneLine(t *testing.T, s string) {
	t.Helper()
	if strings.Count(strings.TrimSuffix(s, "\n"), "\n") != 0 || strings.Contains(s, "goroutine ") {
		t.Fatalf("want one line on stderr, got %q", s)
	}
}

// server is a test HTTP server: /echo answers a JSON of the request,
// /status/N answers N, /bytes?n=N&type=T N bytes, /hang never answers.
func server(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", "test")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "body": string(body), "ct": r.Header.Get("Content-Type"),
			"a": r.Header.Get("X-A"), "b": r.Header.Get("X-B"), "path": r.URL.Path, "query": r.URL.RawQuery,
		})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		fmt.Fprintln(w, "status", code)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", r.URL.Query().Get("type"))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i % 251)
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv
}

func echoOf(t *testing.T, stdout string) map[string]string {
	t.Helper()
	_, body, ok := strings.Cut(stdout, "\n\n")
	if !ok {
		t.Fatalf("no blank line after the head in %q", stdout)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m
}

func TestSendFlags(t *testing.T) {
	srv := server(t, false)
	dataFile := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(dataFile, []byte("from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	templateFile := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(templateFile, []byte("{{not a variable}} \x01"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		check   func(t *testing.T, r result, echo map[string]string)
		wantErr string // on stderr
	}{
		{"GET by default, status line then body", []string{srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if !strings.HasPrefix(r.stdout, "HTTP/1.1 200 OK\n\n") || e["method"] != "GET" {
				t.Fatalf("stdout %q", r.stdout)
			}
		}, ""},
		{"-X sets the method", []string{"-X", "put", srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["method"] != "PUT" {
				t.Fatalf("method %q", e["method"])
			}
		}, ""},
		{"-H adds headers, flags after the URL too", []string{srv.URL + "/echo", "-H", "X-A: 1", "-H", "X-B:two words"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["a"] != "1" || e["b"] != "two words" {
				t.Fatalf("headers %v", e)
			}
		}, ""},
		{"-d posts form data like curl", []string{"-d", "a=1&b=2", srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["method"] != "POST" || e["body"] != "a=1&b=2" || e["ct"] != "application/x-www-form-urlencoded" {
				t.Fatalf("echo %v", e)
			}
		}, ""},
		{"-d with JSON sends application/json", []string{"-d", `{"a":1}`, srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["ct"] != "application/json" || e["body"] != `{"a":1}` {
				t.Fatalf("echo %v", e)
			}
		}, ""},
		{"-d @FILE reads the file", []string{"-d", "@" + dataFile, "-H", "Content-Type: text/plain", srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["body"] != "from a file" || e["ct"] != "text/plain" {
				t.Fatalf("echo %v", e)
			}
		}, ""},
		{"--data-binary @FILE sends the file as it is", []string{"--data-binary", "@" + templateFile, srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["method"] != "POST" || e["body"] != "{{not a variable}} \x01" || e["ct"] != "application/json" {
				t.Fatalf("echo %q", e)
			}
		}, ""},
		{"--data-binary DATA is -d", []string{"--data-binary", "a=1", srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["body"] != "a=1" || e["ct"] != "application/x-www-form-urlencoded" {
				t.Fatalf("echo %v", e)
			}
		}, ""},
		{"-d @- reads stdin", []string{"-X", "PATCH", "-d", "@-", srv.URL + "/echo"}, "from stdin", func(t *testing.T, r result, e map[string]string) {
			if e["body"] != "from stdin" || e["method"] != "PATCH" {
				t.Fatalf("echo %v", e)
			}
		}, ""},
		{"invalid JSON is warned about and still sent", []string{"-d", `{"a":`, srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			if e["body"] != `{"a":` {
				t.Fatalf("echo %v", e)
			}
		}, "warning: "},
		{"-i prints the response headers", []string{"-i", srv.URL + "/echo"}, "", func(t *testing.T, r result, e map[string]string) {
			head, _, _ := strings.Cut(r.stdout, "\n\n")
			if !strings.Contains(head, "X-Served-By: test") || !strings.Contains(head, "Content-Type: application/json") {
				t.Fatalf("head %q", head)
			}
		}, ""},
		{"an error status still exits 0", []string{srv.URL + "/status/404"}, "", func(t *testing.T, r result, e map[string]string) {
			if !strings.HasPrefix(r.stdout, "HTTP/1.1 404 Not Found\n\nstatus 404") {
				t.Fatalf("stdout %q", r.stdout)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"send", "--profile", t.TempDir()}, tt.args...)
			r := run(t, runOpts{stdin: tt.stdin}, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			var echo map[string]string
			if strings.Contains(tt.args[len(tt.args)-1], "/echo") || strings.Contains(strings.Join(tt.args, " "), "/echo") {
				echo = echoOf(t, r.stdout)
			}
			tt.check(t, r, echo)
			if tt.wantErr == "" && r.stderr != "" {
				t.Fatalf("stderr %q", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("stderr %q lacks %q", r.stderr, tt.wantErr)
			}
		})
	}
}

func TestSendTrustsTheCAGivenWithCA(t *testing.T) {
	tlsSrv := server(t, true)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, runOpts{}, "send", "--profile", filepath.Join(dir, "p"), "--ca", ca, tlsSrv.URL+"/echo")
	if r.code != 0 || !strings.Contains(r.stdout, `"path":"/echo"`) {
		t.Fatalf("send --ca: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		r := run(t, runOpts{}, "send", "--profile", filepath.Join(dir, "p"), "--ca", file, tlsSrv.URL+"/echo")
		if r.code != 2 || !strings.Contains(r.stderr, "--ca: ") || !strings.Contains(r.stderr, file) {
			t.Errorf("send --ca %s: exit %d, stderr %q; want 2 naming the file", file, r.code, r.stderr)
		}
	}
}

// COURIER_CA is --ca's default, as for the account commands; --ca wins.
func TestSendTrustsCOURIER_CA(t *testing.T) {
	tlsSrv := server(t, true)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	profile, missing := filepath.Join(dir, "p"), filepath.Join(dir, "missing.pem")
	r := run(t, runOpts{env: map[string]string{"COURIER_CA": ca}}, "send", "--profile", profile, tlsSrv.URL+"/echo")
	if r.code != 0 || !strings.Contains(r.stdout, `"path":"/echo"`) {
		t.Fatalf("send with COURIER_CA: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, runOpts{env: map[string]string{"COURIER_CA": missing}}, "send", "--profile", profile, "--ca", ca, tlsSrv.URL+"/echo")
	if r.code != 0 {
		t.Fatalf("send --ca beside a COURIER_CA that is missing: exit %d, stderr %q; want --ca to win", r.code, r.stderr)
	}
	r = run(t, runOpts{env: map[string]string{"COURIER_CA": missing}}, "send", "--profile", profile, tlsSrv.URL+"/echo")
	if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier send: COURIER_CA: ") || !strings.Contains(r.stderr, missing) {
		t.Fatalf("send with a COURIER_CA that is missing: exit %d, stderr %q; want 1 naming the variable and the file", r.code, r.stderr)
	}
	oneLine(t, r.stderr)
	r = run(t, runOpts{}, "send", "--help")
	if !strings.Contains(r.stdout, "(default: $COURIER_CA, else the profile's setting)") {
		t.Errorf("send --help does not say that COURIER_CA is --ca's default:\n%s", r.stdout)
	}
}

func TestSendErrors(t *testing.T) {
	srv := server(t, false)
	tlsSrv := server(t, true)
	binBody := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(binBody, []byte("\x00{{\x01\xffz}}\x02"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no URL", []string{}, 2, "want one URL"},
		{"two URLs", []string{"http://a", "http://b"}, 2, "want one URL"},
		{"unknown flag", []string{"--nope", srv.URL}, 2, "flag provided but not defined"},
		{"malformed -H line", []string{"-H", "no colon", srv.URL}, 2, `header "no colon"`},
		{"invalid URL", []string{"http://exa mple.com:99999/"}, 2, "URL"},
		{"unknown scheme", []string{"gopher://example.com/"}, 2, `unsupported scheme "gopher"`},
		{"unreachable host", []string{"http://127.0.0.1:1/"}, 1, "cannot connect to 127.0.0.1:1"},
		{"unknown host", []string{"http://no-such-host.invalid/"}, 1, "no-such-host.invalid"},
		{"TLS error names the fix", []string{tlsSrv.URL + "/echo"}, 1, "TLS: certificate signed by unknown authority (trust its CA with --ca FILE, or send with -k to skip verification)"},
		{"time-out", []string{"--timeout", "100ms", srv.URL + "/hang"}, 1, "no complete response within 100ms (--timeout)"},
		{"unresolved variables are listed", []string{srv.URL + "/{{path}}?k={{key}}"}, 2, "{{key}}, {{path}}"},
		{"a binary body file's braces are quoted", []string{"-d", "@" + binBody, srv.URL}, 2, `{{"\x01\xffz"}}`},
		{"a missing body file", []string{"-d", "@/no/such/file", srv.URL}, 2, "cannot read the body file"},
		{"a missing binary body file", []string{"--data-binary", "@/no/such/file", srv.URL}, 2, "cannot send the body file /no/such/file"},
		{"a folder as the binary body", []string{"--data-binary", "@" + t.TempDir(), srv.URL}, 2, "not a regular file"},
		{"two bodies", []string{"-d", "a", "--data-binary", "b", srv.URL}, 2, "give the body once"},
		{"an unknown environment", []string{"-e", "prod", srv.URL}, 2, `no environment called "prod"`},
		{"a negative time-out", []string{"--timeout", "-1s", srv.URL}, 2, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"send", "--profile", t.TempDir()}, tt.args...)
			r := run(t, runOpts{}, args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == 1 {
				oneLine(t, r.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout %q on error", r.stdout)
			}
		})
	}
	t.Run("-k accepts a self-signed certificate", func(t *testing.T) {
		r := run(t, runOpts{}, "send", "--profile", t.TempDir(), "-k", tlsSrv.URL+"/echo")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "HTTP/") {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// withProfile opens the profile dir with the core, lets fill set it up,
// and closes it.
func withProfile(t *testing.T, dir string, fill func(ctx context.Context, a *app.App)) {
	t.Helper()
	ctx := context.Background()
	m := &Main{}
	m.defaults()
	p, err := m.openStore(ctx, dir) // as the commands open it, with the keyring
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := app.New(p.Store, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(ctx, a)
}

func TestSendEnvironments(t *testing.T) {
	srv := server(t, false)
	dir := t.TempDir()
	withProfile(t, dir, func(ctx context.Context, a *app.App) {
		for name, base := range map[string]string{"local": srv.URL, "broken": "http://127.0.0.1:1"} {
			e, err := a.CreateEnvironment(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.SaveVariable(ctx, model.Variable{Owner: e.ID, Name: "base", Value: base, Enabled: true}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.SaveVariable(ctx, model.Variable{Owner: model.GlobalsID, Name: "loop", Value: "{{loop}}", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"-e picks the environment by name", []string{"-e", "local", "{{base}}/echo"}, 0, `"path":"/echo"`, ""},
		{"-e in any case", []string{"-e", "LOCAL", "{{base}}/echo?x=1"}, 0, `"query":"x=1"`, ""},
		{"no environment leaves it unresolved", []string{"{{base}}/echo"}, 2, "", "{{base}}"},
		{"--allow-unresolved sends the braces", []string{"--allow-unresolved", srv.URL + "/echo?v={{nothing}}"}, 0, `"query":"v=`, ""},
		{"a self-referencing variable is refused", []string{srv.URL + "/echo?v={{loop}}"}, 2, "", "loop"},
		{"the other environment", []string{"-e", "broken", "{{base}}/echo"}, 1, "", "cannot connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{}, append([]string{"send", "--profile", dir}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			if r.code != 0 {
				oneLine(t, r.stderr)
			}
		})
	}
}

func TestSendBinaryAndLargeBodies(t *testing.T) {
	srv := server(t, false)
	big := app.DefaultMaxMemoryBody + 1000
	tests := []struct {
		name     string
		n        int
		typ      string
		tty      bool
		wantRaw  bool
		wantText string
	}{
		{"binary on a terminal is summarised", 3000, "image/png", true, false, "[binary body: 2.9 KiB, image/png, not shown"},
		{"binary piped is raw bytes", 3000, "image/png", false, true, ""},
		{"large on a terminal says where the file is", big, "text/plain", true, false, "saved in "},
		{"large piped is raw bytes", big, "application/octet-stream", false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			url := fmt.Sprintf("%s/bytes?n=%d&type=%s", srv.URL, tt.n, tt.typ)
			r := run(t, runOpts{tty: tt.tty}, "send", "--profile", dir, url)
			if r.code != 0 {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			if tt.wantRaw {
				if len(r.stdout) != tt.n || r.stdout[1] != 1 || r.stdout[250] != 250 || r.stdout[251] != 0 {
					t.Fatalf("stdout is %d bytes, want the %d raw bytes", len(r.stdout), tt.n)
				}
				if !strings.HasPrefix(r.stderr, "HTTP/1.1 200 OK") {
					t.Fatalf("stderr %q, want the status line", r.stderr)
				}
				return
			}
			if !strings.HasPrefix(r.stdout, "HTTP/1.1 200 OK\n\n") || !strings.Contains(r.stdout, tt.wantText) || len(r.stdout) > 1000 {
				t.Fatalf("stdout %.300q", r.stdout)
			}
			if tt.n == big && !strings.Contains(r.stdout, filepath.Join(dir, "responses")) {
				t.Fatalf("summary %q does not name the file in the profile", r.stdout)
			}
		})
	}
}

func TestHistoryCommand(t *testing.T) {
	srv := server(t, false)
	dir := t.TempDir()
	for _, p := range []string{"/echo?first", "/status/500", "/echo?third"} {
		if r := run(t, runOpts{}, "send", "--profile", dir, srv.URL+p); r.code != 0 {
			t.Fatalf("send %s: %d %q", p, r.code, r.stderr)
		}
	}
	run(t, runOpts{}, "send", "--profile", dir, "http://127.0.0.1:1/down")

	r := run(t, runOpts{}, "history", "--profile", dir, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("history --json %q: %v", r.stdout, err)
	}
	if len(got) != 4 {
		t.Fatalf("%d entries, want 4", len(got))
	}
	wantURLs := []string{"http://127.0.0.1:1/down", srv.URL + "/echo?third", srv.URL + "/status/500", srv.URL + "/echo?first"}
	for i, e := range got {
		if e["url"] != wantURLs[i] || e["method"] != "GET" {
			t.Fatalf("entry %d = %v, want url %s", i, e, wantURLs[i])
		}
		if _, err := time.Parse(time.RFC3339, e["time"].(string)); err != nil {
			t.Fatalf("time %v: %v", e["time"], err)
		}
		if _, ok := e["duration_ms"].(float64); !ok {
			t.Fatalf("duration_ms %v", e["duration_ms"])
		}
	}
	if got[2]["status"] != float64(500) || got[0]["status"] != float64(0) || got[0]["error"] == "" {
		t.Fatalf("statuses %v %v", got[2], got[0])
	}

	tests := []struct {
		name  string
		args  []string
		lines int
		want  string
	}{
		{"-n limits", []string{"-n", "2"}, 2, "/down"},
		{"-s searches", []string{"-s", "STATUS"}, 1, "500"},
		{"text lists all, newest first", nil, 4, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{env: map[string]string{"COURIER_PROFILE": dir}}, append([]string{"history"}, tt.args...)...)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if r.code != 0 || len(lines) != tt.lines || !strings.Contains(lines[0], tt.want) {
				t.Fatalf("exit %d stdout %q", r.code, r.stdout)
			}
		})
	}
	if r := run(t, runOpts{}, "history", "--profile", dir, "-n", "0"); r.code != 2 {
		t.Fatalf("-n 0: exit %d", r.code)
	}
}

// TestAnEmptyProfileFlagIsAUsageError: `--profile "$UNSET"` in a script
// must not fall back to the person's own profile (nor to
// $COURIER_PROFILE), before or after the command name.
func TestAnEmptyProfileFlagIsAUsageError(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"COURIER_PROFILE": home}
	for _, args := range [][]string{
		{"--profile", "", "history"},
		{"history", "--profile", ""},
		{"history", "--profile= "},
	} {
		r := run(t, runOpts{env: env}, args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--profile: empty folder name") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error about --profile", args, r.code, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("the default profile got %d files", len(entries))
	}
}

func TestHelpMentionsEveryFlag(t *testing.T) {
	r := run(t, runOpts{}, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--profile DIR") {
		t.Fatalf("courier --help: %d %q", r.code, r.stdout)
	}
	for _, v := range []string{"COURIER_PROFILE", "COURIER_SERVER", "COURIER_CA", "COURIER_LOG"} {
		if !strings.Contains(r.stdout, "\n  "+v+" ") {
			t.Errorf("courier --help does not describe %s:\n%s", v, r.stdout)
		}
	}
	for _, c := range commands {
		t.Run(c.Name, func(t *testing.T) {
			if !strings.Contains(r.stdout, c.Name) {
				t.Fatalf("courier --help does not list %s", c.Name)
			}
			for _, help := range [][]string{{c.Name, "--help"}, {c.Name, "-h"}, {"help", c.Name}} {
				var out bytes.Buffer
				m := &Main{Stdout: &out}
				env := &Env{Main: m, command: c.Name}
				m.defaults()
				code := m.exit("courier "+c.Name, c.Run(context.Background(), env, help[1:]))
				if help[0] == "help" {
					out.Reset()
					code = m.help(help[1:])
				}
				if code != 0 {
					t.Fatalf("%v: exit %d", help, code)
				}
				env.flags.VisitAll(func(f *flag.Flag) {
					name := "--" + f.Name
					if len(f.Name) == 1 {
						name = "-" + f.Name
					}
					if !strings.Contains(out.String(), name+" ") {
						t.Errorf("%v does not describe %s:\n%s", help, name, out.String())
					}
				})
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown global flag", []string{"--nope"}, "flag provided but not defined"},
		{"help of an unknown command", []string{"help", "nope"}, "unknown command"},
		{"history takes no arguments", []string{"history", "--profile", "x", "extra"}, "unexpected argument"},
		{"a duration flag's value is named", []string{"send", "--timeout", "xx", "http://x.test"}, `--timeout "xx": not a duration like 10s or 2m`},
		{"a number flag's value is named", []string{"history", "-n", "abc"}, `-n "abc": not a whole number`},
		{"a boolean flag's value is named", []string{"history", "--json=maybe"}, `--json "maybe": want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{}, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
		})
	}
}

func TestProfileProblems(t *testing.T) {
	t.Run("a profile in use says by what", func(t *testing.T) {
		dir := t.TempDir()
		db, err := store.Open(context.Background(), dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// A second window is pointed to --profile; a command, held by
		// an owner that has no window, to that owner (sync --watch).
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--profile", dir}, "start it with --profile DIR"},
			{[]string{"history", "--profile", dir}, "in use by another courier command (courier sync --watch"},
			{[]string{"sync", "--profile", dir}, "in use by another courier command (courier sync --watch"},
		} {
			r := run(t, runOpts{main: func(m *Main) { m.RunGUI = failGUI(t) }}, tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("%v: exit %d stderr %q; want %q", tt.args, r.code, r.stderr, tt.want)
			}
			oneLine(t, r.stderr)
		}
	})
	t.Run("a profile folder that cannot be created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, runOpts{}, "history", "--profile", filepath.Join(file, "profile"))
		if r.code != 1 || !strings.Contains(r.stderr, "profile") {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		oneLine(t, r.stderr)
	})
	t.Run("a damaged file is set aside with a notice", func(t *testing.T) {
		dir := t.TempDir()
		junk := make([]byte, 64<<10)
		_, _ = rand.Read(junk)
		if err := os.WriteFile(filepath.Join(dir, store.FileName), junk, 0o600); err != nil {
			t.Fatal(err)
		}
		var notice string
		r := run(t, runOpts{main: func(m *Main) {
			m.RunGUI = func(ctx context.Context, core *app.App, n string) error { notice = n; return nil }
		}}, "--profile", dir)
		if r.code != 0 || notice == "" || !strings.Contains(r.stderr, notice) {
			t.Fatalf("exit %d notice %q stderr %q", r.code, notice, r.stderr)
		}
		if r := run(t, runOpts{}, "history", "--profile", dir); r.code != 0 {
			t.Fatalf("history after recovery: %d %q", r.code, r.stderr)
		}
	})
	t.Run("the global --profile and COURIER_PROFILE choose the profile", func(t *testing.T) {
		srv := server(t, false)
		a, b := t.TempDir(), t.TempDir()
		run(t, runOpts{}, "--profile", a, "send", srv.URL+"/echo?in-a")
		run(t, runOpts{env: map[string]string{"COURIER_PROFILE": b}}, "send", srv.URL+"/echo?in-b")
		ra := run(t, runOpts{env: map[string]string{"COURIER_PROFILE": b}}, "history", "--profile", a)
		rb := run(t, runOpts{env: map[string]string{"COURIER_PROFILE": b}}, "history")
		if !strings.Contains(ra.stdout, "in-a") || strings.Contains(ra.stdout, "in-b") || !strings.Contains(rb.stdout, "in-b") {
			t.Fatalf("a: %q b: %q", ra.stdout, rb.stdout)
		}
	})
}

func failGUI(t *testing.T) func(context.Context, *app.App, string) error {
	return func(context.Context, *app.App, string) error {
		t.Error("the GUI must not start")
		return nil
	}
}

func TestGUI(t *testing.T) {
	t.Run("runs with the core of the profile", func(t *testing.T) {
		dir := t.TempDir()
		var got *app.App
		r := run(t, runOpts{main: func(m *Main) {
			m.RunGUI = func(ctx context.Context, core *app.App, notice string) error { got = core; return nil }
		}}, "--profile", dir)
		if r.code != 0 || got == nil || got.ResponsesDir() != filepath.Join(dir, "responses") {
			t.Fatalf("exit %d core %v stderr %q", r.code, got, r.stderr)
		}
	})
	t.Run("a build without a window says so", func(t *testing.T) {
		r := run(t, runOpts{}, "--profile", t.TempDir())
		if r.code != 1 || !strings.Contains(r.stderr, "no desktop window") {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("a GUI error is one line", func(t *testing.T) {
		r := run(t, runOpts{main: func(m *Main) {
			m.RunGUI = func(context.Context, *app.App, string) error {
				return fmt.Errorf("no display: %w", model.ErrUnavailable)
			}
		}}, "--profile", t.TempDir())
		if r.code != 1 || r.stderr != "courier: no display\n" {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
	})
}

// fullDisk wraps a store whose history writes fail as on a full disk.
type fullDisk struct{ app.Store }

func (s fullDisk) Apply(ctx context.Context, ops ...model.Op) error {
	for _, op := range ops {
		if op.Kind == model.KindHistory {
			return fmt.Errorf("the disk holding the profile is full; nothing was saved: %w", model.ErrUnavailable)
		}
	}
	return s.Store.Apply(ctx, ops...)
}

func TestSendWhenHistoryCannotBeSaved(t *testing.T) {
	srv := server(t, false)
	r := run(t, runOpts{main: func(m *Main) {
		m.OpenProfile = func(ctx context.Context, dir string) (*Profile, error) {
			db, err := store.Open(ctx, dir, store.Options{})
			if err != nil {
				return nil, err
			}
			return &Profile{Store: fullDisk{db}, Close: db.Close}, nil
		}
	}}, "send", "--profile", t.TempDir(), srv.URL+"/echo")
	if r.code != 0 || echoOf(t, r.stdout)["path"] != "/echo" {
		t.Fatalf("exit %d stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "not saved to history") || !strings.Contains(r.stderr, "disk") {
		t.Fatalf("stderr %q", r.stderr)
	}
	oneLine(t, r.stderr)
}

func TestPanicIsOneLine(t *testing.T) {
	r := run(t, runOpts{main: func(m *Main) {
		m.RunGUI = func(context.Context, *app.App, string) error { panic("boom") }
	}}, "--profile", t.TempDir())
	if r.code != 1 || r.stderr != "courier: internal error: boom\n" {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("header %q: bad: %w", "x", model.ErrInvalid), `header "x": bad`},
		{fmt.Errorf("a: %w: %w", model.ErrUnavailable, errors.New("b")), "a: b"},
		{errors.New("line one\nline two"), "line one"},
		{fmt.Errorf("sign up: %w", errors.Join(fmt.Errorf("email must be name@domain: %w", model.ErrInvalid), fmt.Errorf("username is short: %w", model.ErrInvalid))),
			"sign up: email must be name@domain; username is short"},
		{fmt.Errorf("sign up: %w", errors.Join(fmt.Errorf("email must be name@domain: %w", model.ErrInvalid))), "sign up: email must be name@domain"},
		// A server's error without its code.
		{fmt.Errorf("confirm email: %w", &syncproto.Error{Code: syncproto.CodeInvalidCode, Message: "this code is wrong or expired"}), "confirm email: this code is wrong or expired"},
	}
	for _, tt := range tests {
		if got := Message(tt.err); got != tt.want {
			t.Errorf("Message(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSendCanceled(t *testing.T) {
	srv := server(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	m := &Main{Stderr: &errb}
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, []string{"send", "--profile", t.TempDir(), srv.URL + "/hang"}) }()
	time.AfterFunc(100*time.Millisecond, cancel)
	select {
	case code := <-done:
		if code != ExitCanceled || errb.String() != "courier send: the request was canceled\n" {
			t.Fatalf("exit %d stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("send did not stop when its context was canceled")
	}
}

// The window logs to LogOutput at WARN; a command logs only when
// COURIER_LOG asks, at its level (and slog's default logs with it).
func TestOnlyTheWindowLogsUnlessAsked(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	damaged := func() string {
		dir := t.TempDir()
		junk := make([]byte, 64<<10)
		_, _ = rand.Read(junk)
		if err := os.WriteFile(filepath.Join(dir, store.FileName), junk, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	const line = `level=WARN msg="profile database damaged; kept aside"`
	tests := []struct {
		name, courierLog string
		args             []string
		logs             bool
	}{
		{"the window", "", nil, true},
		{"the window, COURIER_LOG=off", "off", nil, false},
		{"a command", "", []string{"history"}, false},
		{"a command, COURIER_LOG=info", "info", []string{"history"}, true},
		{"a command, COURIER_LOG=error", "error", []string{"history"}, false},
		{"a command, COURIER_LOG=yes", "yes", []string{"history"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := run(t, runOpts{env: map[string]string{"COURIER_LOG": tt.courierLog}, main: func(m *Main) {
				m.LogOutput = &logs
				m.RunGUI = func(context.Context, *app.App, string) error { return nil }
			}}, append([]string{"--profile", damaged()}, tt.args...)...)
			if r.code != 0 || !strings.Contains(r.stderr, "the old file was kept as") {
				t.Fatalf("exit %d, stderr %q; want the notice", r.code, r.stderr)
			}
			if got := strings.Contains(logs.String(), line); got != tt.logs {
				t.Fatalf("logged %q; want the WARN line: %v", logs.String(), tt.logs)
			}
			if tt.args != nil {
				slog.Warn("from a package")
				if got := strings.Contains(logs.String(), "from a package"); got != tt.logs {
					t.Fatalf("slog's default logged %q; want it to follow the command's: %v", logs.String(), tt.logs)
				}
			}
		})
	}
}

// The commands that only read make no profile: a mistyped --profile (or
// COURIER_PROFILE) is an error that names the folder and what chose it,
// and leaves nothing behind, in the folder or the keyring.
func TestReadingCommandsMakeNoProfile(t *testing.T) {
	reads := [][]string{{"history"}, {"export", "globals"}, {"status"}, {"status", "--offline"}, {"devices"}, {"link", "list"}}
	kr := &fakeOSKeyring{entries: map[string]string{}}
	withKeyring := func(m *Main) { m.ProfileSecrets = kr.secrets }
	root := t.TempDir()
	empty := filepath.Join(root, "empty") // a folder, without a courier.db
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range reads {
		for _, dir := range []string{filepath.Join(root, "typo"), filepath.Join(root, "no", "such", "folder"), empty, filepath.Join(file, "profile")} {
			want := "courier " + args[0] + ": there is no Courier profile in " + dir + " (the folder --profile names)\n"
			for _, line := range [][]string{append([]string{"--profile", dir}, args...), append(slices.Clone(args), "--profile", dir)} {
				if r := run(t, runOpts{main: withKeyring}, line...); r.code != ExitFailure || r.stderr != want || r.stdout != "" {
					t.Errorf("courier %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(line, " "), r.code, r.stdout, r.stderr, want)
				}
			}
			want = strings.Replace(want, "--profile", "COURIER_PROFILE", 1)
			if r := run(t, runOpts{main: withKeyring, env: map[string]string{"COURIER_PROFILE": dir}}, args...); r.code != ExitFailure || r.stderr != want {
				t.Errorf("COURIER_PROFILE=%s courier %s: exit %d, stderr %q; want %q", dir, strings.Join(args, " "), r.code, r.stderr, want)
			}
		}
	}
	for _, p := range []string{filepath.Join(root, "typo"), filepath.Join(root, "no"), filepath.Join(empty, store.FileName)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was made (%v)", p, err)
		}
	}
	if len(kr.entries) != 0 {
		t.Errorf("the keyring got %d entries", len(kr.entries))
	}

	// A command that writes makes the profile, as it always did.
	if r := run(t, runOpts{main: withKeyring}, "import", "--profile", empty, writeTemp(t, "p.json", petstore("Petstore"))); r.code != 0 {
		t.Fatalf("import into a new profile: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, runOpts{main: withKeyring}, "export", "collection", "petstore", "--profile", empty); r.code != 0 {
		t.Fatalf("export of the new profile: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The default profile folder of a user who never ran Courier: history is
// empty (and says why on stderr), the other reading commands say there is
// no profile yet; nothing is made.
func TestReadingTheDefaultProfileBeforeCourierRan(t *testing.T) {
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("HOME", config)
	base, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "courier")
	kr := &fakeOSKeyring{entries: map[string]string{}}
	withKeyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	note := "courier: the history is empty: there is no Courier profile in " + dir + " yet\n"
	if r := run(t, withKeyring, "history"); r.code != 0 || r.stdout != "" || r.stderr != note {
		t.Errorf("history: exit %d, stdout %q, stderr %q; want nothing and %q", r.code, r.stdout, r.stderr, note)
	}
	if r := run(t, withKeyring, "history", "--json"); r.code != 0 || r.stdout != "[]\n" || r.stderr != note {
		t.Errorf("history --json: exit %d, stdout %q, stderr %q; want [] and %q", r.code, r.stdout, r.stderr, note)
	}
	// Status tells what there is: no account.
	if r := run(t, withKeyring, "status"); r.code != 0 || !strings.Contains(r.stdout, "account:   none") || !strings.Contains(r.stdout, "sync:      not signed in") ||
		r.stderr != "courier: there is no Courier profile in "+dir+" yet\n" {
		t.Errorf("status: exit %d, stdout %q, stderr %q; want no account, and a note", r.code, r.stdout, r.stderr)
	}
	if r := run(t, withKeyring, "status", "--json"); r.code != 0 || !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stdout, `"signed_in": false`) {
		t.Errorf("status --json: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, args := range [][]string{{"export", "dump"}, {"devices"}, {"link", "list"}} {
		r := run(t, withKeyring, args...)
		if r.code != ExitFailure || r.stdout != "" || !strings.Contains(r.stderr, ": there is no Courier profile in "+dir+" yet: Courier has not been used here") {
			t.Errorf("courier %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		oneLine(t, r.stderr)
	}
	if entries, _ := os.ReadDir(config); len(entries) != 0 || len(kr.entries) != 0 {
		t.Errorf("the config folder got %d entries, the keyring %d", len(entries), len(kr.entries))
	}
}

// TestHelpOfEveryCommandAndSubcommand: each help names the command (or
// subcommand) it is for, with its own summary, tells the exit codes and
// ends with a line end.
func TestHelpOfEveryCommandAndSubcommand(t *testing.T) {
	var names [][]string
	for _, c := range commands {
		names = append(names, []string{c.Name})
	}
	for sub := range subcommandSummaries {
		names = append(names, strings.Fields(sub))
	}
	for _, name := range names {
		t.Run(strings.Join(name, " "), func(t *testing.T) {
			r := run(t, runOpts{}, append(name, "--help")...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			if want := "Usage: courier " + strings.Join(name, " ") + " "; !strings.HasPrefix(r.stdout, want) {
				t.Errorf("help starts %q, want %q", strings.SplitN(r.stdout, "\n", 2)[0], want)
			}
			summary := ""
			if len(name) == 1 {
				c, _ := lookup(name[0])
				summary = c.Summary
			} else {
				summary = subcommandSummaries[strings.Join(name, " ")]
				parent, _ := lookup(name[0])
				if summary == parent.Summary {
					t.Errorf("%v has its parent's summary", name)
				}
			}
			if want := "\n\n" + strings.ToUpper(summary[:1]) + summary[1:] + ".\n"; !strings.Contains(r.stdout, want) {
				t.Errorf("help lacks its summary %q:\n%s", want, r.stdout)
			}
			if !strings.Contains(r.stdout, "\nExit status: 0 ") || !strings.HasSuffix(r.stdout, ".\n") {
				t.Errorf("help has no exit status, or does not end a line:\n%s", r.stdout)
			}
		})
	}
	if r := run(t, runOpts{}, "send", "--help"); !strings.Contains(r.stdout, "130 when interrupted (Ctrl+C)") {
		t.Errorf("send --help does not tell Ctrl+C's exit code:\n%s", r.stdout)
	}
	if r := run(t, runOpts{}, "--help"); !strings.Contains(r.stdout, "\nExit status: ") {
		t.Errorf("courier --help does not tell the exit codes:\n%s", r.stdout)
	}
	r := run(t, runOpts{}, "password", "change", "--nope")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Run 'courier password change --help' for usage.") {
		t.Errorf("a subcommand's usage error: exit %d, stderr %q; want it to point to the subcommand's help", r.code, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := run(t, runOpts{main: func(m *Main) { m.Version = "1.2.3" }}, "--version")
	if r.code != 0 || r.stdout != "courier 1.2.3\n" || r.stderr != "" {
		t.Errorf("--version of a release: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, runOpts{}, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "courier devel") {
		t.Errorf("--version of a development build: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := run(t, runOpts{}, "--help"); !strings.Contains(r.stdout, "\n  --version ") {
		t.Errorf("courier --help does not list --version:\n%s", r.stdout)
	}
}

// TestAnInterruptedCommandSaysSo: Ctrl+C ends a command that is waiting
// for a server; it says it was interrupted, not what its last call made
// of the canceled context.
func TestAnInterruptedCommandSaysSo(t *testing.T) {
	ln := silent.Listen(t, "127.0.0.1:0") // takes connections, answers nothing
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	m := &Main{Stderr: &errb}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"password", "forgot", "--email", "a@example.com", "--server", "https://" + ln.Addr().String(), "--profile", t.TempDir()})
	}()
	time.AfterFunc(200*time.Millisecond, cancel)
	select {
	case code := <-done:
		if code != ExitCanceled || errb.String() != "courier password: interrupted\n" {
			t.Fatalf("exit %d stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not stop when its context was canceled")
	}
}
