package syncserver

import "testing"

func TestWantsHTML(t *testing.T) {
	tests := []struct {
		name, accept string
		want         bool
	}{
		{"no header means JSON", "", false},
		{"any type means JSON", "*/*", false},
		{"JSON asked", "application/json", false},
		{"Firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"Chromium", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", true},
		{"JSON preferred over HTML", "application/json, text/html;q=0.5", false},
		{"HTML refused", "text/html;q=0, */*", false},
		{"text of any kind", "text/*", true},
		{"garbage", ";;;,,==", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantsHTML(tt.accept); got != tt.want {
				t.Fatalf("wantsHTML(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

func TestDownloadName(t *testing.T) {
	for in, want := range map[string]string{
		"Pet Store":       "Pet Store.postman_collection.json",
		"a/b\\c:d\"e\r\n": "a_b_c_d_e.postman_collection.json",
		"   ":             "collection.postman_collection.json",
		"ünïcode ✓":       "ünïcode ✓.postman_collection.json",
	} {
		if got := downloadName(in); got != want {
			t.Errorf("downloadName(%q) = %q, want %q", in, got, want)
		}
	}
}
