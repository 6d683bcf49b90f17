package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// acctStore is a Store holding only settings, kept JSON-encoded as the
// real one does, so a test can scan every byte written.
type acctStore struct {
	Store // nil: the account use cases call only Setting and SetSetting
	mu    sync.Mutex
	m     map[string][]byte
}

func newAcctStore() *acctStore { return &acctStore{m: map[string][]byte{}} }

func (s *acctStore) Setting(ctx context.Context, key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return fmt.Errorf("setting %s: %w", key, model.ErrNotFound)
	}
	return json.Unmarshal(b, v)
}

func (s *acctStore) SetSetting(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = b
	return nil
}

// holds reports whether any stored setting contains secret in raw,
// base64 or hex form.
func (s *acctStore) holds(secret []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.m {
		for _, form := range [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawURLEncoding.EncodeToString(secret)), []byte(hex.EncodeToString(secret))} {
			if bytes.Contains(b, form) {
				return true
			}
		}
	}
	return false
}

// acctSecrets is Secrets in a map.
type acctSecrets struct {
	mu         sync.Mutex
	m          map[string][]byte
	persistent bool
	failSet    error // returned by Set when not nil
}

func newAcctSecrets() *acctSecrets { return &acctSecrets{m: map[string][]byte{}, persistent: true} }

func (s *acctSecrets) Get(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", key, model.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (s *acctSecrets) Set(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet != nil {
		return s.failSet
	}
	s.m[key] = bytes.Clone(value)
	return nil
}

func (s *acctSecrets) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok {
		return fmt.Errorf("secret %s: %w", key, model.ErrNotFound)
	}
	delete(s.m, key)
	return nil
}

func (s *acctSecrets) Persistent() bool { return s.persistent }

func (s *acctSecrets) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// acctServer is an in-memory account server behaving as syncproto
// documents, for the use-case tests. Its AccountAPI values are made by
// dial.
type acctServer struct {
	mu       sync.Mutex
	accounts map[string]*acctRecord // by id
	sessions map[string]acctSession // by token
	codes    map[string]string      // email -> reset code
	// preParams, when set, replaces the params prelogin reports.
	preParams *syncproto.KDFParams
	// down makes every call fail as unreachable.
	down  bool
	calls []string
	seq   int
}

type acctRecord struct {
	id, username, email string
	authHash            []byte
	creds               syncproto.Credentials
	recoveryWrapped     []byte
	confirmed           bool
	erased              int
}

type acctSession struct {
	id, accountID, device string
	created               time.Time
}

func newAcctServer() *acctServer {
	return &acctServer{accounts: map[string]*acctRecord{}, sessions: map[string]acctSession{}, codes: map[string]string{}}
}

func (s *acctServer) dial(serverURL, token string) (AccountAPI, error) {
	if !strings.HasPrefix(serverURL, "https://") {
		return nil, fmt.Errorf("server URL %q must start with https://: %w", serverURL, model.ErrInvalid)
	}
	return &acctAPI{s: s, token: token}, nil
}

func apiErr(code syncproto.ErrorCode, msg string) error {
	return &syncproto.Error{Code: code, Message: msg, Status: code.HTTPStatus()}
}

func hashKey(k []byte) []byte { h := sha256.Sum256(k); return h[:] }

func (s *acctServer) enter(call string) error {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if s.down {
		return fmt.Errorf("%s: cannot reach server: %w", call, model.ErrUnavailable)
	}
	return nil
}

func (s *acctServer) called(call string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (s *acctServer) find(identifier string) *acctRecord {
	id := syncproto.NormalizeIdentifier(identifier)
	for _, a := range s.accounts {
		if syncproto.NormalizeUsername(a.username) == id || syncproto.NormalizeEmail(a.email) == id {
			return a
		}
	}
	return nil
}

func (s *acctServer) revokeAll(accountID, except string) {
	for tok, ss := range s.sessions {
		if ss.accountID == accountID && ss.id != except {
			delete(s.sessions, tok)
		}
	}
}

// confirm confirms email's account as the emailed link would.
func (s *acctServer) confirm(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.find(email).confirmed = true
}

// tamper flips a bit of the password-wrapped key the server hands out.
func (s *acctServer) tamper(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(email)
	w := bytes.Clone(a.creds.WrappedAccountKey)
	w[len(w)-1] ^= 1
	a.creds.WrappedAccountKey = w
}

func (s *acctServer) account(identifier string) acctRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.find(identifier)
}

