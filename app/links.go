package app

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/postman"
	"github.com/courierapp/courier/syncproto"
)

// LinkAPI is the collection link API of the account's server. The
// AccountAPI that Accounts dials implements it too (syncclient.Client
// does). Errors as AccountAPI's.
type LinkAPI interface {
	CreateLink(ctx context.Context, r syncproto.CreateLinkRequest) (syncproto.LinkInfo, error)
	UpdateLink(ctx context.Context, id string, r syncproto.UpdateLinkRequest) (syncproto.LinkInfo, error)
	RevokeLink(ctx context.Context, id string) error
	Links(ctx context.Context) ([]syncproto.LinkInfo, error)
}

// URLFetcher GETs an https URL with the TLS trust of the account's server
// (the system roots plus its extra CA file), without any credential; the
// AccountAPI that Accounts dials implements it too. Errors wrap
// model.ErrInvalid (not https), model.ErrNotFound (404, 410),
// model.ErrTooLarge (past maxBytes) or model.ErrUnavailable.
type URLFetcher interface {
	FetchURL(ctx context.Context, rawURL string, maxBytes int64) ([]byte, error)
}

// linksSettingKey is the local setting holding what this device knows of
// its links: the public URLs, which the server tells only once.
const linksSettingKey = "app.links"

// knownLink is what a device remembers of a link it created.
type knownLink struct {
	URL        string   `json:"url"`
	Collection model.ID `json:"collection"`
}

// Link is one collection link of the account.
type Link struct {
	ID   string
	Name string
	// Collection is the collection it was made from ("" when unknown).
	Collection model.ID
	// URL is the public URL, known on the device that created the link
	// only ("" elsewhere: the server keeps a hash of it).
	URL       string
	Size      int
	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt is zero for a link without expiry.
	ExpiresAt time.Time
}

// Expired reports whether the link no longer answers at now.
func (l Link) Expired(now time.Time) bool { return !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) }

// LinkDraft is a collection ready to publish: its snapshot, and what the
// owner must see first.
type LinkDraft struct {
	Collection model.ID
	Name       string
	// JSON is the Postman v2.1 snapshot, secret variables blanked.
	JSON []byte
	// Findings lists what looks like a credential; ask before
	// publishing when it is not empty.
	Findings []Finding
	// Blanked names the secret variables whose values were left out.
	Blanked []string
}

// Links runs the collection link use cases of one profile: draft a
// snapshot, publish it, update, re-publish, expire and revoke links, list
// them, and import a link (or any https URL of a Postman collection) with
// the account's TLS trust. Errors wrap the model vocabulary:
// model.ErrUnauthorized when not signed in, model.ErrNotFound for an
// unknown collection or link, model.ErrTooLarge for a snapshot over
// syncproto.MaxLinkSnapshot, model.ErrUnavailable when the server cannot
// be reached.
type Links struct {
	app *App
	acc *Accounts
}

// NewLinks returns the link use cases over the core and the accounts of
// one profile. Errors wrap model.ErrInvalid when either is nil.
func NewLinks(core *App, acc *Accounts) (*Links, error) {
	if core == nil || acc == nil {
		return nil, fmt.Errorf("new links: core and accounts are required: %w", model.ErrInvalid)
	}
	return &Links{app: core, acc: acc}, nil
}

// Draft builds the snapshot of collection id: a Postman v2.1 export in
// which every secret variable has an empty value, with the credentials
// found in what remains. It does not publish anything.
func (l *Links) Draft(ctx context.Context, id model.ID) (LinkDraft, error) {
	c, err := l.app.Collection(ctx, id)
	if err != nil {
		return LinkDraft{}, fmt.Errorf("share collection: %w", err)
	}
	fs, err := listObj[model.Folder](ctx, l.app, model.KindFolder)
	if err != nil {
		return LinkDraft{}, err
	}
	rs, err := listObj[model.Request](ctx, l.app, model.KindRequest)
	if err != nil {
		return LinkDraft{}, err
	}
	vs, err := l.app.Variables(ctx, id)
	if err != nil {
		return LinkDraft{}, err
	}
	fs, rs = inCollection(fs, rs, id)
	vs, blanked := BlankSecrets(vs)
	out, err := postman.ExportCollection(c, fs, rs, vs)
	if err != nil {
		return LinkDraft{}, fmt.Errorf("share collection %q: %w", c.Name, err)
	}
	if len(out) > syncproto.MaxLinkSnapshot {
		return LinkDraft{}, fmt.Errorf("collection %q is %d bytes, more than the %d MiB a link may hold: %w",
			c.Name, len(out), syncproto.MaxLinkSnapshot>>20, model.ErrTooLarge)
	}
	return LinkDraft{Collection: id, Name: c.Name, JSON: out, Findings: ScanCredentials(c, fs, rs, vs), Blanked: blanked}, nil
}

