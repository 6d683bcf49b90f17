package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	xhkdf "golang.org/x/crypto/hkdf"

	"github.com/courierapp/courier/model"
)

// The expected hex below was computed outside Go, with Python's
// cryptography package (OpenSSL's Argon2id and HKDF), and is also
// recomputed here with x/crypto's argon2 and hkdf directly.
var kdfVectors = []struct {
	name                          string
	params                        KDFParams
	master, auth, wrap, storedKey string
}{
	{
		name:      "minimum params",
		params:    KDFParams{Time: 2, MemoryKiB: 19456, Threads: 1},
		master:    "818259b6310026a8e0dbac5d2e6927abcfdb07b32258fac4f61b18b80f929085",
		auth:      "ed9a2cea46d0886fdb070a2ca62ab5473285de8725c34a5369ad830097ac80df",
		wrap:      "b84def77efb738806d5eea09d91a46255d6c8fc1d61201fe2b55ba39bdf71fb7",
		storedKey: "032a0d818217140b6978cb344fc84a0494e6f16bee16886bc51f666b298b20c2",
	},
	{
		name:      "default params",
		params:    KDFParams{Time: 3, MemoryKiB: 65536, Threads: 4},
		master:    "853b272a44db1421c02962669a55eb0994f3cab385ed1c4c79253eee19bab49e",
		auth:      "cfdbb7d78ec4f7a3fe802c6328c559505229fc3aba3bba060c5306557e58f08e",
		wrap:      "58e211f1dbaa13ba714dd3d6398e948494c39aa94cd8f0393de20bed660b46d2",
		storedKey: "816846c4143f26aa3c05816fb268117a8bd77ff82127da4606f4b5e2f20e78cb",
	},
}

const katPassword = "correct horse battery staple"

func katSalt() []byte { return seq(0, 16) }

// seq returns n bytes counting up from start.
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestDeriveMasterMatchesKnownAnswers(t *testing.T) {
	for _, v := range kdfVectors {
		t.Run(v.name, func(t *testing.T) {
			if v.params != DefaultKDFParams && v.params != MinKDFParams {
				t.Fatalf("vector params %+v are neither the default nor the minimum", v.params)
			}
			mk, err := DeriveMaster(context.Background(), katPassword, katSalt(), v.params)
			if err != nil {
				t.Fatal(err)
			}
			// independent path: x/crypto directly
			p := v.params
			ref := argon2.IDKey([]byte(katPassword), katSalt(), p.Time, p.MemoryKiB, p.Threads, 32)
			assertHex(t, "master", mk[:], v.master)
			assertHex(t, "master (x/crypto)", ref, v.master)
			assertHex(t, "auth", mk.AuthKey(), v.auth)
			assertHex(t, "auth (x/crypto)", refHKDF(t, ref, "courier/v1/auth"), v.auth)
			assertHex(t, "wrap", mk.WrapKey(), v.wrap)
			assertHex(t, "wrap (x/crypto)", refHKDF(t, ref, "courier/v1/wrap"), v.wrap)
			assertHex(t, "stored", HashAuthKey(mk.AuthKey()), v.storedKey)
			sum := sha256.Sum256(mk.AuthKey())
			assertHex(t, "stored (sha256)", sum[:], v.storedKey)
		})
	}
}

func refHKDF(t *testing.T, secret []byte, info string) []byte {
	t.Helper()
	out := make([]byte, 32)
	if _, err := io.ReadFull(xhkdf.New(sha256.New, secret, nil, []byte(info)), out); err != nil {
		t.Fatal(err)
	}
	return out
}

func assertHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if h := hex.EncodeToString(got); h != want {
		t.Errorf("%s = %s, want %s", what, h, want)
	}
}

func TestDeriveMasterDependsOnEveryInput(t *testing.T) {
	ctx := context.Background()
	base, err := DeriveMaster(ctx, "pw-one", katSalt(), MinKDFParams)
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]func() (MasterKey, error){
		"password": func() (MasterKey, error) { return DeriveMaster(ctx, "pw-two", katSalt(), MinKDFParams) },
		"salt":     func() (MasterKey, error) { return DeriveMaster(ctx, "pw-one", seq(1, 16), MinKDFParams) },
		"time": func() (MasterKey, error) {
			p := MinKDFParams
			p.Time++
			return DeriveMaster(ctx, "pw-one", katSalt(), p)
		},
	}
	for name, f := range variants {
		t.Run(name, func(t *testing.T) {
			mk, err := f()
			if err != nil {
				t.Fatal(err)
			}
			if mk == base {
				t.Errorf("changing the %s left the master key unchanged", name)
			}
		})
	}
	if bytes.Equal(base.AuthKey(), base.WrapKey()) {
		t.Error("auth key equals wrap key")
	}
}

