// Package smtptest runs a real SMTP submission server in-process for
// tests: it requires STARTTLS before AUTH PLAIN (or serves implicit TLS),
// checks the credentials, and keeps every message it receives so a test
// can wait for one and read its links and codes.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Credentials the server accepts.
const (
	User = "courier"
	Pass = "s3cret pass"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
	// TLS reports whether the message came over an encrypted connection;
	// Authed whether AUTH succeeded first.
	TLS, Authed bool
	Raw         []byte
}

var linkRE = regexp.MustCompile(`https://[^\s"<>]+`)

// Link returns the first https link of the text part ("" if none).
func (m Mail) Link() string { return linkRE.FindString(m.Text) }

var codeRE = regexp.MustCompile(`(?m)^ {4}(\S+)\r?$`)

// Code returns the indented code line of the text part ("" if none).
func (m Mail) Code() string {
	if s := codeRE.FindStringSubmatch(m.Text); s != nil {
		return s[1]
	}
	return ""
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port on loopback.
	Addr     string
	implicit bool
	srv      *smtp.Server
	mu       sync.Mutex
	mails    []Mail
}

// Start serves on a free loopback port with cert, STARTTLS (implicit=false)
// or implicit TLS, until the test ends.
func Start(t testing.TB, cert tls.Certificate, implicit bool) *Server {
	t.Helper()
	s := &Server{implicit: implicit}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.Addr, s.srv = ln.Addr().String(), srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the mailer URL with the server's credentials.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + User + ":" + strings.ReplaceAll(Pass, " ", "%20") + "@" + s.Addr
}

// Mails returns a copy of everything received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor polls until a message to `to` whose subject contains subject
// arrives after the first `skip` such messages, and returns it; it fails
// the test after 10 s.
func (s *Server) WaitFor(t testing.TB, to, subject string, skip int) Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, m := range s.Mails() {
			if len(m.To) == 1 && m.To[0] == to && strings.Contains(m.Subject, subject) {
				if n == skip {
					return m
				}
				n++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s after 10 s (have %d)", subject, to, len(s.Mails()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != User || pass != Pass {
			return errors.New("invalid credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	m := Mail{From: x.from, To: x.to, Raw: raw, TLS: isTLS, Authed: x.authed}
	if err := parse(&m); err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, m)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// parse fills Subject, Text and HTML from a multipart/alternative message.
func parse(m *Mail) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		// multipart.Reader already undoes quoted-printable.
		body, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			m.HTML = string(body)
		} else {
			m.Text = string(body)
		}
	}
}
