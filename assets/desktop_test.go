package assets

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestDesktopEntryHandlesCourierURLs checks what makes the desktop hand
// courier:// URLs to the app: the scheme's MIME type, and an Exec line
// that passes the URL (%u) as the only argument.
func TestDesktopEntryHandlesCourierURLs(t *testing.T) {
	f, err := os.Open("courier.desktop")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			keys[k] = v
		}
	}
	if !strings.Contains(keys["MimeType"], "x-scheme-handler/courier;") {
		t.Errorf("MimeType = %q, want x-scheme-handler/courier;", keys["MimeType"])
	}
	if keys["Exec"] != "courier %u" || keys["Type"] != "Application" || keys["Name"] == "" {
		t.Errorf("Exec = %q, Type = %q, Name = %q", keys["Exec"], keys["Type"], keys["Name"])
	}
}
