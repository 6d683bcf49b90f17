package syncclient

import (
	"log/slog"
	"strings"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncproto"
)

// EngineFor returns the app.NewSyncEngine of a profile, for wiring
// app.NewSync in cmd/courier: each engine syncs st with the session's
// server, trusting caFile (empty: the CA file remembered with the
// account), through proxy (the profile's proxy setting: "", "direct" or
// a URL).
func EngineFor(st Store, caFile, proxy string, log *slog.Logger) app.NewSyncEngine {
	return func(s app.Session) (app.SyncEngine, error) {
		ca := caFile
		if ca == "" {
			ca = s.Account.CAFile
		}
		return NewEngine(EngineConfig{
			ServerURL: s.Account.ServerURL, CAFile: ca, Proxy: proxy,
			Token: s.Token, Key: s.Key, DeviceID: DeviceID(s.Account.SessionID),
			Store: st, Logger: log,
		})
	}
}

// DeviceID makes s (a session id, say) fit hello's device_id: printable
// ASCII, at most syncproto.MaxDeviceIDLen bytes, "courier" when empty.
func DeviceID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, s)
	if len(s) > syncproto.MaxDeviceIDLen {
		s = s[:syncproto.MaxDeviceIDLen]
	}
	if s == "" {
		return "courier"
	}
	return s
}
