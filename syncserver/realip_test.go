package syncserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestRealIPTakesTheClientFromTrustedProxiesOnly(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy: the peer", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"an untrusted peer cannot forge its address", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted balancer names the client", "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forged hop left of the real client is ignored", "10.1.2.3:443", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies is skipped", "192.0.2.7:443", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers are one list", "10.1.2.3:443", []string{"1.1.1.1", "198.51.100.2"}, "198.51.100.2"},
		{"IPv6 clients", "10.1.2.3:443", []string{"2001:db8::1"}, "2001:db8::1"},
		{"garbage keeps the peer", "10.1.2.3:443", []string{"not-an-ip"}, "10.1.2.3"},
		{"only proxies keeps the peer", "10.1.2.3:443", []string{"10.4.4.4"}, "10.1.2.3"},
		{"a trusted peer without the header", "10.1.2.3:443", nil, "10.1.2.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			h := realIP(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = clientIP(r) }))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != c.want {
				t.Fatalf("client %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,nonsense"); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("garbage: %v", err)
	}
}
