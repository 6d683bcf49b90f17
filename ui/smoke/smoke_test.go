//go:build xvfb

package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// seededHistory is how many history entries the start-up runs load from:
// the default history limit, a full history.
const seededHistory = model.DefaultHistoryLimit

func TestTheRealBinaryOpensAWindowThatDrawsSomething(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir, "cmd/courier")
	d := startXvfb(t)
	l := startWindow(t, d, dir, "Courier", bin, "--profile", filepath.Join(dir, "profile"))
	t.Logf("window mapped after %v", l.mapped)
	// The first frames follow the map; wait until the screen has content.
	shot := filepath.Join(dir, "screen.png")
	var n int
	waitUntil(10*time.Second, func() bool {
		n = colours(screenshot(t, d, shot))
		return n >= 64
	})
	if n < 64 {
		t.Fatalf("the screenshot has %d distinct colours; the window looks blank (see %s)", n, shot)
	}
	t.Logf("screenshot has %d distinct colours", n)
}

// coldStart is the outcome of one start of a program.
type coldStart struct {
	mapped time.Duration // until the window is mapped
	drawn  time.Duration // until the window shows content (screenshot polling, coarse)
	rss    int64
}

// drawnColours is how many distinct colours a window's screenshot needs to
// count as drawn: an empty window has one or two.
const drawnColours = 16

// startOnce runs bin until its window is mapped and has drawn its content,
// waits a moment more (the first frames are part of the peak), then reads
// its peak RSS and stops it.
func startOnce(tb testing.TB, d *display, home, title, bin string, args ...string) coldStart {
	tb.Helper()
	l := startWindow(tb, d, home, title, bin, args...)
	shot := filepath.Join(home, "window.png")
	waitUntil(10*time.Second, func() bool {
		return colours(screenshotWindow(tb, d, l.window, shot)) >= drawnColours
	})
	c := coldStart{mapped: l.mapped, drawn: time.Since(l.started)}
	time.Sleep(time.Second)
	c.rss = l.peakRSS(tb)
	l.stop()
	return c
}

