// Package version tells which build of a Courier binary runs: the version
// the release build sets (the Makefile's VERSION, with -ldflags), else
// "devel" with what the Go toolchain recorded of the build.
package version

import (
	"runtime/debug"
	"strings"
)

// String returns set, the version given at build time, when it is not
// empty; else "devel" followed by the module version, the commit and the
// Go version the binary was built with, as far as the build recorded them.
func String(set string) string {
	if set = strings.TrimSpace(set); set != "" {
		return set
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return "devel (" + strings.Join(details(info), ", ") + ")"
}

// details lists what info tells of the build.
func details(info *debug.BuildInfo) []string {
	var out []string
	if v := info.Main.Version; v != "" && v != "(devel)" {
		out = append(out, "module "+v)
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified == "true" {
			rev += " with local changes"
		}
		out = append(out, "commit "+rev)
	}
	return append(out, info.GoVersion)
}
