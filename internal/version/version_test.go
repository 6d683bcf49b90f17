package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestStringIsTheSetVersionElseDevel(t *testing.T) {
	if got := String("0.1.0"); got != "0.1.0" {
		t.Errorf("String(0.1.0) = %q", got)
	}
	if got := String(""); !strings.HasPrefix(got, "devel") {
		t.Errorf("String(\"\") = %q, want devel...", got)
	}
}

func TestDetailsTellTheModuleCommitAndGo(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := strings.Join(details(info), ", "), "module v0.2.0, commit 0123456789ab with local changes, go1.26.0"; got != want {
		t.Errorf("details = %q, want %q", got, want)
	}
	info = &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}
	if got := strings.Join(details(info), ", "); got != "go1.26.0" {
		t.Errorf("details of a plain build = %q", got)
	}
}
