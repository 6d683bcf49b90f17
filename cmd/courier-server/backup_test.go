package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
)

// The server started with --backup-dir writes a backup at once, then one
// every --backup-every, keeps the newest --backup-keep, and each opens
// as a database of the server's.
func TestBackupsAreWrittenWhileTheServerRunsAndPruned(t *testing.T) {
	dir, backupDir := t.TempDir(), filepath.Join(t.TempDir(), "backups")
	logs := &servertest.Buffer{}
	m := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: logs,
		BackupDir: backupDir, BackupEvery: "1s", BackupKeep: "2"}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		m.Close()
	}()
	written := regexp.MustCompile(`msg="backup written" file=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for len(written.FindAllString(logs.String(), -1)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 3 backups in 30 s; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := trusting(t, filepath.Join(dir, syncserver.DevCAFile)).Get("https://" + m.Addr() + syncproto.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"courier_backup_last_success_timestamp_seconds 1.", "courier_backup_failures_total 0", "courier_backup_last_size_bytes "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel() // the server stops, and its backups with it
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	logged := written.FindAllStringSubmatch(logs.String(), -1)
	names, _ := filepath.Glob(filepath.Join(backupDir, "server-*.db"))
	if len(names) != 2 || names[1] != logged[len(logged)-1][1] || names[0] != logged[len(logged)-2][1] {
		t.Fatalf("kept %v, want the two newest of %v", names, logged)
	}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup %s: %v, %v; want mode 0600", name, fi, err)
		}
		db, err := boltstore.Open(name)
		if err != nil {
			t.Fatalf("open backup %s: %v", name, err)
		}
		if _, err := db.Stats(context.Background()); err != nil {
			t.Errorf("read backup %s: %v", name, err)
		}
		db.Close()
	}
}

func TestBackupFlagsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		m    Main
		want string
	}{
		{Main{BackupEvery: "1h"}, "--backup-every and --backup-keep need --backup-dir"},
		{Main{BackupDir: "b", DB: "postgres://x/y"}, "with --db, back up PostgreSQL"},
		{Main{BackupDir: "b", BackupEvery: "soon"}, "--backup-every"},
		{Main{BackupDir: "b", BackupEvery: "10ms"}, "--backup-every"},
		{Main{BackupDir: "b", BackupKeep: "0"}, "--backup-keep"},
	} {
		m := tc.m
		m.Dev, m.DataDir, m.BindAddr, m.Stderr = true, t.TempDir(), "127.0.0.1:0", io.Discard
		if m.BackupDir != "" {
			m.BackupDir = filepath.Join(m.DataDir, m.BackupDir)
		}
		err := m.Open(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one saying %q", tc.m, err, tc.want)
		}
	}
}

// A restart does not back up again before the interval since the newest
// copy has passed; a copy older than that is followed by one at once.
func TestBackupsResumeFromTheNewestCopy(t *testing.T) {
	db, err := boltstore.Open(filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		age   time.Duration
		fresh bool // a new copy is written at once
	}{{time.Hour, false}, {25 * time.Hour, true}} {
		dir := t.TempDir()
		old := filepath.Join(dir, "server-"+now.Add(-tc.age).Format(backupTimeLayout)+".db")
		if err := os.WriteFile(old, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		b := newBackups(dir, func() time.Time { return now })
		b.db, b.log = db, slog.New(slog.DiscardHandler)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		b.run(ctx)
		cancel()
		if got := len(b.copies()); got != map[bool]int{false: 1, true: 2}[tc.fresh] {
			t.Errorf("newest copy %v old: %d copies after a start, want a new one: %v", tc.age, got, tc.fresh)
		}
	}
}

// --mark-restored readies the data put back from a plain copy, and
// serves nothing.
func TestMarkRestoredFlagMovesTheStreams(t *testing.T) {
	dir := t.TempDir()
	db, err := boltstore.Open(filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acct := syncserver.Account{ID: "acct-1", Username: "ann", Email: "ann@example.com", EmailConfirmed: true, CreatedAt: time.Now(),
		Secrets: syncserver.AccountSecrets{KDFSalt: make([]byte, 16), KDFParams: syncproto.DefaultKDFParams, AuthHash: make([]byte, 32), WrappedAccountKey: make([]byte, 72), RecoveryWrappedKey: make([]byte, 72)}}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	op := []model.Op{{OpID: "op-1", Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": []byte(`"x"`)}}}
	if _, err := db.Push(ctx, acct.ID, op, syncserver.Quota{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	logs := &servertest.Buffer{}
	m := &Main{Stderr: logs}
	if err := m.ParseFlags([]string{"--mark-restored", "--data", dir}, func(string) string { return "" }); err != nil || !m.MarkRestored {
		t.Fatalf("ParseFlags: %v, mark %v", err, m.MarkRestored)
	}
	if err := m.RunMarkRestored(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "restored data marked") || !strings.Contains(logs.String(), "accounts=1") {
		t.Errorf("logs: %s", logs.String())
	}
	db, err = boltstore.Open(filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if foreign, err := db.ForeignCursor(ctx, acct.ID, 2); err != nil || !foreign {
		t.Fatalf("a cursor past the restored head is foreign = %v, %v; want true", foreign, err)
	}
}
