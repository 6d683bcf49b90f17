//go:build chromium

package syncserver_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
)

// chromiumArgs are the flags that keep headless Chromium from reaching
// out or needing a sandbox; the page is served over TLS by the dev CA,
// which this throwaway profile does not trust.
func chromiumArgs(userData string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--ignore-certificate-errors", "--user-data-dir=" + userData}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y --no-install-recommends chromium)")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(chromiumArgs(t.TempDir()), args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestLinkPageInChromium opens a link's page in headless Chromium: the
// rendered DOM holds the collection's name and requests (escaped markup
// stays text), and the screenshot is not blank.
func TestLinkPageInChromium(t *testing.T) {
	bin := chromium(t)
	e, tok := linkEnv(t)
	snap := snapshot("Chromium <Pets>", "Shown in a real browser")
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snap})
	mustOK(t, "create", perr)

	dom := string(runChromium(t, bin, "--dump-dom", info.URL))
	for _, want := range []string{"Chromium &lt;Pets&gt;", "List users", "https://api.example.com/users?page=1", "Download", "Open in Courier"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q:\n%s", want, dom)
		}
	}
	if strings.Contains(dom, "<Pets>") {
		t.Errorf("the name's markup was not escaped:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "link.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", info.URL)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Fatalf("screenshot is %v", b)
	}
	if n := colours(img); n < 8 {
		t.Fatalf("screenshot has %d colours: blank", n)
	}
	if os.Getenv("COURIER_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("COURIER_KEEP_SCREENSHOT"), data, 0o644)
	}
}

// colours counts the distinct colours of img, sampling every 4th pixel.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