func TestDeriveMasterRejectsBadInput(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		password string
		salt     []byte
		params   KDFParams
		want     error
	}{
		{"params below the floor", context.Background(), "pw", katSalt(), KDFParams{Time: 1, MemoryKiB: 19456, Threads: 1}, model.ErrInvalid},
		{"short salt", context.Background(), "pw", seq(0, 15), MinKDFParams, model.ErrInvalid},
		{"huge salt", context.Background(), "pw", seq(0, 65), MinKDFParams, model.ErrInvalid},
		{"empty password", context.Background(), "", katSalt(), MinKDFParams, model.ErrInvalid},
		{"cancelled context", cancelled, "pw", katSalt(), MinKDFParams, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk, err := DeriveMaster(tt.ctx, tt.password, tt.salt, tt.params)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if mk != (MasterKey{}) {
				t.Error("a failed derivation returned a non-zero key")
			}
		})
	}
}

func TestKDFParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    KDFParams
		ok   bool
	}{
		{"default", DefaultKDFParams, true},
		{"floor exactly", KDFParams{Time: 2, MemoryKiB: 19456, Threads: 1}, true},
		{"ceiling exactly", KDFParams{Time: 10, MemoryKiB: 1 << 20, Threads: 16}, true},
		{"one pass is too weak", KDFParams{Time: 1, MemoryKiB: 65536, Threads: 4}, false},
		{"1 KiB short of the memory floor", KDFParams{Time: 3, MemoryKiB: 19455, Threads: 4}, false},
		{"zero threads", KDFParams{Time: 3, MemoryKiB: 65536, Threads: 0}, false},
		{"zero value", KDFParams{}, false},
		{"more than 1 GiB", KDFParams{Time: 3, MemoryKiB: 1<<20 + 1, Threads: 4}, false},
		{"more than 10 passes", KDFParams{Time: 11, MemoryKiB: 65536, Threads: 4}, false},
		{"more than 16 threads", KDFParams{Time: 3, MemoryKiB: 65536, Threads: 17}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("Validate() = %v, want model.ErrInvalid", err)
			}
		})
	}
}

func TestKDFParamsJSONUsesShortTags(t *testing.T) {
	b, err := json.Marshal(DefaultKDFParams)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"t":3,"m":65536,"p":4}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var p KDFParams
	if err := json.Unmarshal(b, &p); err != nil || p != DefaultKDFParams {
		t.Errorf("round trip = %+v, %v", p, err)
	}
}

func TestVerifyAuthKey(t *testing.T) {
	auth := seq(7, 32)
	stored := HashAuthKey(auth)
	other := seq(8, 32)
	tests := []struct {
		name   string
		stored []byte
		auth   []byte
		want   bool
	}{
		{"same key", stored, auth, true},
		{"other key", stored, other, false},
		{"empty stored hash", nil, auth, false},
		{"truncated stored hash", stored[:31], auth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyAuthKey(tt.stored, tt.auth); got != tt.want {
				t.Errorf("VerifyAuthKey = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewSaltIsRandom(t *testing.T) {
	a, b := NewSalt(), NewSalt()
	if len(a) != SaltSize || bytes.Equal(a, b) {
		t.Errorf("salts %x and %x: want two different %d-byte salts", a, b, SaltSize)
	}
}

func TestKeysAreRedactedInLogs(t *testing.T) {
	mk := MasterKey(seq(0xa0, 32))
	ak := AccountKey(seq(0xa0, 32))
	rk := RecoveryKey(seq(0xa0, 20))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("keys", "master", mk, "account", ak, "recovery", rk)
	fmt.Fprintf(&buf, " %v %s %x %v %s %x", mk, mk, mk, ak, ak, ak)
	out := buf.String()
	for _, leak := range []string{"a0a1a2", "160", rk.String()[:9]} {
		if strings.Contains(out, leak) {
			t.Errorf("output %q contains key material %q", out, leak)
		}
	}
	if !strings.Contains(out, redacted) {
		t.Errorf("output %q does not say the keys are redacted", out)
	}
}

func TestValidateFloorSurvivesAssignmentToMinKDFParams(t *testing.T) {
	saved := MinKDFParams
	defer func() { MinKDFParams = saved }()
	MinKDFParams = KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}
	if err := (KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}).Validate(); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Validate of t=1 m=8KiB = %v after lowering MinKDFParams, want model.ErrInvalid", err)
	}
}
