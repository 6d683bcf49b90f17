// Package pgtest gives tests a fresh PostgreSQL schema of the database at
// COURIER_PG_URL (scripts/pg.sh starts a throwaway cluster and sets it),
// or skips them when it is unset. A test that must stop or crash the
// database server itself starts a private cluster with StartCluster
// instead (it needs PostgreSQL's binaries, not COURIER_PG_URL).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the base URL.
const Env = "COURIER_PG_URL"

// URL returns the URL of a fresh, empty schema (its search_path), dropped
// when the test ends. Without COURIER_PG_URL the test is skipped.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set: run under scripts/pg.sh for a throwaway PostgreSQL cluster")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs one statement on the database at url.
func Exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	exec(t, url, sql, args...)
}

func exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("connect to %s: %v", Env, err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Errorf("%s: %v", sql, err)
	}
}
