package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// FuzzImport feeds anything to Import over a real store: it never panics,
// and when it fails the store holds what it held before.
func FuzzImport(f *testing.F) {
	for _, s := range []string{
		`{"info":{"name":"X"},"item":[{"name":"a","request":{"url":"http://a"}}]}`,
		`{"name":"Dev","values":[{"key":"a","value":"1"}]}`,
		`[{"key":"g","value":"1"}]`,
		`{"collections":[],"environments":[],"globals":[],"version":1}`,
		"curl -X POST https://example.com -d a=1",
		`{"info":{"name":"X"},"item":[{"name":"b","request":{"url":7}}]}`,
	} {
		f.Add([]byte(s))
	}
	db, err := store.Open(context.Background(), f.TempDir(), store.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	a, err := app.New(db, app.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := fmt.Sprint(counts(t, db))
		_, err := a.Import(context.Background(), bytes.NewReader(data), app.ImportOptions{})
		if err == nil {
			return
		}
		if !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrTooLarge) {
			t.Errorf("error %v wraps neither ErrInvalid nor ErrTooLarge", err)
		}
		if after := fmt.Sprint(counts(t, db)); after != before {
			t.Errorf("a failed import changed the store: %s -> %s", before, after)
		}
	})
}
