package cli

import (
	"bufio"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// A profile has one owner at a time: the store locks its file. While the
// desktop window (or courier sync --watch) owns a profile, it also listens
// on a Unix socket in the profile's folder, and the data commands of
// other courier processes (send, history, import, export: those that
// open the profile with Env.OpenApp) reach its store through it. Only the
// calls of app.Store cross, one at a time, as lines of JSON; the command
// does everything else itself (its files, relative to its own folder;
// HTTP; its output), and the owner sees the command's writes at once.
// Status asks the owner for its account and live sync status ("status");
// sync --watch follows it. The commands that sync or change the account
// (sync, login, link, ...) still need the profile to themselves, since
// the owner's sync owns those. The owner's hello names it, for messages.
//
// The socket is the owner's only (mode 0600), and a command must also
// prove that it can read the profile's key from the OS keyring, as the
// window did to open the profile: the window sends a random challenge,
// the command answers with an HMAC of it under the key. So the socket
// hands secret values to no process the keyring would refuse them to.
// A profile without a key (no keyring: its secret values are stored
// unsealed) needs no proof.

// socketName is the socket's file in the profile's folder.
const socketName = "courier.sock"

// liveStatus holds the window's status source, set once its sync is
// wired (nil until then).
type liveStatus struct {
	fn atomic.Pointer[func(context.Context) (app.Account, app.SyncStatus, error)]
}

// windowStatus is the answer to a "status" call: the window's account
// (zero when the profile has none) and its sync status as the window
// shows it.
type windowStatus struct {
	Account app.Account    `json:"account"`
	Sync    app.SyncStatus `json:"sync"`
}

// status answers a "status" call.
func (l *liveStatus) status(ctx context.Context) storeReply {
	fn := l.fn.Load()
	if fn == nil {
		return storeReply{Error: "the Courier window tells no status (its store cannot sync)", Kind: "not_found"}
	}
	a, st, err := (*fn)(ctx)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return storeReply{Error: err.Error(), Kind: "unavailable"}
	}
	b, err := json.Marshal(windowStatus{Account: a, Sync: st})
	if err != nil {
		return storeReply{Error: err.Error()}
	}
	return storeReply{Result: b}
}

// storeCall is one call of app.Store: Method and the arguments it takes.
type storeCall struct {
	Method string            `json:"method"`
	Kind   model.Kind        `json:"kind,omitempty"`
	ID     model.ID          `json:"id,omitempty"`
	Ops    []model.Op        `json:"ops,omitempty"`
	Query  *app.HistoryQuery `json:"query,omitempty"`
	Key    string            `json:"key,omitempty"`
	Value  json.RawMessage   `json:"value,omitempty"`
}

// storeReply is a call's result, or its error with the model error it
// wraps (see errorKinds).
type storeReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Kind   string          `json:"kind,omitempty"`
}

// socketHello opens every connection: the challenge, whether the
// profile has a key to answer it with, and who owns the profile, for the
// command's messages ("" from a window of an older Courier).
type socketHello struct {
	Challenge []byte `json:"challenge"`
	Keyed     bool   `json:"keyed"`
	Owner     string `json:"owner,omitempty"`
}

// The owners of a profile that serve it through its socket, as messages
// name them.
const (
	ownerWindow = "the Courier window"
	ownerWatch  = "courier sync --watch"
)

// socketProof answers it: proofOf the challenge, or nothing when the
// profile has no key. The window replies with an empty storeReply, or
// one with the error that ends the connection.
type socketProof struct {
	Proof []byte `json:"proof,omitempty"`
}

// proofOf is the HMAC-SHA256 of challenge under the profile's key.
func proofOf(key, challenge []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("courier profile socket\x00"))
	mac.Write(challenge)
	return mac.Sum(nil)
}

// handshakeTimeout bounds the challenge and its answer.
const handshakeTimeout = 5 * time.Second

