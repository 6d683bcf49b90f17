package syncserver

import (
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

var errNoLink = apiErr(syncproto.CodeNotFound, "this link does not exist: it was revoked, it expired, or it was mistyped")

// publicLink serves GET /c/{token}: the snapshot as JSON, as an attachment
// (?download=1), or as a page for browsers. Errors are JSON, or a small
// page for browsers.
func (s *Server) publicLink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html := wantsHTML(r.Header.Get("Accept")) && r.URL.Query().Get(syncproto.LinkDownloadParam) == ""
		w.Header().Set("Vary", "Accept")
		w.Header().Set("X-Robots-Tag", "noindex")
		l, token, err := s.publicSnapshot(r)
		switch {
		case err != nil && html:
			s.writeErrorPage(w, r, err)
		case err != nil:
			s.writeError(w, r, err)
		case html:
			s.writeLinkPage(w, r, l, token)
		default:
			writeSnapshot(w, l, r.URL.Query().Get(syncproto.LinkDownloadParam) != "")
		}
	})
}

// publicSnapshot checks the rate limit (the deployment's, when replicas
// share one) and finds the live link of the request's token.
func (s *Server) publicSnapshot(r *http.Request) (Link, string, error) {
	if err := s.linkGet.check(r.Context(), clientIP(r), ""); err != nil {
		return Link{}, "", err
	}
	token := r.PathValue("token")
	if !syncproto.ValidLinkToken(token) {
		return Link{}, "", errNoLink
	}
	l, err := s.store.LinkByToken(r.Context(), tokenHash(token), s.now())
	if errors.Is(err, model.ErrNotFound) {
		return Link{}, "", errNoLink
	}
	return l, token, err
}

// wantsHTML reports whether an Accept header prefers a page: text/html
// (or text/*) with a quality at least that of application/json. "*/*"
// alone (curl, most libraries) gets JSON.
func wantsHTML(accept string) bool {
	var qHTML, qJSON float64
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case "text/html", "text/*":
			qHTML = max(qHTML, q)
		case "application/json", "application/*", "*/*":
			qJSON = max(qJSON, q)
		}
	}
	return qHTML > 0 && qHTML >= qJSON
}

func writeSnapshot(w http.ResponseWriter, l Link, download bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(l.Snapshot)))
	if download {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(l.Name)}))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(l.Snapshot)
}

// downloadName is a file name for the collection: its name with what a
// file system or a header could trip on replaced.
func downloadName(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if len([]rune(clean)) > 80 {
		clean = string([]rune(clean)[:80])
	}
	if clean == "" {
		clean = "collection"
	}
	return clean + ".postman_collection.json"
}

// openInCourier is the URL that asks the desktop app to import url.
func openInCourier(publicURL string) template.URL {
	// Built from the server's own configured URL and a validated token,
	// then query-escaped: safe to mark as a URL of another scheme.
	return template.URL("courier://import?url=" + url.QueryEscape(publicURL))
}
