package syncserver

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/courierapp/courier/model"
)

// ParseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7") of the load balancers in front of the
// server (--trusted-proxies). An empty list trusts no proxy.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR prefix such as 10.0.0.0/8: %w", f, model.ErrInvalid)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// realIP makes r.RemoteAddr the client's address when the TCP peer is a
// trusted proxy: the rightmost address of X-Forwarded-For that is not a
// trusted proxy itself (the ones to its left could be forged by the
// client). Rate limits and logs then see clients, not the balancer. A
// peer outside trusted is the client, whatever headers it sends.
func realIP(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := forwardedFor(trusted, r); ok {
			r2 := *r
			r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedFor returns the client address r was forwarded for, if its
// peer is trusted and says so.
func forwardedFor(trusted []netip.Prefix, r *http.Request) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !isTrusted(trusted, peer.Addr()) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // garbled: keep the peer
		}
		if !isTrusted(trusted, a) {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
