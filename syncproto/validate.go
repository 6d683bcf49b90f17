package syncproto

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
)

// Sizes and bounds checked by Validate methods on both sides.
const (
	SaltMinLen       = 16
	SaltMaxLen       = 64
	AuthKeyLen       = 32
	WrappedKeyMinLen = 32
	WrappedKeyMaxLen = 1024
	UsernameMinLen   = 3
	UsernameMaxLen   = 32
	EmailMaxLen      = 254
	MaxDeviceNameLen = 100
	// MaxTokenLen bounds session tokens and confirmation tokens as sent.
	MaxTokenLen = 128
)

// KDF bounds. The minimum is the downgrade floor (t=2, m=19 MiB); the
// maximum keeps a hostile server from making a client hash for minutes.
const (
	KDFMinT = 2
	KDFMaxT = 16
	KDFMinM = 19 * 1024
	KDFMaxM = 1024 * 1024
	KDFMinP = 1
	KDFMaxP = 16
)

// DefaultKDFParams are the params new accounts use (t=3, m=64 MiB, p=4), and
// the ones prelogin reports for unknown identifiers.
var DefaultKDFParams = KDFParams{T: 3, M: 64 * 1024, P: 4}

// Validate reports whether p is within the accepted bounds; errors wrap
// model.ErrInvalid.
func (p KDFParams) Validate() error {
	if p.T < KDFMinT || p.T > KDFMaxT || p.M < KDFMinM || p.M > KDFMaxM || p.P < KDFMinP || p.P > KDFMaxP {
		return fmt.Errorf("kdf params t=%d m=%d p=%d outside t %d..%d, m %d..%d KiB, p %d..%d: %w",
			p.T, p.M, p.P, KDFMinT, KDFMaxT, KDFMinM, KDFMaxM, KDFMinP, KDFMaxP, model.ErrInvalid)
	}
	return nil
}

// Validate checks sizes and params; errors wrap model.ErrInvalid.
func (c Credentials) Validate() error {
	if n := len(c.KDFSalt); n < SaltMinLen || n > SaltMaxLen {
		return fmt.Errorf("kdf_salt is %d bytes, want %d..%d: %w", n, SaltMinLen, SaltMaxLen, model.ErrInvalid)
	}
	if err := c.KDFParams.Validate(); err != nil {
		return err
	}
	if len(c.AuthKey) != AuthKeyLen {
		return fmt.Errorf("auth_key is %d bytes, want %d: %w", len(c.AuthKey), AuthKeyLen, model.ErrInvalid)
	}
	return validateWrapped("wrapped_account_key", c.WrappedAccountKey)
}

func validateWrapped(name string, b []byte) error {
	if n := len(b); n < WrappedKeyMinLen || n > WrappedKeyMaxLen {
		return fmt.Errorf("%s is %d bytes, want %d..%d: %w", name, n, WrappedKeyMinLen, WrappedKeyMaxLen, model.ErrInvalid)
	}
	return nil
}

// Validate checks every field; errors wrap model.ErrInvalid.
func (r SignUpRequest) Validate() error {
	if err := ValidateUsername(r.Username); err != nil {
		return err
	}
	if err := ValidateEmail(r.Email); err != nil {
		return err
	}
	if err := r.Credentials.Validate(); err != nil {
		return err
	}
	return validateWrapped("recovery_wrapped_key", r.RecoveryWrappedKey)
}

// Validate checks the identifier, key size and device name; errors wrap
// model.ErrInvalid.
func (r SignInRequest) Validate() error {
	if err := ValidateIdentifier(r.Identifier); err != nil {
		return err
	}
	if len(r.AuthKey) != AuthKeyLen {
		return fmt.Errorf("auth_key is %d bytes, want %d: %w", len(r.AuthKey), AuthKeyLen, model.ErrInvalid)
	}
	return ValidateDeviceName(r.DeviceName)
}

// Validate checks the current key and the new credentials.
func (r ChangePasswordRequest) Validate() error {
	if len(r.CurrentAuthKey) != AuthKeyLen {
		return fmt.Errorf("current_auth_key is %d bytes, want %d: %w", len(r.CurrentAuthKey), AuthKeyLen, model.ErrInvalid)
	}
	return r.New.Validate()
}

// Validate checks the email, the code's shape and the new credentials; a
// recovery-wrapped key is required when Erase is set.
func (r ResetPasswordRequest) Validate() error {
	if err := ValidateEmail(r.Email); err != nil {
		return err
	}
	if err := ValidateCode(r.Code); err != nil {
		return err
	}
	if err := r.New.Validate(); err != nil {
		return err
	}
	if r.Erase || r.RecoveryWrappedKey != nil {
		return validateWrapped("recovery_wrapped_key", r.RecoveryWrappedKey)
	}
	return nil
}

// Validate checks the email and the code's shape.
func (r RecoveryKeyRequest) Validate() error {
	if err := ValidateEmail(r.Email); err != nil {
		return err
	}
	return ValidateCode(r.Code)
}

// Validate checks the key size.
func (r DeleteAccountRequest) Validate() error {
	if len(r.AuthKey) != AuthKeyLen {
		return fmt.Errorf("auth_key is %d bytes, want %d: %w", len(r.AuthKey), AuthKeyLen, model.ErrInvalid)
	}
	return nil
}

// ValidateUsername accepts UsernameMinLen to UsernameMaxLen characters of
// ASCII letters, digits, '.', '_' and '-', starting with a letter or digit.
func ValidateUsername(s string) error {
	if n := len(s); n < UsernameMinLen || n > UsernameMaxLen {
		return fmt.Errorf("username must be %d to %d characters: %w", UsernameMinLen, UsernameMaxLen, model.ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("username may hold only letters, digits, '.', '_' and '-', starting with a letter or digit: %w", model.ErrInvalid)
		}
	}
	return nil
}

// ValidateEmail accepts a plausible address: at most EmailMaxLen bytes of
// UTF-8, one '@' with text on both sides, a dot in the domain, no spaces,
// control characters, or characters that would break a mail header.
func ValidateEmail(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("email %s: %w", why, model.ErrInvalid)
	}
	if len(s) == 0 || len(s) > EmailMaxLen || !utf8.ValidString(s) {
		return bad(fmt.Sprintf("must be 1 to %d bytes of UTF-8", EmailMaxLen))
	}
	if strings.ContainsAny(s, " \t\r\n<>,;:\"\\()[]") || strings.ContainsFunc(s, isControl) {
		return bad("has a character an address cannot hold")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return bad("must be name@domain")
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return bad("domain must have a dot between names")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// ValidateIdentifier accepts an email (when s contains '@') or a username.
func ValidateIdentifier(s string) error {
	if strings.Contains(s, "@") {
		return ValidateEmail(s)
	}
	return ValidateUsername(s)
}

// ValidateDeviceName accepts up to MaxDeviceNameLen bytes of UTF-8 without
// control characters.
func ValidateDeviceName(s string) error {
	if len(s) > MaxDeviceNameLen || !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) {
		return fmt.Errorf("device_name must be at most %d bytes of printable UTF-8: %w", MaxDeviceNameLen, model.ErrInvalid)
	}
	return nil
}

// NormalizeEmail returns the form under which an address is stored and
// looked up: trimmed and lower-cased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeUsername returns the form under which a username is stored and
// looked up: trimmed and lower-cased.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeIdentifier applies NormalizeEmail or NormalizeUsername.
func NormalizeIdentifier(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// IsEmail reports whether an identifier names an email rather than a username.
func IsEmail(identifier string) bool { return strings.Contains(identifier, "@") }
