package syncserver

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"

	"github.com/courierapp/courier/syncproto"
)

// mailBody is the content of one email, rendered to text and HTML.
type mailBody struct {
	Greeting   string
	Paragraphs []string
	Link       string
	LinkLabel  string
	Code       string
	Footer     string
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#222;max-width:36rem">
<p>{{.Greeting}}</p>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Code}}<p style="font-size:1.6em;font-family:monospace;letter-spacing:.1em"><strong>{{.Code}}</strong></p>
{{end}}{{if .Link}}<p><a href="{{.Link}}" style="background:#1d5fd6;color:#fff;padding:.6em 1.2em;border-radius:4px;text-decoration:none">{{.LinkLabel}}</a></p>
<p style="font-size:.85em;color:#666">Or open this address: {{.Link}}</p>
{{end}}<p style="font-size:.85em;color:#666">{{.Footer}}</p>
</body></html>
`))

func (b mailBody) message(kind, to, subject string) Message {
	var text strings.Builder
	text.WriteString(b.Greeting + "\n\n")
	for _, p := range b.Paragraphs {
		text.WriteString(p + "\n\n")
	}
	if b.Code != "" {
		text.WriteString("    " + b.Code + "\n\n")
	}
	if b.Link != "" {
		text.WriteString(b.LinkLabel + ":\n" + b.Link + "\n\n")
	}
	text.WriteString("-- \n" + b.Footer + "\n")
	var html bytes.Buffer
	mailHTML.Execute(&html, b)
	m := Message{Kind: kind, To: to, Subject: subject, Text: text.String(), HTML: html.String()}
	if b.Link != "" {
		m.Links = []string{b.Link}
	}
	return m
}

const mailFooter = "You get this email because someone used this address with Courier. If it was not you, you can ignore it."

func (s *Server) confirmLink(token string) string {
	return strings.TrimSuffix(s.cfg.PublicURL, "/") + syncproto.PathConfirmEmail + "?" +
		url.Values{syncproto.ConfirmTokenParam: {token}}.Encode()
}

func (s *Server) confirmMail(a Account, link string) Message {
	return mailBody{
		Greeting:   "Hello " + a.Username + ",",
		Paragraphs: []string{"Welcome to Courier. Confirm your email address to finish creating your account; the link works for 48 hours."},
		Link:       link, LinkLabel: "Confirm my email address", Footer: mailFooter,
	}.message("confirm", a.Email, "Confirm your Courier account")
}

func (s *Server) accountExistsMail(a Account, link string) Message {
	ps := []string{
		"Someone, maybe you, tried to create a Courier account with this email address. You already have one: your username is " + a.Username + ".",
		"If you forgot your password, choose “Forgot password” when you sign in to Courier.",
	}
	label := ""
	if link != "" {
		ps = append(ps, "Your address is not confirmed yet; you can confirm it now.")
		label = "Confirm my email address"
	}
	return mailBody{Greeting: "Hello " + a.Username + ",", Paragraphs: ps, Link: link, LinkLabel: label, Footer: mailFooter}.
		message("account_exists", a.Email, "You already have a Courier account")
}

func (s *Server) usernameMail(a Account) Message {
	return mailBody{
		Greeting:   "Hello,",
		Paragraphs: []string{"You asked for the username of your Courier account. It is:"},
		Code:       a.Username, Footer: mailFooter,
	}.message("username", a.Email, "Your Courier username")
}

func (s *Server) resetMail(a Account, code string) Message {
	return mailBody{
		Greeting: "Hello " + a.Username + ",",
		Paragraphs: []string{
			"You asked to reset the password of your Courier account. Enter this code in Courier within 30 minutes; it works once.",
		},
		Code: code, Footer: "If you did not ask for this, ignore this email: your password stays as it is.",
	}.message("reset", a.Email, "Your Courier password reset code")
}

// notice is a security notice sent after a credential change.
type notice int

const (
	noticePasswordChanged notice = iota
	noticePasswordReset
)

func (s *Server) noticeMail(a Account, n notice) Message {
	what, kind := "changed", "password_changed"
	if n == noticePasswordReset {
		what, kind = "reset", "password_reset"
	}
	return mailBody{
		Greeting: "Hello " + a.Username + ",",
		Paragraphs: []string{
			"The password of your Courier account was just " + what + ". Your other devices were signed out.",
			"If this was not you, reset your password now and check the devices signed in to your account.",
		},
		Footer: mailFooter,
	}.message(kind, a.Email, "Your Courier password was "+what)
}
