package syncclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/courierapp/courier/syncproto"
)

// maxMessage bounds how much of a non-JSON error body is quoted.
const maxMessage = 200

// apiError turns an error answer into a *syncproto.Error: the server's
// code and message when the body is syncproto.ErrorBody, else a code
// guessed from the status and the start of the body as message. The
// status and Retry-After (seconds or an HTTP date) are kept.
func apiError(resp *http.Response, body []byte) *syncproto.Error {
	var eb syncproto.ErrorBody
	e := &eb.Error
	if err := json.Unmarshal(body, &eb); err != nil || e.Code == "" {
		e.Code = codeForStatus(resp.StatusCode)
		e.Message = fmt.Sprintf("the server answered %s", resp.Status)
		if s := printableStart(body); s != "" {
			e.Message += ": " + s
		}
	}
	e.Status = resp.StatusCode
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// codeForStatus guesses the code of an answer without an error body (a
// proxy's or a load balancer's).
func codeForStatus(status int) syncproto.ErrorCode {
	for _, c := range syncproto.ErrorCodes {
		if c.HTTPStatus() == status && c != syncproto.CodeInvalidCode {
			return c
		}
	}
	if status >= 500 {
		return syncproto.CodeUnavailable
	}
	return syncproto.CodeInternal
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. It returns 0 when v is empty or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

func printableStart(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxMessage {
		s = s[:maxMessage] + "..."
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
}

// RetryAfter returns how long the server asked the caller to wait when err
// is (or wraps) a rate-limited or unavailable answer with a Retry-After
// header; ok is false otherwise.
func RetryAfter(err error) (d time.Duration, ok bool) {
	var e *syncproto.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}