// errorKinds names the model errors a reply carries across.
var errorKinds = map[string]error{
	"not_found": model.ErrNotFound, "invalid": model.ErrInvalid, "conflict": model.ErrConflict,
	"unavailable": model.ErrUnavailable, "unauthorized": model.ErrUnauthorized, "too_large": model.ErrTooLarge,
}

// serveProfile lets the data commands of other courier processes use st,
// the store of the profile in dir sealed with key (nil: none), until the
// returned stop. Without a socket (a folder path too long for one, say)
// those commands say the profile is in use, as before.
func serveProfile(dir, owner string, st app.Store, key []byte, live *liveStatus, log *slog.Logger) (stop func()) {
	path := filepath.Join(dir, socketName)
	_ = os.Remove(path) // left by an owner that crashed: this one holds the profile now
	ln, err := net.Listen("unix", path)
	if err != nil {
		log.Warn("other courier commands cannot use this profile while it is open here", "owner", owner, "err", err)
		return func() {}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		log.Warn("cannot restrict the profile's socket to its owner", "err", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveStoreConn(ctx, c, owner, st, key, live) })
		}
	})
	return func() {
		cancel()       // hangs up on every command
		_ = ln.Close() // removes the socket file
		wg.Wait()
	}
}

// serveStoreConn answers the calls of one command until it hangs up or
// ctx ends, once it proved it can read key.
func serveStoreConn(ctx context.Context, c net.Conn, owner string, st app.Store, key []byte, live *liveStatus) {
	defer c.Close()
	defer context.AfterFunc(ctx, func() { _ = c.Close() })()
	dec := json.NewDecoder(bufio.NewReader(c))
	enc := json.NewEncoder(c)
	challenge := make([]byte, 32)
	_, _ = rand.Read(challenge)
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var proof socketProof
	if enc.Encode(socketHello{Challenge: challenge, Keyed: key != nil, Owner: owner}) != nil || dec.Decode(&proof) != nil {
		return
	}
	if key != nil && !hmac.Equal(proof.Proof, proofOf(key, challenge)) {
		_ = enc.Encode(storeReply{Error: "the key this command read from the OS keyring is not the profile's", Kind: "unauthorized"})
		return
	}
	if enc.Encode(storeReply{}) != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	for {
		var call storeCall
		if err := dec.Decode(&call); err != nil {
			return
		}
		var reply storeReply
		if call.Method == "status" && live != nil {
			reply = live.status(ctx)
		} else {
			reply = callStore(ctx, st, call)
		}
		if err := enc.Encode(reply); err != nil {
			return
		}
	}
}

// callStore makes call on st.
func callStore(ctx context.Context, st app.Store, call storeCall) storeReply {
	var (
		out any
		err error
	)
	switch call.Method {
	case "get":
		out, err = st.Get(ctx, call.Kind, call.ID)
	case "list":
		out, err = st.List(ctx, call.Kind)
	case "apply":
		err = st.Apply(ctx, call.Ops...)
	case "history":
		var q app.HistoryQuery
		if call.Query != nil {
			q = *call.Query
		}
		out, err = st.History(ctx, q)
	case "history_count":
		out, err = st.HistoryCount(ctx)
	case "setting":
		var v json.RawMessage
		err = st.Setting(ctx, call.Key, &v)
		out = v
	case "set_setting":
		err = st.SetSetting(ctx, call.Key, call.Value)
	case "dir":
		out = st.Dir()
	default:
		err = fmt.Errorf("unknown store call %q: %w", call.Method, model.ErrInvalid)
	}
	if err != nil {
		r := storeReply{Error: err.Error()}
		for name, kind := range errorKinds {
			if errors.Is(err, kind) {
				r.Kind = name
			}
		}
		return r
	}
	b, err := json.Marshal(out)
	if err != nil {
		return storeReply{Error: fmt.Sprintf("encode the result of %s: %v", call.Method, err)}
	}
	return storeReply{Result: b}
}

