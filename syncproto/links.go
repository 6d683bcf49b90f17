package syncproto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
)

// Collection links: a signed-in owner publishes a plaintext Postman v2.1
// snapshot of one collection, readable by anyone holding its URL.
const (
	// PathLinks: POST CreateLinkRequest (Bearer) -> 201 LinkInfo with
	// URL and Token set (the only time they are told: the server keeps a
	// hash of the token). GET (Bearer) -> 200 LinksResponse. A snapshot
	// over MaxLinkSnapshot bytes is 413 too_large; an account holding
	// MaxLinksPerAccount links gets 409 conflict.
	// PUT PathLinks + "/" + id UpdateLinkRequest (Bearer) -> 200 LinkInfo.
	// DELETE PathLinks + "/" + id (Bearer) -> 200 StatusResponse{StatusOK};
	// the public URL answers 404 from then on. Both answer 404 not_found
	// when the id is not one of this account's links.
	PathLinks = "/v1/links"
	// PathPublicLink + token: GET (no auth) -> the snapshot as
	// application/json, or to a browser (Accept: text/html) a readable
	// page; with ?download=1 the JSON as an attachment. A revoked,
	// expired or unknown token is 404 not_found. Limited per client IP
	// (429 with Retry-After).
	PathPublicLink = "/c/"
	// LinkDownloadParam=1 asks PathPublicLink for an attachment.
	LinkDownloadParam = "download"
)

// Limits of collection links.
const (
	// MaxLinkSnapshot bounds a published snapshot (bytes of JSON).
	MaxLinkSnapshot = 5 << 20
	// MaxLinkBody bounds a create or update request body: the snapshot
	// and room for the other fields.
	MaxLinkBody = MaxLinkSnapshot + 64<<10
	// MaxLinksPerAccount bounds how many links one account holds.
	MaxLinksPerAccount = 200
	// MaxLinkSourceLen bounds LinkSource (a collection ID, opaque to the
	// server).
	MaxLinkSourceLen = 64
	// LinkTokenBytes is the entropy of a link token (128 bits); as text
	// it is LinkTokenLen characters of unpadded base64url.
	LinkTokenBytes = 16
	LinkTokenLen   = 22
	// MaxLinkTTL is the furthest a link's expiry may be from now.
	MaxLinkTTL = 10 * 365 * 24 * time.Hour
)