// inCollection keeps the folders and requests of collection id.
func inCollection(fs []model.Folder, rs []model.Request, id model.ID) ([]model.Folder, []model.Request) {
	keptF := fs[:0]
	for _, f := range fs {
		if f.Collection == id {
			keptF = append(keptF, f)
		}
	}
	keptR := rs[:0]
	for _, r := range rs {
		if r.Collection == id {
			keptR = append(keptR, r)
		}
	}
	return keptF, keptR
}

// BlankSecrets returns vars with the value of every secret variable
// emptied (and any kept extra field holding a value dropped), and the
// names of those variables. vars itself is not changed.
func BlankSecrets(vars []model.Variable) ([]model.Variable, []string) {
	out := make([]model.Variable, len(vars))
	var names []string
	for i, v := range vars {
		if v.Secret {
			v.Value = ""
			v.Extra = withoutValues(v.Extra)
			names = append(names, v.Name)
		}
		out[i] = v
	}
	return out, names
}

// withoutValues copies extra without keys that may hold a value
// ("value", "currentValue", "initialValue", ...).
func withoutValues[V any](extra map[string]V) map[string]V {
	if extra == nil {
		return nil
	}
	out := make(map[string]V, len(extra))
	for k, v := range extra {
		if !strings.Contains(strings.ToLower(k), "value") {
			out[k] = v
		}
	}
	return out
}

// linkAPI dials the signed-in account's server.
func (l *Links) linkAPI(ctx context.Context) (LinkAPI, Account, error) {
	a, token, err := l.acc.signedIn(ctx)
	if err != nil {
		return nil, a, fmt.Errorf("collection links need a signed-in account: %w", err)
	}
	api, err := l.acc.api(a.ServerURL, token)
	if err != nil {
		return nil, a, err
	}
	la, ok := api.(LinkAPI)
	if !ok {
		return nil, a, fmt.Errorf("this build cannot reach collection links: %w", model.ErrUnavailable)
	}
	return la, a, nil
}

// expiry turns a time to live into an expiry time (nil for none).
func (l *Links) expiry(ttl time.Duration) *time.Time {
	if ttl <= 0 {
		return nil
	}
	at := l.app.now().Add(ttl).UTC().Truncate(time.Second)
	return &at
}

// Create publishes d; ttl > 0 makes the link expire after it. The public
// URL is remembered on this device.
func (l *Links) Create(ctx context.Context, d LinkDraft, ttl time.Duration) (Link, error) {
	api, a, err := l.linkAPI(ctx)
	if err != nil {
		return Link{}, err
	}
	info, err := api.CreateLink(ctx, syncproto.CreateLinkRequest{Collection: d.JSON, Source: string(d.Collection), ExpiresAt: l.expiry(ttl)})
	if err != nil {
		return Link{}, fmt.Errorf("publish %q: %w", d.Name, l.acc.refusedLocking(ctx, a, err))
	}
	err = l.remember(ctx, func(m map[string]knownLink) { m[info.ID] = knownLink{URL: info.URL, Collection: d.Collection} })
	if err != nil {
		return Link{}, err
	}
	return toLink(info, knownLink{URL: info.URL, Collection: d.Collection}), nil
}

// DraftUpdate drafts the current state of the collection link id was made
// from. Errors wrap model.ErrNotFound when the link or its collection is
// gone.
func (l *Links) DraftUpdate(ctx context.Context, id string) (LinkDraft, error) {
	link, err := l.link(ctx, id)
	if err != nil {
		return LinkDraft{}, err
	}
	if link.Collection == "" {
		return LinkDraft{}, fmt.Errorf("link %s does not say which collection it was made from: %w", id, model.ErrNotFound)
	}
	return l.Draft(ctx, link.Collection)
}

// Update re-publishes link id with the snapshot d, keeping its URL and
// expiry.
func (l *Links) Update(ctx context.Context, id string, d LinkDraft) (Link, error) {
	return l.update(ctx, id, syncproto.UpdateLinkRequest{Collection: d.JSON})
}

// SetExpiry makes link id expire ttl from now, or never when ttl <= 0.
func (l *Links) SetExpiry(ctx context.Context, id string, ttl time.Duration) (Link, error) {
	r := syncproto.UpdateLinkRequest{ExpiresAt: l.expiry(ttl), NoExpiry: ttl <= 0}
	return l.update(ctx, id, r)
}

func (l *Links) update(ctx context.Context, id string, r syncproto.UpdateLinkRequest) (Link, error) {
	api, a, err := l.linkAPI(ctx)
	if err != nil {
		return Link{}, err
	}
	info, err := api.UpdateLink(ctx, id, r)
	if err != nil {
		return Link{}, l.acc.refusedLocking(ctx, a, err) // it says "update link: ..."
	}
	known, err := l.known(ctx)
	if err != nil {
		return Link{}, err
	}
	return toLink(info, known[info.ID]), nil
}

