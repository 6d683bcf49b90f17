package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

func TestDevWithPostgresKeepsOnlyCertsAndMailInTheDataDir(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	m := NewMain()
	env := map[string]string{"COURIER_DB": url, "COURIER_DB_MAX_CONNS": "3"}
	if err := m.ParseFlags([]string{"--dev", "--addr", "127.0.0.1:0", "--data", dir}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	m.Stderr = io.Discard
	start(t, m)
	client := trusting(t, filepath.Join(dir, syncserver.DevCAFile))
	resp, err := client.Get("https://" + m.Addr() + syncproto.PathHealth)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	status, body := postJSON(t, client, "https://"+m.Addr()+syncproto.PathSignUp, syncproto.SignUpRequest{
		Username: "pat", Email: "pat@example.com", Credentials: creds(), RecoveryWrappedKey: bytes.Repeat([]byte{4}, 72)})
	if status != http.StatusAccepted {
		t.Fatalf("sign up: %d %s", status, body)
	}
	// Sign-up stores the account on the mail queue: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := m.store.AccountByUsername(context.Background(), "pat")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account is not in PostgreSQL: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "server.db")); !os.IsNotExist(err) {
		t.Fatalf("a bbolt file was made beside PostgreSQL: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, syncserver.DevCAFile)); err != nil {
		t.Fatalf("dev CA: %v", err)
	}
}

func TestDBFlagsRefuseBadValues(t *testing.T) {
	tests := []struct {
		name, db, maxConns, want string
	}{
		{"NotAPostgresURL", "mysql://db", "", "postgres://"},
		{"PoolSizeNotANumber", "postgres://127.0.0.1:1/x", "many", "--db-max-conns"},
		{"PoolSizeZero", "postgres://127.0.0.1:1/x", "0", "--db-max-conns"},
		{"PoolSizeWithoutDB", "", "4", "needs --db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Dev: true, DataDir: t.TempDir(), BindAddr: "127.0.0.1:0", DB: tt.db, DBMaxConns: tt.maxConns, Stderr: io.Discard}
			err := m.Open(context.Background())
			m.Close()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