// openOwned opens the profile in dir for a command that needs it to
// itself (the account, sync, links): when the window has it open, the
// error says so, and what works beside it.
func (e *Env) openOwned(ctx context.Context, dir string) (*Profile, error) {
	p, err := e.openProfile(ctx, dir)
	if errors.Is(err, store.ErrProfileLocked) {
		switch profileOwner(dir) {
		case "":
			return nil, heldByCommand(dir)
		case ownerWatch:
			return nil, fmt.Errorf("courier sync --watch has the profile %s open: stop it first (send, history, import, export and status work beside it): %w", dir, store.ErrProfileLocked)
		}
		return nil, fmt.Errorf("the Courier window has the profile %s open: use its account and sync settings, or close it first (send, history, import, export and status work beside it): %w", dir, store.ErrProfileLocked)
	}
	return p, err
}

// heldByCommand is the error for a profile locked by an owner that does
// not listen: another command (a window listens once it is up).
func heldByCommand(dir string) error {
	return fmt.Errorf("the profile %s is in use by another courier command (courier sync --watch holds it while it runs); wait until it ends or stop it: %w", dir, store.ErrProfileLocked)
}

// remoteStore is the store of a profile another courier process (the
// window) owns, reached through its socket. It implements app.Store; its
// Subscribe tells nothing (the owner's subscribers hear of the writes).
type remoteStore struct {
	mu  sync.Mutex // one call at a time
	c   net.Conn
	dec *json.Decoder
	enc *json.Encoder
	dir string
	// owner names the owner in messages (ownerWindow, ownerWatch).
	owner string
}

// profileOwner names the owner that serves the profile in dir through
// its socket (ownerWindow or ownerWatch), or "" when none listens.
func profileOwner(dir string) string {
	c, err := net.DialTimeout("unix", filepath.Join(dir, socketName), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var hello socketHello
	if json.NewDecoder(c).Decode(&hello) != nil || hello.Owner == "" {
		return ownerWindow
	}
	return hello.Owner
}

// errNoWindow is a profile whose socket nobody listens on: no window has
// it open.
var errNoWindow = errors.New("no Courier window has the profile open")

// windowSilent reports whether err, from asking the window that has the
// profile open, means it tells nothing: no window listens, or it tells no
// status.
func windowSilent(err error) bool {
	return errors.Is(err, errNoWindow) || errors.Is(err, model.ErrNotFound)
}

// dialWindow connects to the window that has the command's profile open,
// proving it can read the profile's key (see dialProfile).
func (e *Env) dialWindow(ctx context.Context) (*remoteStore, error) {
	dir, err := app.ProfileDirFrom(e.profile, e.Getenv)
	if err != nil {
		return nil, err
	}
	return dialProfile(ctx, dir, func(ctx context.Context) ([]byte, error) {
		return e.profileSecrets(dir).Get(ctx, storeKeyName)
	})
}

// dialProfile connects to the window that owns the profile in dir,
// answering its challenge with the key that key reads (from the OS
// keyring) when the profile has one. It fails with errNoWindow when no
// window listens.
func dialProfile(ctx context.Context, dir string, key func(context.Context) ([]byte, error)) (*remoteStore, error) {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "unix", filepath.Join(dir, socketName))
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %w", errNoWindow, dir, err)
	}
	r := &remoteStore{c: c, dec: json.NewDecoder(bufio.NewReader(c)), enc: json.NewEncoder(c)}
	if err := r.handshake(ctx, dir, key); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := r.call(ctx, storeCall{Method: "dir"}, &r.dir); err != nil {
		_ = c.Close()
		return nil, err
	}
	return r, nil
}