// Revoke deletes link id: its URL answers 404 from then on.
func (l *Links) Revoke(ctx context.Context, id string) error {
	api, a, err := l.linkAPI(ctx)
	if err != nil {
		return err
	}
	if err := api.RevokeLink(ctx, id); err != nil {
		return l.acc.refusedLocking(ctx, a, err) // it says "revoke link: ..."
	}
	return l.remember(ctx, func(m map[string]knownLink) { delete(m, id) })
}

// List returns the account's links, oldest first, with the URLs this
// device knows.
func (l *Links) List(ctx context.Context) ([]Link, error) {
	api, a, err := l.linkAPI(ctx)
	if err != nil {
		return nil, err
	}
	infos, err := api.Links(ctx)
	if err != nil {
		return nil, l.acc.refusedLocking(ctx, a, err) // it says "list links: ..."
	}
	known, err := l.known(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Link, 0, len(infos))
	for _, info := range infos {
		out = append(out, toLink(info, known[info.ID]))
	}
	return out, nil
}

// link finds link id among the account's.
func (l *Links) link(ctx context.Context, id string) (Link, error) {
	all, err := l.List(ctx)
	if err != nil {
		return Link{}, err
	}
	for _, x := range all {
		if x.ID == id {
			return x, nil
		}
	}
	return Link{}, fmt.Errorf("this account has no link %.64q: %w", id, model.ErrNotFound)
}

func toLink(info syncproto.LinkInfo, k knownLink) Link {
	out := Link{ID: info.ID, Name: info.Name, Collection: model.ID(info.Source), URL: k.URL, Size: info.Size,
		CreatedAt: info.CreatedAt, UpdatedAt: info.UpdatedAt}
	if out.Collection == "" {
		out.Collection = k.Collection
	}
	if info.ExpiresAt != nil {
		out.ExpiresAt = *info.ExpiresAt
	}
	return out
}

func (l *Links) known(ctx context.Context) (map[string]knownLink, error) {
	m := map[string]knownLink{}
	if err := l.app.store.Setting(ctx, linksSettingKey, &m); err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("read the links known on this device: %w", err)
	}
	return m, nil
}

// remember changes the links known on this device.
func (l *Links) remember(ctx context.Context, change func(map[string]knownLink)) error {
	m, err := l.known(ctx)
	if err != nil {
		return err
	}
	change(m)
	if err := l.app.store.SetSetting(ctx, linksSettingKey, m); err != nil {
		return fmt.Errorf("remember the link on this device: %w", err)
	}
	return nil
}

// Fetch GETs an https URL (a collection link of any server, or any URL
// serving a Postman collection) with the TLS trust of the account's
// server, or of the default server when the profile has no account. It
// sends no credential. The body is capped at maxBytes.
func (l *Links) Fetch(ctx context.Context, rawURL string, maxBytes int64) ([]byte, error) {
	api, err := l.acc.api(l.acc.ServerURL(ctx, ""), "")
	if err != nil {
		return nil, err
	}
	f, ok := api.(URLFetcher)
	if !ok {
		return nil, fmt.Errorf("this build cannot fetch URLs: %w", model.ErrUnavailable)
	}
	return f.FetchURL(ctx, rawURL, maxBytes)
}

// ImportURL fetches rawURL as Fetch does and imports it as App.Import
// does (App.ImportURL trusts the system roots only; this one also trusts
// the account server's CA, so links of a self-hosted server import).
func (l *Links) ImportURL(ctx context.Context, rawURL string, opts ImportOptions) (ImportSummary, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxImportURLSize
	}
	b, err := l.Fetch(ctx, rawURL, opts.MaxSize)
	if err != nil {
		return ImportSummary{}, err
	}
	return l.app.Import(ctx, bytes.NewReader(b), opts)
}

// OpenURLScheme is the scheme of the URLs that ask Courier to do
// something: courier://import?url=https://... imports a collection.
const OpenURLScheme = "courier"

// ParseOpenURL reads a courier:// URL (as the OS hands it to the app) and
// returns the https URL it asks to import. Errors wrap model.ErrInvalid
// for another scheme or action, or a missing or non-https url.
func ParseOpenURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || !strings.EqualFold(u.Scheme, OpenURLScheme) {
		return "", fmt.Errorf("%.200q is not a courier:// URL: %w", s, model.ErrInvalid)
	}
	action := u.Host
	if action == "" { // courier:import?url=... or courier:///import?url=...
		action = strings.Trim(u.Opaque+u.Path, "/")
	}
	if action != "import" {
		return "", fmt.Errorf("courier:// URL asks for %.40q; only import is known: %w", action, model.ErrInvalid)
	}
	target := u.Query().Get("url")
	t, err := url.Parse(target)
	if err != nil || t.Scheme != "https" || t.Host == "" {
		return "", fmt.Errorf("courier://import needs url=https://...; got %.200q: %w", target, model.ErrInvalid)
	}
	return target, nil
}
