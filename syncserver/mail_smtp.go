package syncserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/courierapp/courier/model"
)

// SMTPMailer sends through an SMTP submission server, always encrypted:
// smtp:// URLs require STARTTLS (default port 587), smtps:// URLs use
// implicit TLS (default port 465). Credentials in the URL are sent with
// AUTH PLAIN, only after TLS is up.
type SMTPMailer struct {
	addr     string
	host     string
	implicit bool
	user     string
	pass     string
	from     string
	envFrom  string
	tls      *tls.Config
	// Timeout bounds one whole delivery; 0 means 30 s.
	Timeout time.Duration
	now     func() time.Time
}

// NewSMTPMailer parses rawURL (smtp://user:pass@host:587 or
// smtps://user:pass@host:465) and the From address. tlsConf may be nil
// (system roots); tests pass one trusting their own CA. now may be nil.
func NewSMTPMailer(rawURL, from string, tlsConf *tls.Config, now func() time.Time) (*SMTPMailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w: %w", model.ErrInvalid, err)
	}
	m := &SMTPMailer{host: u.Hostname(), from: from, now: now}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		port = cmpOr(port, "587")
	case "smtps":
		m.implicit, port = true, cmpOr(port, "465")
	default:
		return nil, fmt.Errorf("smtp url scheme %q: want smtp:// (STARTTLS) or smtps:// (TLS): %w", u.Scheme, model.ErrInvalid)
	}
	if m.host == "" {
		return nil, fmt.Errorf("smtp url has no host: %w", model.ErrInvalid)
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail-from %q: %w: %w", from, model.ErrInvalid, err)
	}
	m.envFrom = addr.Address
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	m.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if tlsConf != nil {
		m.tls = tlsConf.Clone()
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = m.host
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Send delivers m. Errors wrap model.ErrUnavailable (the message may be
// retried later).
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	raw, err := m.Compose(s.from, s.now())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.deliver(ctx, m.To, raw); err != nil {
		return fmt.Errorf("smtp %s: send %s mail: %w: %w", s.addr, m.Kind, model.ErrUnavailable, err)
	}
	return nil
}

func (s *SMTPMailer) deliver(ctx context.Context, to string, raw []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	var c *smtp.Client
	if s.implicit {
		c = smtp.NewClient(tls.Client(conn, s.tls))
	} else if c, err = smtp.NewClientStartTLS(conn, s.tls); err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if s.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
			return fmt.Errorf("auth as %s: %w", s.user, err)
		}
	}
	if err := c.SendMail(s.envFrom, []string{to}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}