// handshake answers the window's challenge.
func (r *remoteStore) handshake(ctx context.Context, dir string, key func(context.Context) ([]byte, error)) error {
	_ = r.c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer r.c.SetDeadline(time.Time{})
	var hello socketHello
	if err := r.dec.Decode(&hello); err != nil {
		return fmt.Errorf("the Courier that has the profile %s open did not answer: %w: %w", dir, model.ErrUnavailable, err)
	}
	r.owner = cmp.Or(hello.Owner, ownerWindow)
	var proof socketProof
	if hello.Keyed {
		k, err := key(ctx)
		if err != nil {
			return fmt.Errorf("%s has the profile %s open, and this command cannot read the profile's key from the OS keyring to use the profile through it (stop it, or unlock the keyring): %w", r.owner, dir, store.ErrSecretsLocked)
		}
		proof.Proof = proofOf(k, hello.Challenge)
	}
	var reply storeReply
	if err := r.enc.Encode(proof); err != nil {
		return fmt.Errorf("%s, which has the profile %s open, did not answer: %w: %w", r.owner, dir, model.ErrUnavailable, err)
	}
	if err := r.dec.Decode(&reply); err != nil {
		return fmt.Errorf("%s, which has the profile %s open, did not answer: %w: %w", r.owner, dir, model.ErrUnavailable, err)
	}
	if reply.Error != "" {
		return fmt.Errorf("%s, which has the profile %s open, refused this command: %s: %w", r.owner, dir, reply.Error, store.ErrSecretsLocked)
	}
	return nil
}

// remoteError is an error the owner's store returned.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// call makes c on the owner's store and decodes its result into out.
func (r *remoteStore) call(ctx context.Context, c storeCall, out any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.c.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = r.c.SetDeadline(time.Now()) })
	defer stop()
	var reply storeReply
	err := r.enc.Encode(c)
	if err == nil {
		err = r.dec.Decode(&reply)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s, which has the profile open, stopped answering (%v): %w", r.owner, err, model.ErrUnavailable)
	}
	if reply.Error != "" {
		return &remoteError{msg: reply.Error, kind: errorKinds[reply.Kind]}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Result, out); err != nil {
		return fmt.Errorf("the result of %s from %s: %w", c.Method, r.owner, err)
	}
	return nil
}

// Close hangs up.
func (r *remoteStore) Close() error { return r.c.Close() }

// Get implements app.Store.
func (r *remoteStore) Get(ctx context.Context, kind model.Kind, id model.ID) (model.Record, error) {
	var rec model.Record
	err := r.call(ctx, storeCall{Method: "get", Kind: kind, ID: id}, &rec)
	return rec, err
}

// List implements app.Store.
func (r *remoteStore) List(ctx context.Context, kind model.Kind) ([]model.Record, error) {
	var recs []model.Record
	err := r.call(ctx, storeCall{Method: "list", Kind: kind}, &recs)
	return recs, err
}

// Apply implements app.Store.
func (r *remoteStore) Apply(ctx context.Context, ops ...model.Op) error {
	return r.call(ctx, storeCall{Method: "apply", Ops: ops}, nil)
}

// History implements app.Store.
func (r *remoteStore) History(ctx context.Context, q app.HistoryQuery) ([]model.HistorySummary, error) {
	var out []model.HistorySummary
	err := r.call(ctx, storeCall{Method: "history", Query: &q}, &out)
	return out, err
}

// HistoryCount implements app.Store.
func (r *remoteStore) HistoryCount(ctx context.Context) (int, error) {
	var n int
	err := r.call(ctx, storeCall{Method: "history_count"}, &n)
	return n, err
}

// Setting implements app.Store.
func (r *remoteStore) Setting(ctx context.Context, key string, v any) error {
	var raw json.RawMessage
	if err := r.call(ctx, storeCall{Method: "setting", Key: key}, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("setting %s: %w: %w", key, model.ErrInvalid, err)
	}
	return nil
}

// SetSetting implements app.Store.
func (r *remoteStore) SetSetting(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("setting %s: %w: %w", key, model.ErrInvalid, err)
	}
	return r.call(ctx, storeCall{Method: "set_setting", Key: key, Value: b}, nil)
}

// Subscribe implements app.Store: this process hears of nothing.
func (r *remoteStore) Subscribe(func(app.Changes)) (cancel func()) { return func() {} }

// Dir implements app.Store.
func (r *remoteStore) Dir() string { return r.dir }
