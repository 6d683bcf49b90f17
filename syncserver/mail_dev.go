package syncserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DevMailbox is the mailer of --dev: each message becomes an .eml file in
// Dir, and its links are logged so a developer can click them.
type DevMailbox struct {
	Dir  string
	From string
	Log  *slog.Logger
	Now  func() time.Time
}

// Send writes m to Dir/<time>-<kind>-<random>.eml (mode 0600).
func (d *DevMailbox) Send(ctx context.Context, m Message) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	raw, err := m.Compose(d.From, now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("dev mailbox %s: %w", d.Dir, err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := fmt.Sprintf("%s-%s-%s.eml", now().UTC().Format("20060102T150405.000"), m.Kind, hex.EncodeToString(suffix))
	path := filepath.Join(d.Dir, name)
	// Write under a name no reader looks for, then rename: whoever watches
	// the folder (a mail viewer, a test, a script) never sees half a file.
	tmp := path + ".part"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dev mailbox: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dev mailbox: write %s: %w", path, err)
	}
	if d.Log != nil {
		d.Log.Info("dev mail saved", "file", path, "kind", m.Kind, "subject", m.Subject, "links", m.Links)
	}
	return nil
}
