package syncclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// The collection link API (Bearer). Requests are validated before they
// are sent, as the account API's are.

// CreateLink publishes a snapshot; the answer carries the public URL and
// token, which the server will not tell again.
func (c *Client) CreateLink(ctx context.Context, r syncproto.CreateLinkRequest) (syncproto.LinkInfo, error) {
	var out syncproto.LinkInfo
	if _, err := r.Validate(time.Now()); err != nil {
		return out, fmt.Errorf("create link: %w", err)
	}
	err := c.do(ctx, call{what: "create link", method: http.MethodPost, path: syncproto.PathLinks, bearer: true, in: r, out: &out})
	return out, err
}

// UpdateLink changes link id: its snapshot, its expiry, or both.
func (c *Client) UpdateLink(ctx context.Context, id string, r syncproto.UpdateLinkRequest) (syncproto.LinkInfo, error) {
	var out syncproto.LinkInfo
	if _, err := r.Validate(time.Now()); err != nil {
		return out, fmt.Errorf("update link %s: %w", id, err)
	}
	if err := validLinkID(id); err != nil {
		return out, err
	}
	err := c.do(ctx, call{what: "update link", method: http.MethodPut, path: syncproto.PathLinks + "/" + url.PathEscape(id), bearer: true, in: r, out: &out})
	return out, err
}

// RevokeLink deletes link id; its URL answers 404 from then on.
func (c *Client) RevokeLink(ctx context.Context, id string) error {
	if err := validLinkID(id); err != nil {
		return err
	}
	return c.do(ctx, call{what: "revoke link", method: http.MethodDelete, path: syncproto.PathLinks + "/" + url.PathEscape(id), bearer: true, out: &syncproto.StatusResponse{}})
}

// Links lists the account's links, oldest first.
func (c *Client) Links(ctx context.Context) ([]syncproto.LinkInfo, error) {
	var out syncproto.LinksResponse
	err := c.do(ctx, call{what: "list links", method: http.MethodGet, path: syncproto.PathLinks, bearer: true, out: &out})
	return out.Links, err
}

func validLinkID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#") {
		return fmt.Errorf("link id %.64q is not one: %w", id, model.ErrInvalid)
	}
	return nil
}

// maxFetchRedirects bounds the redirects FetchURL follows.
const maxFetchRedirects = 5

// FetchURL GETs rawURL, an https:// URL of any host (a collection link
// of any Courier server, or any file serving a Postman collection), with
// this client's trust (the system roots plus Options.CAFile), following
// up to five redirects that stay on https. It never sends the session
// token. It returns the body, at most maxBytes. Errors wrap
// model.ErrInvalid for a URL that is not https://, model.ErrNotFound for
// a 404 or 410, model.ErrTooLarge past maxBytes, *syncproto.Error for
// another error answer, and model.ErrUnavailable when the host cannot be
// reached.
func (c *Client) FetchURL(ctx context.Context, rawURL string, maxBytes int64) ([]byte, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("fetch %.200q: only https:// URLs are fetched: %w", rawURL, model.ErrInvalid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", u.Redacted(), model.ErrInvalid, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	hc := *c.http
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) > maxFetchRedirects {
			return fmt.Errorf("more than %d redirects", maxFetchRedirects)
		}
		if r.URL.Scheme != "https" {
			return fmt.Errorf("redirected to %s, which is not https", r.URL.Redacted())
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), transportError(ctx, u.Host, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read: %w: %w", u.Redacted(), model.ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("fetch %s: nothing there (it may have been revoked or have expired): %w", u.Redacted(), model.ErrNotFound)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), apiError(resp, body))
	case int64(len(body)) > maxBytes:
		return nil, fmt.Errorf("fetch %s: larger than %d bytes: %w", u.Redacted(), maxBytes, model.ErrTooLarge)
	}
	return body, nil
}