// seedProfile makes the profile of a returning user (the welcome prompt
// dismissed) holding n history entries.
func seedProfile(tb testing.TB, dir string, n int) {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	defer db.Close()
	core, err := app.New(db, app.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := core.SkipWelcome(ctx); err != nil {
		tb.Fatalf("dismiss the welcome: %v", err)
	}
	start := time.Now().Add(-time.Duration(n) * time.Minute)
	const batch = 500
	for i := 0; i < n; i += batch {
		ops := make([]model.Op, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			e := model.HistoryEntry{ID: model.NewID(), SentAt: start.Add(time.Duration(j) * time.Minute),
				Request:  model.HistoryRequest{Request: model.Request{Method: "GET", URL: fmt.Sprintf("https://api.example.org/items/%d", j)}},
				Response: &model.Response{Status: 200, Size: 64, Body: []byte(`{"ok":true}`), ContentType: "application/json"}}
			op, err := model.UpsertOp(model.KindHistory, e.ID, &e)
			if err != nil {
				tb.Fatal(err)
			}
			ops = append(ops, op)
		}
		if err := db.Apply(ctx, ops...); err != nil {
			tb.Fatalf("seed history: %v", err)
		}
	}
}

// programs builds both binaries and a seeded profile once per test binary.
type programs struct {
	courier, hello, profile string
}

func buildPrograms(tb testing.TB) programs {
	tb.Helper()
	dir := tb.TempDir()
	p := programs{courier: build(tb, dir, "cmd/courier"), hello: build(tb, dir, "ui/smoke/hello"), profile: filepath.Join(dir, "profile")}
	seedProfile(tb, p.profile, seededHistory)
	return p
}

// BenchmarkColdStart reports, per start, the time until the window is
// mapped and the peak RSS: courier on a profile holding a full history,
// and a hello-world Fyne window as the baseline, in the same run.
func BenchmarkColdStart(b *testing.B) {
	p := buildPrograms(b)
	d := startXvfb(b)
	run := func(b *testing.B, title, bin string, args ...string) {
		var ms, drawn, mb []float64
		for i := 0; i < b.N; i++ {
			c := startOnce(b, d, b.TempDir(), title, bin, args...)
			ms = append(ms, float64(c.mapped.Microseconds())/1000)
			drawn = append(drawn, float64(c.drawn.Microseconds())/1000)
			mb = append(mb, float64(c.rss)/(1<<20))
		}
		b.ReportMetric(median(ms), "ms-to-window")
		b.ReportMetric(median(drawn), "ms-to-content")
		b.ReportMetric(median(mb), "MB-peak-RSS")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("courier", func(b *testing.B) { run(b, "Courier", p.courier, "--profile", p.profile) })
	b.Run("baseline", func(b *testing.B) { run(b, "Hello", p.hello) })
}

// TestColdStartIsCloseToHelloWorld checks the start-up budget: time to the
// first mapped window at most 1.5x a hello-world Fyne window's, and peak
// RSS at most 60 MB above it (medians of a few alternating starts).
func TestColdStartIsCloseToHelloWorld(t *testing.T) {
	p := buildPrograms(t)
	d := startXvfb(t)
	var courier, hello []coldStart
	for range 3 {
		hello = append(hello, startOnce(t, d, t.TempDir(), "Hello", p.hello))
		courier = append(courier, startOnce(t, d, t.TempDir(), "Courier", p.courier, "--profile", p.profile))
	}
	cm, hm := medianStart(courier), medianStart(hello)
	t.Logf("courier (%d history entries): %v to window, %v to content, %.0f MB peak RSS", seededHistory, cm.mapped, cm.drawn, float64(cm.rss)/(1<<20))
	t.Logf("hello-world baseline:          %v to window, %v to content, %.0f MB peak RSS", hm.mapped, hm.drawn, float64(hm.rss)/(1<<20))
	if limit := hm.mapped * 3 / 2; cm.mapped > limit {
		t.Errorf("courier maps its window after %v, over 1.5x the baseline's %v", cm.mapped, hm.mapped)
	}
	if over := cm.rss - hm.rss; over > 60<<20 {
		t.Errorf("courier's peak RSS is %.0f MB above the baseline's, over 60 MB", float64(over)/(1<<20))
	}
}

func medianStart(cs []coldStart) coldStart {
	var ms, drawn, rss []float64
	for _, c := range cs {
		ms = append(ms, float64(c.mapped))
		drawn = append(drawn, float64(c.drawn))
		rss = append(rss, float64(c.rss))
	}
	return coldStart{mapped: time.Duration(median(ms)), drawn: time.Duration(median(drawn)), rss: int64(median(rss))}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestNoDisplayIsOneClearLine runs the real binary where no X server
// answers, and where none is named: one line saying so and exit 1, never
// a panic or a stack trace.
func TestNoDisplayIsOneClearLine(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir, "cmd/courier")
	n := 0
	for i := 200; i < 300; i++ {
		if displayFree(i) {
			n = i
			break
		}
	}
	for _, disp := range []string{fmt.Sprintf(":%d", n), ""} {
		d := &display{name: disp}
		cmd := exec.Command(bin, "--profile", filepath.Join(dir, "profile"))
		cmd.Env = d.env(dir)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("DISPLAY=%q: exit %v, want 1; output:\n%s", disp, err, out)
		}
		s := string(out)
		if !strings.Contains(s, "courier: ") || !strings.Contains(s, "window") || strings.Contains(s, "internal error") || strings.Contains(s, "goroutine ") {
			t.Errorf("DISPLAY=%q: want one clear line about the window, got:\n%s", disp, s)
		}
	}
}

// TestAProfileInUseIsSaidInAWindow starts the real binary on a profile
// another process holds: someone who started Courier from a desktop icon
// has no terminal to read the error in, so it opens a window saying it.
func TestAProfileInUseIsSaidInAWindow(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir, "cmd/courier")
	profile := filepath.Join(dir, "profile")
	db, err := store.Open(context.Background(), profile, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := startXvfb(t)
	l := startWindow(t, d, dir, "Courier cannot open the profile", bin, "--profile", profile)
	shot := filepath.Join(dir, "error.png")
	var n int
	waitUntil(10*time.Second, func() bool {
		n = colours(screenshotWindow(t, d, l.window, shot))
		return n >= drawnColours
	})
	if n < drawnColours {
		t.Fatalf("the error window has %d distinct colours; it looks blank (see %s)", n, shot)
	}
	l.stop()
	if !strings.Contains(l.output.String(), "in use") {
		t.Errorf("the error is not printed as well; output:\n%s", l.output.String())
	}
}

// TestCommandsRunBesideTheWindow sends a request with `courier send` on
// the profile the real window has open, then reads it back with `courier
// history`: both go through the window's store.
func TestCommandsRunBesideTheWindow(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir, "cmd/courier")
	profile := filepath.Join(dir, "profile")
	d := startXvfb(t)
	l := startWindow(t, d, dir, "Courier", bin, "--profile", profile)
	defer l.stop()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the test server")
	}))
	defer srv.Close()
	command := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = d.env(dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("courier %s beside the window: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := command("send", "--profile", profile, srv.URL+"/beside-the-window"); !strings.Contains(out, "hello from the test server") {
		t.Fatalf("send printed %q", out)
	}
	if out := command("history", "--profile", profile); !strings.Contains(out, "/beside-the-window") {
		t.Fatalf("history printed %q", out)
	}
}
