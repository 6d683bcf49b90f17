package httprun

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/courierapp/courier/model"
)

// applyAuth adds the auth of a to the request's headers or URL; it replaces
// a header of the same name. It returns a warning when the type is one
// Courier does not apply. model.AuthInherit is treated as none: the caller
// resolves inheritance first.
func applyAuth(h http.Header, u *url.URL, a model.Auth, rs resolveFunc) (string, error) {
	param := func(key string) (string, error) {
		return rs(a.Param(key), "auth", key)
	}
	switch a.Type {
	case model.AuthInherit, model.AuthNone:
		return "", nil
	case model.AuthBearer:
		token, err := param("token")
		if err != nil || token == "" {
			return "", err
		}
		return "", setAuthHeader(h, "Authorization", "Bearer "+token)
	case model.AuthBasic:
		user, err := param("username")
		if err != nil {
			return "", err
		}
		pass, err := param("password")
		if err != nil || user == "" && pass == "" {
			return "", err
		}
		return "", setAuthHeader(h, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	case model.AuthAPIKey:
		return "", apiKey(h, u, param)
	}
	return fmt.Sprintf("auth type %q is not supported; the request was sent without auth", a.Type), nil
}

func apiKey(h http.Header, u *url.URL, param func(string) (string, error)) error {
	key, err := param("key")
	if err != nil || key == "" {
		return err
	}
	value, err := param("value")
	if err != nil {
		return err
	}
	where, err := param("in")
	if err != nil {
		return err
	}
	if where != "query" {
		return setAuthHeader(h, key, value)
	}
	q := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery, u.ForceQuery = q, false
	return nil
}

func setAuthHeader(h http.Header, name, value string) error {
	if err := checkHeader(name, value, false); err != nil {
		return newError(KindInvalidHeader, fmt.Errorf("%w: %w", model.ErrInvalid, err), "cannot send the auth header %q: %s", name, err)
	}
	h.Set(name, value)
	return nil
}
