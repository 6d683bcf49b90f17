package syncserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"time"
)

// Message is one email: a plain-text and an HTML body of the same text.
type Message struct {
	// Kind names the email for logs and metrics ("confirm", "reset").
	Kind    string
	To      string
	Subject string
	Text    string
	HTML    string
	// Links lists the links the message carries (the dev mailbox logs
	// them).
	Links []string
}

// Mailer sends emails. Send may block for the network; the server calls
// it from its mail queue, never on a request's path.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerFunc adapts a function to Mailer (handy in tests).
type MailerFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f MailerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// Compose renders m as an RFC 5322 message from `from`, with a
// multipart/alternative body (text, then HTML), CRLF line ends.
func (m Message) Compose(from string, now time.Time) ([]byte, error) {
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("compose %s mail: from address %q: %w", m.Kind, from, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, text string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		qp.Write([]byte(part.text))
		qp.Close()
	}
	mw.Close()
	id := make([]byte, 12)
	rand.Read(id)
	var out bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&out, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", m.To)
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@courier>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}
