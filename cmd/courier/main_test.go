package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/store"
)

// TestMain lets the tests run this binary's main: with COURIER_RUN_MAIN set,
// the test binary is courier itself (Fyne and all), with the arguments
// after "--".
func TestMain(m *testing.M) {
	if os.Getenv("COURIER_RUN_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"courier"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// courier runs the whole program with args and the given environment.
func courier(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"COURIER_RUN_MAIN=1"}, env...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func TestInitRunsBeforeFyne(t *testing.T) {
	for _, lang := range []string{"C.UTF-8", "en_US.UTF-8"} {
		t.Run(lang, func(t *testing.T) {
			dir := newProfile(t)
			code, _, stderr := courier(t, []string{"LANG=" + lang, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE="}, "history", "--profile", dir)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want a silent success", code, stderr)
			}
		})
	}
}

// newProfile returns the folder of a new, empty profile.
func newProfile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSecondInstanceNamesProfileFlag(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, stdout, stderr := courier(t, nil, "--profile", dir)
	want := "courier: the profile " + dir + " is in use by another Courier; to run a second one, start it with --profile DIR naming another folder\n"
	if code != 1 || stderr != want || stdout != "" {
		t.Fatalf("exit %d stdout %q stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
}

func TestHelpOfTheBinary(t *testing.T) {
	code, stdout, _ := courier(t, nil, "--help")
	if code != 0 || !strings.Contains(stdout, "send") || !strings.Contains(stdout, "history") {
		t.Fatalf("exit %d stdout %q", code, stdout)
	}
}

// A command prints no log lines: what matters, its own messages say (here
// the notice about a damaged file set aside). COURIER_LOG turns the log
// on, on stderr.
func TestCommandsLogOnlyWhenAsked(t *testing.T) {
	damaged := func() string {
		dir := t.TempDir()
		junk := make([]byte, 64<<10)
		_, _ = rand.Read(junk)
		if err := os.WriteFile(filepath.Join(dir, store.FileName), junk, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	const notice = "courier: Courier could not read its database, so it started a new one; the old file was kept as "
	code, stdout, stderr := courier(t, []string{"COURIER_LOG="}, "history", "--profile", damaged())
	if code != 0 || stdout != "" || !strings.HasPrefix(stderr, notice) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("history of a damaged profile: exit %d, stdout %q, stderr %q; want the notice alone", code, stdout, stderr)
	}
	for _, level := range []string{"warn", "debug"} {
		code, _, stderr = courier(t, []string{"COURIER_LOG=" + level}, "history", "--profile", damaged())
		if code != 0 || !strings.Contains(stderr, `level=WARN msg="profile database damaged; kept aside"`) || !strings.Contains(stderr, notice) {
			t.Fatalf("COURIER_LOG=%s: exit %d, stderr %q; want the log line and the notice", level, code, stderr)
		}
	}
	if code, _, stderr = courier(t, []string{"COURIER_LOG=error"}, "history", "--profile", damaged()); code != 0 || strings.Contains(stderr, "level=") {
		t.Fatalf("COURIER_LOG=error: exit %d, stderr %q; want no WARN line", code, stderr)
	}
}