func (s *acctServer) sessionCount(accountID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sessions {
		if ss.accountID == accountID {
			n++
		}
	}
	return n
}

// acctAPI is one client of acctServer, with or without a token.
type acctAPI struct {
	s     *acctServer
	token string
}

func (c *acctAPI) auth() (acctSession, *acctRecord, error) {
	ss, ok := c.s.sessions[c.token]
	if !ok {
		return ss, nil, apiErr(syncproto.CodeUnauthorized, "session invalid or revoked")
	}
	return ss, c.s.accounts[ss.accountID], nil
}

func (c *acctAPI) SignUp(ctx context.Context, r syncproto.SignUpRequest) error {
	if err := c.s.enter("signup"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	if err := r.Validate(); err != nil {
		return err
	}
	if c.s.find(r.Email) != nil {
		return nil // same answer; the owner would be emailed
	}
	if c.s.find(r.Username) != nil {
		return apiErr(syncproto.CodeConflict, "username is taken")
	}
	c.s.seq++
	id := fmt.Sprintf("acct%d", c.s.seq)
	c.s.accounts[id] = &acctRecord{id: id, username: r.Username, email: r.Email, authHash: hashKey(r.AuthKey), creds: r.Credentials, recoveryWrapped: r.RecoveryWrappedKey}
	return nil
}

func (c *acctAPI) ConfirmEmail(ctx context.Context, token string) error {
	if err := c.s.enter("confirm"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	a, ok := c.s.accounts[token] // the fake's confirmation token is the account id
	if !ok {
		return apiErr(syncproto.CodeInvalidCode, "wrong token")
	}
	a.confirmed = true
	return nil
}

func (c *acctAPI) ResendConfirmation(ctx context.Context, email string) error {
	if err := c.s.enter("resend"); err != nil {
		return err
	}
	c.s.mu.Unlock()
	return syncproto.ValidateEmail(email)
}

func (c *acctAPI) Prelogin(ctx context.Context, identifier string) (syncproto.PreloginResponse, error) {
	if err := c.s.enter("prelogin"); err != nil {
		return syncproto.PreloginResponse{}, err
	}
	defer c.s.mu.Unlock()
	out := syncproto.PreloginResponse{KDFSalt: bytes.Repeat([]byte{7}, 16), KDFParams: syncproto.DefaultKDFParams}
	if a := c.s.find(identifier); a != nil {
		out = syncproto.PreloginResponse{KDFSalt: a.creds.KDFSalt, KDFParams: a.creds.KDFParams}
	}
	if c.s.preParams != nil {
		out.KDFParams = *c.s.preParams
	}
	return out, nil
}

func (c *acctAPI) SignIn(ctx context.Context, r syncproto.SignInRequest) (syncproto.SignInResponse, error) {
	if err := c.s.enter("signin"); err != nil {
		return syncproto.SignInResponse{}, err
	}
	defer c.s.mu.Unlock()
	a := c.s.find(r.Identifier)
	if a == nil || !bytes.Equal(a.authHash, hashKey(r.AuthKey)) {
		return syncproto.SignInResponse{}, apiErr(syncproto.CodeUnauthorized, "wrong identifier or password")
	}
	if !a.confirmed {
		return syncproto.SignInResponse{}, apiErr(syncproto.CodeEmailUnconfirmed, "confirm your email")
	}
	tok := rand.Text()
	c.s.seq++
	ss := acctSession{id: fmt.Sprintf("sess%d", c.s.seq), accountID: a.id, device: r.DeviceName, created: time.Now()}
	c.s.sessions[tok] = ss
	return syncproto.SignInResponse{Token: tok, SessionID: ss.id, AccountID: a.id, Username: a.username, Email: a.email,
		WrappedAccountKey: a.creds.WrappedAccountKey, KDFSalt: a.creds.KDFSalt, KDFParams: a.creds.KDFParams}, nil
}

func (c *acctAPI) SignOut(ctx context.Context) error {
	if err := c.s.enter("signout"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	if _, _, err := c.auth(); err != nil {
		return err
	}
	delete(c.s.sessions, c.token)
	return nil
}

func (c *acctAPI) ChangePassword(ctx context.Context, r syncproto.ChangePasswordRequest) error {
	if err := c.s.enter("change"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	ss, a, err := c.auth()
	if err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if !bytes.Equal(a.authHash, hashKey(r.CurrentAuthKey)) {
		return apiErr(syncproto.CodeUnauthorized, "wrong password")
	}
	a.creds, a.authHash = r.New, hashKey(r.New.AuthKey)
	c.s.revokeAll(a.id, ss.id)
	return nil
}

func (c *acctAPI) ForgotUsername(ctx context.Context, email string) error {
	if err := c.s.enter("forgot-username"); err != nil {
		return err
	}
	c.s.mu.Unlock()
	return nil
}

func (c *acctAPI) ForgotPassword(ctx context.Context, email string) error {
	if err := c.s.enter("forgot-password"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	if a := c.s.find(email); a != nil {
		c.s.codes[syncproto.NormalizeEmail(email)] = "7KQ2MXD93F"
	}
	return nil
}

func (c *acctAPI) checkCode(email, code string) (*acctRecord, error) {
	a := c.s.find(email)
	if a == nil || c.s.codes[syncproto.NormalizeEmail(email)] != syncproto.NormalizeCode(code) {
		return nil, apiErr(syncproto.CodeInvalidCode, "code wrong, expired or used")
	}
	return a, nil
}

func (c *acctAPI) RecoveryKey(ctx context.Context, r syncproto.RecoveryKeyRequest) (syncproto.RecoveryKeyResponse, error) {
	if err := c.s.enter("recovery-key"); err != nil {
		return syncproto.RecoveryKeyResponse{}, err
	}
	defer c.s.mu.Unlock()
	a, err := c.checkCode(r.Email, r.Code)
	if err != nil {
		return syncproto.RecoveryKeyResponse{}, err
	}
	return syncproto.RecoveryKeyResponse{RecoveryWrappedKey: a.recoveryWrapped}, nil
}

func (c *acctAPI) ResetPassword(ctx context.Context, r syncproto.ResetPasswordRequest) error {
	if err := c.s.enter("reset"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	if err := r.Validate(); err != nil {
		return err
	}
	a, err := c.checkCode(r.Email, r.Code)
	if err != nil {
		return err
	}
	delete(c.s.codes, syncproto.NormalizeEmail(r.Email))
	a.creds, a.authHash = r.New, hashKey(r.New.AuthKey)
	if r.RecoveryWrappedKey != nil {
		a.recoveryWrapped = r.RecoveryWrappedKey
	}
	if r.Erase {
		a.erased++
	}
	c.s.revokeAll(a.id, "")
	return nil
}

func (c *acctAPI) Sessions(ctx context.Context) ([]syncproto.SessionInfo, error) {
	if err := c.s.enter("sessions"); err != nil {
		return nil, err
	}
	defer c.s.mu.Unlock()
	me, _, err := c.auth()
	if err != nil {
		return nil, err
	}
	var out []syncproto.SessionInfo
	for _, ss := range c.s.sessions {
		if ss.accountID == me.accountID {
			out = append(out, syncproto.SessionInfo{ID: ss.id, DeviceName: ss.device, CreatedAt: ss.created, Current: ss.id == me.id})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (c *acctAPI) RevokeSession(ctx context.Context, id string) error {
	if err := c.s.enter("revoke"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	me, _, err := c.auth()
	if err != nil {
		return err
	}
	for tok, ss := range c.s.sessions {
		if ss.id == id && ss.accountID == me.accountID {
			delete(c.s.sessions, tok)
			return nil
		}
	}
	return apiErr(syncproto.CodeNotFound, "no such session")
}

func (c *acctAPI) DeleteAccount(ctx context.Context, authKey []byte) error {
	if err := c.s.enter("delete"); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	_, a, err := c.auth()
	if err != nil {
		return err
	}
	if !bytes.Equal(a.authHash, hashKey(authKey)) {
		return apiErr(syncproto.CodeUnauthorized, "wrong password")
	}
	c.s.revokeAll(a.id, "")
	delete(c.s.accounts, a.id)
	return nil
}

var _ AccountAPI = (*acctAPI)(nil)

// acctEnv is one profile's Accounts over fakes.
type acctEnv struct {
	srv     *acctServer
	store   *acctStore
	secrets *acctSecrets
	acc     *Accounts
}

// newAcctEnv returns Accounts using the cheapest KDF params vault allows,
// so tests derive keys quickly.
func newAcctEnv(t *testing.T, srv *acctServer) *acctEnv {
	t.Helper()
	e := &acctEnv{srv: srv, store: newAcctStore(), secrets: newAcctSecrets()}
	acc, err := NewAccounts(e.store, AccountsOptions{Dial: srv.dial, Secrets: e.secrets, KDFParams: acctKDF, DeviceName: "test\x00 laptop"})
	if err != nil {
		t.Fatal(err)
	}
	e.acc = acc
	return e
}
