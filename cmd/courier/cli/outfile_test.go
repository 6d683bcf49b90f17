package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// globalsProfile returns a profile with a global variable, and what
// courier export globals writes to stdout for it.
func globalsProfile(t *testing.T) (dir, want string) {
	t.Helper()
	dir = t.TempDir()
	src := `{"name":"Globals","_postman_variable_scope":"globals","values":[{"key":"g","value":"1","enabled":true}]}`
	if r := run(t, runOpts{stdin: src}, "--profile", dir, "import", "-"); r.code != ExitOK {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	r := run(t, runOpts{}, "--profile", dir, "export", "globals")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"g"`) {
		t.Fatalf("export to stdout: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	return dir, r.stdout
}

// exportTo runs courier export globals -o path.
func exportTo(t *testing.T, profile, path string) result {
	t.Helper()
	return run(t, runOpts{}, "--profile", profile, "export", "globals", "-o", path)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportReplacesAFileAndKeepsItsMode(t *testing.T) {
	profile, want := globalsProfile(t)
	file := filepath.Join(t.TempDir(), "g.json")
	if err := os.WriteFile(file, []byte("old and longer than the new content, much longer, really"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	if r := exportTo(t, profile, file); r.code != ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := mustRead(t, file); got != want {
		t.Errorf("the file holds %q, want %q", got, want)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode() != 0o640 {
		t.Errorf("the file's mode: %v, %v; want -rw-r-----", fi.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*")); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

func TestExportDashWritesToStdout(t *testing.T) {
	profile, want := globalsProfile(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	r := exportTo(t, profile, "-")
	if r.code != ExitOK || r.stdout != want {
		t.Fatalf("exit %d, stdout %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(cwd, "-")); err == nil {
		t.Error(`-o - wrote a file named "-"`)
	}
}

func TestExportToAFolderSaysSoAndLeavesItAlone(t *testing.T) {
	profile, _ := globalsProfile(t)
	parent := t.TempDir()
	t.Chdir(parent)
	if err := os.Mkdir("adir", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"adir", "adir/", "newdir/"} {
		r := exportTo(t, profile, path)
		if r.code != ExitFailure || !strings.Contains(r.stderr, "-o "+path+": is a directory") {
			t.Errorf("-o %s: exit %d, stderr %q; want it to say -o %s: is a directory", path, r.code, r.stderr, path)
		}
		oneLine(t, r.stderr)
	}
	if fi, err := os.Stat("adir"); err != nil || !fi.IsDir() {
		t.Errorf("adir is now %v, %v", fi.Mode(), err)
	}
	if names, _ := os.ReadDir(parent); len(names) != 1 {
		t.Errorf("the folder holds %v, want adir alone", names)
	}
}

func TestExportErrorsNameThePathGivenNotATemporaryFile(t *testing.T) {
	profile, _ := globalsProfile(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(dir, "missing", "out.json"), // no folder to put it in
		filepath.Join(dir, "adir"),
	} {
		r := exportTo(t, profile, path)
		if r.code != ExitFailure || !strings.Contains(r.stderr, "-o "+path+": ") {
			t.Errorf("-o %s: exit %d, stderr %q; want it to name the path", path, r.code, r.stderr)
		}
		if temp := "." + filepath.Base(path) + "."; strings.Contains(r.stderr, temp) {
			t.Errorf("-o %s: stderr %q names a temporary file", path, r.stderr)
		}
	}
}

func TestExportFollowsASymlink(t *testing.T) {
	profile, want := globalsProfile(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "real", "g.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	dangling := filepath.Join(dir, "dangling.json")
	for l, to := range map[string]string{link: "real/g.json", dangling: "real/new.json"} {
		if err := os.Symlink(to, l); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	for _, tt := range []struct {
		link, target string
		mode         fs.FileMode
	}{
		{link, target, 0o644},
		{dangling, filepath.Join(dir, "real", "new.json"), 0o600},
	} {
		if r := exportTo(t, profile, tt.link); r.code != ExitOK {
			t.Fatalf("-o %s: exit %d, stderr %q", tt.link, r.code, r.stderr)
		}
		if fi, err := os.Lstat(tt.link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink: %v, %v", tt.link, fi.Mode(), err)
		}
		if got := mustRead(t, tt.target); got != want {
			t.Errorf("the target %s holds %q, want %q", tt.target, got, want)
		}
		if fi, err := os.Stat(tt.target); err != nil || fi.Mode() != tt.mode {
			t.Errorf("the target's mode: %v, %v; want %v", fi.Mode(), err, tt.mode)
		}
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*", ".*")); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// The JSON ends with one newline, like history --json and status --json,
// on stdout and in a file alike.
func TestExportEndsWithOneNewline(t *testing.T) {
	profile, stdout := globalsProfile(t)
	file := filepath.Join(t.TempDir(), "g.json")
	if r := exportTo(t, profile, file); r.code != ExitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	dump := run(t, runOpts{}, "--profile", profile, "export", "dump")
	for what, s := range map[string]string{"stdout": stdout, "the file": mustRead(t, file), "a dump": dump.stdout} {
		if !strings.HasSuffix(s, "}\n") {
			t.Errorf("%s ends with %q, want one newline after the JSON", what, s[max(0, len(s)-5):])
		}
	}
}
