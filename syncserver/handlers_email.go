package syncserver

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

var errBadConfirmToken = apiErr(syncproto.CodeInvalidCode, "this confirmation link is wrong, expired or already used; ask for a new one")

// confirm consumes a confirmation token.
func (s *Server) confirm(r *http.Request, token string) error {
	if token == "" || len(token) > syncproto.MaxTokenLen {
		return errBadConfirmToken
	}
	acct, err := s.store.ConfirmEmail(r.Context(), s.codeHash(PurposeConfirmEmail, token), s.now())
	if errors.Is(err, model.ErrNotFound) {
		return errBadConfirmToken
	}
	if err != nil {
		return err
	}
	s.log.Info("email confirmed", "account", acct.ID)
	return nil
}

func (s *Server) handleConfirmEmail(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.ConfirmEmailRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.confirm(r, req.Token); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}} · Courier</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.ok{color:#176f2c}.bad{color:#a21b1b}</style></head>
<body><h1 class="{{if .OK}}ok{{else}}bad{{end}}">{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// handleConfirmPage is the emailed link: it confirms and answers a page a
// person reads.
func (s *Server) handleConfirmPage(w http.ResponseWriter, r *http.Request) {
	err := s.confirm(r, r.URL.Query().Get(syncproto.ConfirmTokenParam))
	page := struct {
		OK          bool
		Title, Text string
	}{true, "Email address confirmed", "You can now sign in to Courier on any of your devices."}
	status := http.StatusOK
	var pe *syncproto.Error
	switch {
	case errors.As(err, &pe) && pe.Code == syncproto.CodeInvalidCode:
		page.OK, page.Title, page.Text = false, "This link does not work", "It is wrong, expired or was used already. If your address is not confirmed yet, ask Courier to send a new confirmation email."
		status = http.StatusBadRequest
	case err != nil:
		s.log.Error("confirm email failed", "err", err)
		page.OK, page.Title, page.Text = false, "Something went wrong", "The server could not confirm your address now. Please try the link again later."
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	confirmPage.Execute(w, page)
}

// mailRequest handles the calls that take an email and queue a job; the
// answer never depends on whether the address has an account.
func (s *Server) mailRequest(w http.ResponseWriter, r *http.Request, kind jobKind, email string) error {
	if err := syncproto.ValidateEmail(email); err != nil {
		return invalid(err)
	}
	email = syncproto.NormalizeEmail(email)
	if err := s.mail.check(r.Context(), clientIP(r), email); err != nil {
		return err
	}
	if err := s.enqueue(mailJob{kind: kind, email: email}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, sentBody)
	return nil
}

func (s *Server) handleResend(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.ResendConfirmationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return s.mailRequest(w, r, jobResendConfirmation, req.Email)
}

func (s *Server) handleForgotUsername(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.ForgotUsernameRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return s.mailRequest(w, r, jobForgotUsername, req.Email)
}

func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.ForgotPasswordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return s.mailRequest(w, r, jobForgotPassword, req.Email)
}
