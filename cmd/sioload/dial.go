//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// parseTarget checks the -url and -path flags and returns the Engine.IO
// endpoint as an http:// URL whose host is a loopback IP literal. sioload
// only ever connects to 127.0.0.0/8 or ::1: "localhost" is taken to mean
// 127.0.0.1 (no resolver is asked), anything else is refused.
func parseTarget(raw, path string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url %q: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "ws":
	case "https", "wss":
		return nil, fmt.Errorf("-url %q: TLS is not supported; sioload only talks to local servers over http", raw)
	default:
		return nil, fmt.Errorf("-url %q: want http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("-url %q: bad port", raw)
	}
	var ip netip.Addr
	if strings.EqualFold(host, "localhost") {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	} else if ip, err = netip.ParseAddr(host); err != nil {
		return nil, fmt.Errorf("refusing target %q: sioload only connects to loopback IP addresses (127.0.0.0/8, ::1), not to host names", host)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() || ip.Zone() != "" {
		return nil, fmt.Errorf("refusing target %s: sioload only connects to loopback addresses (127.0.0.0/8, ::1)", ip)
	}
	if path == "" {
		path = "/socket.io/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(ip.String(), port), Path: path}, nil
}

// sourceAddrs returns the local addresses to bind outgoing connections to:
// none (the kernel picks) for n <= 1, else 127.0.0.1 .. 127.0.0.n. Each
// source address has its own ephemeral port range, which is what lets one
// process open more connections to one server port than the range holds.
func sourceAddrs(n int, target *url.URL) ([]*net.TCPAddr, error) {
	if n <= 1 {
		return nil, nil
	}
	if n > 254 {
		return nil, fmt.Errorf("-sources %d: at most 254 (127.0.0.1 .. 127.0.0.254)", n)
	}
	ip, err := netip.ParseAddr(target.Hostname())
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("-sources %d needs an IPv4 target (127.x.x.x)", n)
	}
	addrs := make([]*net.TCPAddr, n)
	for i := range addrs {
		addrs[i] = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}
	}
	return addrs, nil
}

// errNotLoopback is returned by the dialer for any non-loopback address,
// whatever asked for it (a redirect, a proxy setting, a bug).
var errNotLoopback = errors.New("sioload only connects to loopback addresses")

// dialer opens the TCP connections of both transports, rotating over the
// source addresses and refusing anything but loopback destinations.
type dialer struct {
	sources []*net.TCPAddr
	next    atomic.Uint64
	timeout time.Duration
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return nil, fmt.Errorf("dial %s: %w", addr, errNotLoopback)
	}
	nd := net.Dialer{Timeout: d.timeout, KeepAlive: -1}
	if len(d.sources) > 0 {
		nd.LocalAddr = d.sources[(d.next.Add(1)-1)%uint64(len(d.sources))]
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// transports holds what all connections of one run share.
type transports struct {
	http *http.Client
	ws   ws.Dialer
}

func newTransports(d *dialer, conns int, timeout time.Duration) transports {
	tr := &http.Transport{
		Proxy:       nil, // never a proxy: the target is local
		DialContext: d.DialContext,
		// A polling session keeps one long GET open and POSTs beside it:
		// keep enough idle connections that POSTs reuse them instead of
		// burning ephemeral ports.
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns + 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ReadBufferSize:      2048,
		WriteBufferSize:     2048,
	}
	return transports{
		http: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		ws: ws.Dialer{
			NetDial:         d.DialContext,
			Timeout:         timeout,
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
		},
	}
}

func (t transports) close() {
	if tr, ok := t.http.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}