// CreateLinkRequest publishes a collection.
type CreateLinkRequest struct {
	// Collection is a Postman Collection v2.1 JSON object (see
	// ValidateSnapshot), at most MaxLinkSnapshot bytes.
	Collection json.RawMessage `json:"collection"`
	// Source names what the snapshot was made from (the app's collection
	// ID), so any of the owner's devices can re-publish it. Opaque to the
	// server; at most MaxLinkSourceLen bytes of printable ASCII.
	Source string `json:"source,omitempty"`
	// ExpiresAt, when set, ends the link; it must be in the future and
	// within MaxLinkTTL.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// UpdateLinkRequest changes a link; absent fields are kept.
type UpdateLinkRequest struct {
	// Collection, when set, replaces the snapshot (same rules as create).
	Collection json.RawMessage `json:"collection,omitempty"`
	// ExpiresAt, when set, replaces the expiry.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// NoExpiry removes the expiry (ExpiresAt must then be absent).
	NoExpiry bool `json:"no_expiry,omitempty"`
}

// LinkInfo describes one link.
type LinkInfo struct {
	ID string `json:"id"`
	// Name is the collection's name in the snapshot (info.name).
	Name      string     `json:"name"`
	Source    string     `json:"source,omitempty"`
	Size      int        `json:"size"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Token and URL are set in the answer of PathLinks POST only.
	Token string `json:"token,omitempty"`
	URL   string `json:"url,omitempty"`
}

// LinksResponse lists the account's links, oldest first.
type LinksResponse struct {
	Links []LinkInfo `json:"links"`
}

// Validate checks the snapshot, the source and the expiry against now,
// and returns the collection's name. Errors wrap model.ErrInvalid, or
// model.ErrTooLarge for a big snapshot.
func (r CreateLinkRequest) Validate(now time.Time) (name string, err error) {
	if name, err = ValidateSnapshot(r.Collection); err != nil {
		return "", err
	}
	if err := ValidateLinkSource(r.Source); err != nil {
		return "", err
	}
	return name, validateExpiry(r.ExpiresAt, now)
}

// Validate checks what the update sets and returns the collection's name
// when it sets a snapshot. Errors as CreateLinkRequest's.
func (r UpdateLinkRequest) Validate(now time.Time) (name string, err error) {
	if r.Collection != nil {
		if name, err = ValidateSnapshot(r.Collection); err != nil {
			return "", err
		}
	}
	if r.NoExpiry && r.ExpiresAt != nil {
		return "", fmt.Errorf("a link cannot both expire and never expire: %w", model.ErrInvalid)
	}
	return name, validateExpiry(r.ExpiresAt, now)
}

func validateExpiry(at *time.Time, now time.Time) error {
	if at == nil {
		return nil
	}
	if !at.After(now) {
		return fmt.Errorf("the link's expiry, %s, is not in the future: %w", at.UTC().Format(time.RFC3339), model.ErrInvalid)
	}
	if at.Sub(now) > MaxLinkTTL {
		return fmt.Errorf("the link's expiry is more than %d days away, the most a link may last: %w", MaxLinkTTL/(24*time.Hour), model.ErrInvalid)
	}
	return nil
}

// ValidateLinkSource accepts "" or up to MaxLinkSourceLen bytes of
// printable ASCII.
func ValidateLinkSource(s string) error {
	if len(s) > MaxLinkSourceLen {
		return fmt.Errorf("source is longer than %d bytes: %w", MaxLinkSourceLen, model.ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("source may hold only printable ASCII: %w", model.ErrInvalid)
		}
	}
	return nil
}

// snapshotHead is the part of a Postman collection ValidateSnapshot reads.
type snapshotHead struct {
	Info *struct {
		Name   *string `json:"name"`
		Schema string  `json:"schema"`
	} `json:"info"`
	Item *json.RawMessage `json:"item"`
}

// ValidateSnapshot checks that b is a Postman v2.x collection: one JSON
// object of at most MaxLinkSnapshot bytes, of valid UTF-8, with an "info"
// object holding a non-empty "name" (and, when it has a "schema", a v2
// schema URL) and an "item" array. It returns the collection's name.
// Errors wrap model.ErrInvalid, or model.ErrTooLarge for a big snapshot.
func ValidateSnapshot(b []byte) (string, error) {
	if len(b) > MaxLinkSnapshot {
		return "", fmt.Errorf("the collection is %d bytes, more than the %d a link may hold: %w", len(b), MaxLinkSnapshot, model.ErrTooLarge)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || !utf8.Valid(b) {
		return "", fmt.Errorf("collection must be a JSON object: %w", model.ErrInvalid)
	}
	var h snapshotHead
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("collection is not a Postman collection: %w", model.ErrInvalid)
	}
	if h.Info == nil || h.Info.Name == nil || strings.TrimSpace(*h.Info.Name) == "" {
		return "", fmt.Errorf("collection has no info.name: %w", model.ErrInvalid)
	}
	if h.Info.Schema != "" && !strings.Contains(h.Info.Schema, "/collection/v2") {
		return "", fmt.Errorf("collection schema %.80q is not Postman v2.x: %w", h.Info.Schema, model.ErrInvalid)
	}
	if h.Item == nil || !bytes.HasPrefix(bytes.TrimSpace(*h.Item), []byte("[")) {
		return "", fmt.Errorf("collection has no item array: %w", model.ErrInvalid)
	}
	return *h.Info.Name, nil
}

// ValidLinkToken reports whether s has the shape of a link token.
func ValidLinkToken(s string) bool {
	if len(s) != LinkTokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == LinkTokenBytes
}

// LinkTokenFromURL returns the token of a public link URL (the path
// segment after PathPublicLink), or "" when u is not one.
func LinkTokenFromURL(u string) string {
	_, rest, ok := strings.Cut(u, PathPublicLink)
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	if !ValidLinkToken(rest) {
		return ""
	}
	return rest
}
