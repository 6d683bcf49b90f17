// Package quietlocale keeps Fyne from logging a locale error on every run
// under a "C.UTF-8" locale (common in containers and CI): Fyne's lang
// package reads the locale in its init and cannot parse "C". Importing this
// package for its side effect sets LANGUAGE=en in that case, which only
// chooses the language of messages.
//
// It works because Go initialises packages in import-path order among those
// whose imports are ready: this package needs only the standard library and
// its path sorts before github.com/jeandeaual/go-locale, which Fyne's lang
// needs, so it runs first. TestInitRunsBeforeFyne in cmd/courier checks it.
package quietlocale

import (
	"os"
	"strings"
)

func init() { Apply(os.Getenv, os.Setenv) }

// Apply sets LANGUAGE to "en" when the locale in effect (the first of
// LC_ALL, LC_MESSAGES, LANG that is set) is a "C." or "POSIX." one and
// LANGUAGE is unset.
func Apply(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LANGUAGE") != "" {
		return
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.") {
			_ = setenv("LANGUAGE", "en")
		}
		return
	}
}
