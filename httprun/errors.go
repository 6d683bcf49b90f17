package httprun

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/courierapp/courier/model"
)

// Kinds of Error.
const (
	KindInvalidURL        = "invalid_url"        // the URL cannot be parsed or has no host
	KindUnsupportedScheme = "unsupported_scheme" // not http or https
	KindInvalidMethod     = "invalid_method"     // the method is not an HTTP token
	KindInvalidHeader     = "invalid_header"     // a header cannot be sent as it is
	KindInvalidBody       = "invalid_body"       // the body cannot be built (GraphQL variables)
	KindVariable          = "variable"           // a variable refers to itself or nests too deep
	KindBodyFile          = "body_file"          // a file to send or to write the response to
	KindProxy             = "proxy"              // the proxy is invalid, unreachable or refused
	KindDNS               = "dns"                // the host name does not resolve
	KindConnect           = "connect"            // the connection was refused or dropped
	KindTLS               = "tls"                // the TLS handshake or certificate failed
	KindTimeout           = "timeout"            // Options.Timeout or the caller's deadline passed
	KindCanceled          = "canceled"           // the caller canceled the context
	KindTooManyRedirects  = "too_many_redirects" // more redirects than Options.MaxRedirects
	KindDecode            = "decode"             // the compressed body is corrupt
	KindNetwork           = "network"            // any other transport failure
	KindInternal          = "internal"           // a bug in Courier
)

// Error is what Send returns when no response could be read. Error() is a
// one-line sentence for the user; Err keeps the cause. errors.Is(err,
// model.ErrInvalid) holds for the kinds caused by the request as written
// (invalid_url, unsupported_scheme, invalid_method, invalid_header,
// invalid_body, variable), errors.Is(err, model.ErrUnavailable) for those
// of the network (proxy, dns, connect, tls, timeout, network,
// too_many_redirects), and a canceled request wraps context.Canceled.
type Error struct {
	Kind string
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the kind belongs to model.ErrInvalid or
// model.ErrUnavailable.
func (e *Error) Is(target error) bool {
	switch target {
	case model.ErrInvalid:
		switch e.Kind {
		case KindInvalidURL, KindUnsupportedScheme, KindInvalidMethod, KindInvalidHeader, KindInvalidBody, KindVariable:
			return true
		}
	case model.ErrUnavailable:
		switch e.Kind {
		case KindProxy, KindDNS, KindConnect, KindTLS, KindTimeout, KindNetwork, KindTooManyRedirects:
			return true
		}
	}
	return false
}

func newError(kind string, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// errTooManyRedirects is returned by CheckRedirect.
var errTooManyRedirects = errors.New("too many redirects")

// classify turns an error of the transport into an *Error. ctx is the
// caller's context, timeout the one Send set.
func classify(ctx context.Context, err error, timeout bool) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || ctx.Err() == context.Canceled {
		return newError(KindCanceled, errors.Join(context.Canceled, err), "the request was canceled")
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || timeout {
		return newError(KindTimeout, err, "no complete response before the time-out")
	}
	if errors.Is(err, errTooManyRedirects) {
		return newError(KindTooManyRedirects, err, "stopped after too many redirects")
	}
	if e := classifyTLS(err); e != nil {
		return e
	}
	if e := classifyNet(err); e != nil {
		return e
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(KindConnect, err, "the server closed the connection without a complete response")
	}
	return newError(KindNetwork, err, "%s", oneLine(innermost(err)))
}

// ConnectError returns err, a failure to open a connection made outside
// Send (the sync client's WebSocket dial), as an *Error with Send's
// one-line sentence: DNS, dial, proxy, TLS and time-out failures. A TLS
// sentence ends without TLSHint, which only the request editor offers.
// Other errors come back as nil.
func ConnectError(err error) *Error {
	if e := classifyTLS(err); e != nil {
		e.Msg = strings.TrimSuffix(e.Msg, TLSHint)
		return e
	}
	if e := classifyNet(err); e != nil {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(KindTimeout, err, "no answer before the time-out")
	}
	return nil
}

// TLSHint ends the message of a certificate that failed verification:
// where the app trusts a CA or turns verification off. Other front ends
// replace it with their own way (courier send has --ca and -k).
const TLSHint = " (trust its CA certificates in Settings, or turn verification off there)"

func classifyTLS(err error) *Error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return newError(KindTLS, err, "TLS: certificate signed by unknown authority%s", TLSHint)
	case errors.As(err, &host):
		return newError(KindTLS, err, "TLS: the certificate is not valid for %q%s", host.Host, TLSHint)
	case errors.As(err, &invalid):
		return newError(KindTLS, err, "TLS: %s%s", oneLine(invalid.Error()), TLSHint)
	case errors.As(err, &verify):
		return newError(KindTLS, err, "TLS: %s%s", oneLine(verify.Err.Error()), TLSHint)
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return newError(KindTLS, err, "TLS: the server did not answer with TLS (is it http rather than https?)")
	case errors.As(err, &alert):
		return newError(KindTLS, err, "TLS: the server refused the handshake (%s)", alert.Error())
	case strings.Contains(err.Error(), "tls: "):
		return newError(KindTLS, err, "TLS: %s", oneLine(strings.TrimPrefix(innermost(err), "tls: ")))
	}
	return nil
}

func classifyNet(err error) *Error {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return newError(KindDNS, err, "cannot resolve host %q", dns.Name)
		}
		return newError(KindDNS, err, "cannot resolve host %q: %s", dns.Name, dns.Err)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		cause := innermost(op.Err)
		switch {
		case op.Op == "proxyconnect":
			return newError(KindProxy, err, "cannot connect to the proxy %s: %s", addr(op), cause)
		case op.Op == "dial":
			return newError(KindConnect, err, "cannot connect to %s: %s", addr(op), cause)
		case op.Timeout():
			return newError(KindTimeout, err, "no complete response before the time-out")
		default:
			return newError(KindConnect, err, "the connection to %s failed: %s", addr(op), cause)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return newError(KindTimeout, err, "no complete response before the time-out")
	}
	return nil
}

// addr returns the remote address of op, or of the dial it wraps (a
// "proxyconnect" error has none of its own).
func addr(op *net.OpError) string {
	for op != nil {
		if op.Addr != nil {
			return op.Addr.String()
		}
		var inner *net.OpError
		if !errors.As(op.Err, &inner) {
			break
		}
		op = inner
	}
	return "(unknown address)"
}

// innermost returns the message of the deepest wrapped error, without the
// "Get \"url\": " prefixes that net/http adds.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
