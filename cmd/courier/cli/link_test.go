package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver/servertest"
)

// fetchLink GETs a public link URL trusting the server's dev CA.
func fetchLink(t *testing.T, srv *servertest.Server, u string) (int, []byte) {
	t.Helper()
	return fetchLinkAs(t, srv, u, "")
}

// fetchLinkAs is fetchLink with an Accept header ("": none).
func fetchLinkAs(t *testing.T, srv *servertest.Server, u, accept string) (int, []byte) {
	t.Helper()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestLinkCommandsEndToEnd publishes a collection from one profile with
// the link commands against a real server over TLS, reads it as anyone
// would, imports it on another profile through a courier:// URL, updates,
// lists and revokes it.
func TestLinkCommandsEndToEnd(t *testing.T) {
	gokeyring.MockInit()
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	laptop, desktop := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"
	c.fails(laptop, "", "there is no Courier profile in "+laptop, "link", "list")
	c.ok(laptop, "", "sync", "off") // a profile, without an account
	c.fails(laptop, "", "collection links need a signed-in account: not signed in; sign in with 'courier login'", "link", "list")
	c.ok(laptop, pw+"\n", "signup", "--email", "ann@example.com", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "confirm", srv.NextMail(t, "confirm").Links[0])
	c.ok(laptop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	fixture, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "postman", "everything.v21.postman_collection.json"))
	if err != nil {
		t.Fatal(err)
	}
	withProfile(t, laptop, func(ctx context.Context, a *app.App) {
		if _, err := a.Import(ctx, bytes.NewReader(fixture), app.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	// The fixture holds credentials: without a terminal, --yes is needed.
	r := c.run(laptop, "", "link", "create", "Everything v2.1")
	if r.code != ExitFailure || !strings.Contains(r.stderr, `request "apikey in query" › auth apikey value`) || !strings.Contains(r.stderr, "nothing was published") ||
		!strings.Contains(r.stderr, "without their values: token") {
		t.Fatalf("create without --yes: exit %d\n%s", r.code, r.stderr)
	}
	out := c.ok(laptop, "", "link", "create", "everything v2.1", "--expires", "7d", "--yes")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], srv.URL+"/c/") {
		t.Fatalf("link create printed %q; want the URL and the id", out)
	}
	linkURL, id := lines[0], lines[1]
	status, snap := fetchLink(t, srv, linkURL)
	if status != 200 || !bytes.Contains(snap, []byte("Everything v2.1")) || bytes.Contains(snap, []byte("s3cr3t")) {
		t.Fatalf("GET %s: %d, holds the secret: %v", linkURL, status, bytes.Contains(snap, []byte("s3cr3t")))
	}
	if out := c.ok(laptop, "", "link", "list"); !strings.Contains(out, id) || !strings.Contains(out, linkURL) || !strings.Contains(out, "Everything v2.1") {
		t.Fatalf("link list:\n%s", out)
	}

	// Another profile imports it from the courier:// URL the page offers.
	open := "courier://import?url=" + url.QueryEscape(linkURL)
	r = run(t, runOpts{env: map[string]string{"COURIER_SERVER": srv.URL, "COURIER_CA": srv.CAFile}}, "--profile", desktop, open)
	if r.code != 0 || !strings.Contains(r.stdout, "imported") {
		t.Fatalf("courier %s: exit %d\n%s%s", open, r.code, r.stdout, r.stderr)
	}
	exported := c.ok(desktop, "", "export", "collection", "Everything v2.1")
	if !sameJSON(t, []byte(exported), snap) {
		t.Fatalf("the imported link exports differently:\n%s\nvs\n%s", exported, snap)
	}
	// courier import takes the courier:// link of the page a browser gets.
	_, page := fetchLinkAs(t, srv, linkURL, "text/html")
	pageLink := regexp.MustCompile(`href="(courier://[^"]+)"`).FindSubmatch(page)
	if pageLink == nil {
		t.Fatalf("no courier:// link on the page:\n%s", page)
	}
	third := t.TempDir()
	if out := c.ok(third, "", "import", html.UnescapeString(string(pageLink[1]))); !strings.HasPrefix(out, `imported collection "Everything v2.1"`) {
		t.Fatalf("courier import %s said %q", pageLink[1], out)
	}
	if exported := c.ok(third, "", "export", "collection", "Everything v2.1"); !sameJSON(t, []byte(exported), snap) {
		t.Fatalf("the link imported by courier import exports differently:\n%s\nvs\n%s", exported, snap)
	}
	c.fails(third, "", "only import is known", "import", "courier://delete?url="+url.QueryEscape(linkURL))

	// Update re-publishes the collection's current state.
	withProfile(t, laptop, func(ctx context.Context, a *app.App) {
		cs, _ := a.Collections(ctx)
		if err := a.Rename(ctx, model.KindCollection, cs[0].ID, "Everything, renamed"); err != nil {
			t.Fatal(err)
		}
	})
	if out := c.ok(laptop, "", "link", "update", id, "--yes", "--no-expiry"); !strings.Contains(out, "without expiry") {
		t.Fatalf("link update said %q", out)
	}
	if _, snap := fetchLink(t, srv, linkURL); !bytes.Contains(snap, []byte("Everything, renamed")) {
		t.Fatalf("after update the link serves %.200s", snap)
	}

	c.ok(laptop, "", "link", "revoke", id)
	if status, _ := fetchLink(t, srv, linkURL); status != 404 {
		t.Fatalf("GET after revoke: %d", status)
	}
	c.fails(laptop, "", "link list", "link", "revoke", id)
	// Each says once what it did, and what is not there.
	for _, args := range [][]string{{"link", "revoke", "nonsense"}, {"link", "update", "nonsense", "--yes"}} {
		r := c.run(laptop, "", args...)
		want := "this account has no link \"nonsense\" (see courier link list)\n"
		if args[1] == "revoke" {
			want = "revoke link: " + want
		}
		if r.code != ExitFailure || r.stderr != "courier link: "+want {
			t.Errorf("courier %s: exit %d, stderr %q; want %q", strings.Join(args, " "), r.code, r.stderr, "courier link: "+want)
		}
	}
	c.fails(laptop, "", "7d or 2w", "link", "create", "x", "--expires", "soon")
	if r := c.run(laptop, "", "link", "create", "Everything, renamed", "--expires", "1000w", "--yes"); r.code != ExitUsage ||
		!strings.Contains(r.stderr, `--expires "1000w": a link lasts at most 3650 days`) {
		t.Errorf("link create --expires 1000w: exit %d, stderr %q; want a usage error saying the most", r.code, r.stderr)
	}
	c.fails(desktop, "", "not defined", "link", "list", "--nope")
	r = run(t, runOpts{}, "courier://delete?url=https://x.test")
	if r.code == 0 || !strings.Contains(r.stderr, "only import") {
		t.Fatalf("a courier:// URL of another action: exit %d %q", r.code, r.stderr)
	}
	srv.Stop()
	if r := c.run(laptop, "", "link", "list"); r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier link: list links: cannot connect to ") || strings.Count(r.stderr, "list links") != 1 {
		t.Errorf("link list with the server stopped: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "90m": 90 * time.Minute, "12h": 12 * time.Hour, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour} {
		if got, err := parseTTL(in); err != nil || got != want {
			t.Errorf("parseTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1h", "soon", "1y", "-3d"} {
		if _, err := parseTTL(in); err == nil {
			t.Errorf("parseTTL(%q) accepted", in)
		}
	}
	if got, err := parseTTL("3650d"); err != nil || got != syncproto.MaxLinkTTL {
		t.Errorf("parseTTL(3650d) = %v, %v; want the longest a link lasts", got, err)
	}
	// Past the longest a link lasts: a usage error naming the flag and
	// the most, before anything is sent.
	for _, in := range []string{"1000w", "3651d", "99999999999999999999d", "87700h"} {
		_, err := parseTTL(in)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), `--expires "`+in+`": a link lasts at most 3650 days`) {
			t.Errorf("parseTTL(%q) = %v; want a usage error saying the most", in, err)
		}
	}
}

// sameJSON reports whether a and b hold the same JSON value (numbers
// compared as written).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	for _, x := range []struct {
		b []byte
		v *any
	}{{a, &va}, {b, &vb}} {
		dec := json.NewDecoder(bytes.NewReader(x.b))
		dec.UseNumber()
		if err := dec.Decode(x.v); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
	}
	return reflect.DeepEqual(va, vb)
}
