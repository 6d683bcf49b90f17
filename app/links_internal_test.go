package app

import "testing"

// A finding shows enough of a credential to tell which it is, never most
// of a short one.
func TestPreviewShowsAQuarterOfACredentialAtMostFourCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"abc":                             "•••",
		"secr":                            "s…",
		"secre":                           "s…",
		"hunter22":                        "hu…",
		"ghp_0123456789ab":                "ghp_…",
		"Bearer eyJhbGciOiJIUzI1NiJ9.x.y": "Bear…",
		"ключключ":                        "кл…",
	} {
		if got := preview(in); got != want {
			t.Errorf("preview(%q) = %q; want %q", in, got, want)
		}
	}
}
