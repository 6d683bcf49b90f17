package syncserver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// linkRoutes registers the collection link API and the public link URL.
func (s *Server) linkRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.linkAPI(h)) }
	handle("POST "+syncproto.PathLinks, s.authed(s.handleCreateLink))
	handle("GET "+syncproto.PathLinks, s.authed(s.handleLinks))
	handle("PUT "+syncproto.PathLinks+"/{id}", s.authed(s.handleUpdateLink))
	handle("DELETE "+syncproto.PathLinks+"/{id}", s.authed(s.handleRevokeLink))
	mux.Handle("GET "+syncproto.PathPublicLink+"{token}", s.publicLink())
}

// linkAPI is api with the larger body cap of link snapshots.
func (s *Server) linkAPI(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, syncproto.MaxLinkBody)
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

var errTooLargeLink = apiErr(syncproto.CodeTooLarge,
	fmt.Sprintf("the collection is larger than the %d MiB a link may hold", syncproto.MaxLinkSnapshot>>20))

// decodeLink is decode for link bodies: 413 past MaxLinkBody.
func decodeLink(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return apiErr(syncproto.CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLargeLink
		}
		return apiErr(syncproto.CodeInvalidInput, "the body is not valid JSON of the expected shape: "+jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(syncproto.CodeInvalidInput, "the body holds more than one JSON value")
	}
	return nil
}

// linkInvalid turns a validation error of a link request into its answer.
func linkInvalid(err error) error {
	if errors.Is(err, model.ErrTooLarge) {
		return errTooLargeLink
	}
	return invalid(err)
}

// newLinkToken returns LinkTokenBytes random bytes, base64url.
func newLinkToken() string {
	b := make([]byte, syncproto.LinkTokenBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// linkURL is the public URL of token.
func (s *Server) linkURL(token string) string {
	return s.cfg.PublicURL + syncproto.PathPublicLink + token
}

func linkInfo(l Link) syncproto.LinkInfo {
	info := syncproto.LinkInfo{ID: l.ID, Name: l.Name, Source: l.Source, Size: l.Size, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
	if !l.ExpiresAt.IsZero() {
		at := l.ExpiresAt
		info.ExpiresAt = &at
	}
	return info
}

func (s *Server) handleCreateLink(w http.ResponseWriter, r *http.Request, sess Session) error {
	var req syncproto.CreateLinkRequest
	if err := decodeLink(r, &req); err != nil {
		return err
	}
	now := s.now()
	name, err := req.Validate(now)
	if err != nil {
		return linkInvalid(err)
	}
	ctx := r.Context()
	have, err := s.store.Links(ctx, sess.AccountID)
	if err != nil {
		return err
	}
	if len(have) >= syncproto.MaxLinksPerAccount {
		return apiErr(syncproto.CodeConflict, fmt.Sprintf("the account holds %d links, the most it may; revoke one first", len(have)))
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	token := newLinkToken()
	snap := bytes.TrimSpace(req.Collection)
	l := Link{ID: string(model.NewID()), AccountID: sess.AccountID, TokenHash: tokenHash(token), Name: name,
		Source: req.Source, Snapshot: snap, Size: len(snap), CreatedAt: now, UpdatedAt: now}
	if req.ExpiresAt != nil {
		l.ExpiresAt = req.ExpiresAt.UTC()
	}
	if err := s.store.CreateLink(ctx, l); err != nil {
		return err
	}
	s.log.Info("link created", "link", l.ID, "account", sess.AccountID, "size", l.Size)
	info := linkInfo(l)
	info.Token, info.URL = token, s.linkURL(token)
	writeJSON(w, http.StatusCreated, info)
	return nil
}

func (s *Server) handleLinks(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, err := s.store.Links(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	out := syncproto.LinksResponse{Links: make([]syncproto.LinkInfo, 0, len(list))}
	for _, l := range list {
		out.Links = append(out.Links, linkInfo(l))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func noSuchLink(id string) error {
	return apiErr(syncproto.CodeNotFound, fmt.Sprintf("this account has no link %.64q", id))
}

func (s *Server) handleUpdateLink(w http.ResponseWriter, r *http.Request, sess Session) error {
	var req syncproto.UpdateLinkRequest
	if err := decodeLink(r, &req); err != nil {
		return err
	}
	now := s.now()
	name, err := req.Validate(now)
	if err != nil {
		return linkInvalid(err)
	}
	u := LinkUpdate{UpdatedAt: now}
	if req.Collection != nil {
		u.Name, u.Snapshot = name, bytes.TrimSpace(req.Collection)
	}
	switch {
	case req.NoExpiry:
		u.ExpiresAt = &time.Time{}
	case req.ExpiresAt != nil:
		at := req.ExpiresAt.UTC()
		u.ExpiresAt = &at
	}
	ctx := r.Context()
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	id := r.PathValue("id")
	l, err := s.store.UpdateLink(ctx, sess.AccountID, id, u)
	if errors.Is(err, model.ErrNotFound) {
		return noSuchLink(id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, linkInfo(l))
	return nil
}

func (s *Server) handleRevokeLink(w http.ResponseWriter, r *http.Request, sess Session) error {
	id := r.PathValue("id")
	err := s.store.DeleteLink(r.Context(), sess.AccountID, id)
	if errors.Is(err, model.ErrNotFound) {
		return noSuchLink(id)
	}
	if err != nil {
		return err
	}
	s.log.Info("link revoked", "link", id, "account", sess.AccountID)
	writeJSON(w, http.StatusOK, okBody)
	return nil
}
