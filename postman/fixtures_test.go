package postman

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// sharedFixtures is the real-world corpus beside the repository.
const sharedFixtures = "../../shared/fixtures/postman"

// brokenFixtures are the shared files that are not Postman files; each
// must fail with a clear error that says this.
var brokenFixtures = map[string]string{
	"schemas__v2.0.0__index.json":                      "JSON Schema",
	"schemas__v2.1.0__index.json":                      "JSON Schema",
	"schemas__draft-04-v2.1.0-collection-request.json": "JSON Schema",
	"schemas__draft-04-v2.1.0-collection-auth.json":    "line 24, column 5",
}

func TestSharedFixturesImportAndRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedFixtures, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("the shared fixtures are not present at %s", sharedFixtures)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if want, broken := brokenFixtures[name]; broken {
				_, err := Import(context.Background(), bytes.NewReader(data), Options{})
				if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), want) {
					t.Fatalf("import error = %v, want one wrapping ErrInvalid that mentions %q", err, want)
				}
				return
			}
			checkRoundTrip(t, data)
		})
	}
}

func TestTestdataImportAndRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../testdata/postman/*.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no files in testdata/postman")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, data)
		})
	}
}
