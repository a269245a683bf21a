package engineio

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a reverse proxy the peer of every connection is the proxy: the
// client's address and the scheme and host it asked for come in
// X-Forwarded-* headers, which anyone can also send. They are believed
// only from a peer in Options.TrustedProxies.

// remoteIP is the IP of the connection's peer.
func remoteIP(r *http.Request) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host
	}
	return a.Unmap(), host
}

func (srv *Server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range srv.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a session is counted against: the peer's IP
// or, from a trusted proxy, the nearest address in X-Forwarded-For that
// is not itself a trusted proxy (the entries before it are the client's
// own word).
func (srv *Server) clientAddr(r *http.Request) string {
	a, raw := remoteIP(r)
	if !srv.trusted(a) {
		if a.IsValid() {
			return a.String()
		}
		return raw
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing before it
		}
		h = h.Unmap()
		if !srv.trusted(h) {
			return h.String()
		}
		a = h
	}
	return a.String()
}

// servedOrigin is the scheme and host the client asked for: this
// request's own, or from a trusted proxy its X-Forwarded-Proto and
// X-Forwarded-Host (the last value of each: the nearest proxy's).
func (srv *Server) servedOrigin(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(srv.opts.TrustedProxies) == 0 {
		return scheme, host
	}
	if a, _ := remoteIP(r); !srv.trusted(a) {
		return scheme, host
	}
	if v := lastValue(r.Header, "X-Forwarded-Proto"); v == "http" || v == "https" {
		scheme = v
	}
	if v := lastValue(r.Header, "X-Forwarded-Host"); v != "" {
		host = v
	}
	return scheme, host
}

func lastValue(h http.Header, key string) string {
	vs := h.Values(key)
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(v))
}
