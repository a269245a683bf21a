package siotest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Endpoint is an Engine.IO endpoint, for one test: what it opens fails
// that test.
type Endpoint struct {
	T   testing.TB
	URL string // http://127.0.0.1:port/socket.io/
	Options
	Client *http.Client // its own connections, closed with the test
}

// NewEndpoint returns the endpoint at url, an http URL with the Engine.IO
// path ("http://127.0.0.1:port/socket.io/").
func NewEndpoint(t testing.TB, url string, o Options) *Endpoint {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &Endpoint{T: t, URL: url, Options: o, Client: &http.Client{Transport: tr}}
}

// Req tunes Request.
type Req struct {
	Header map[string]string
	// Wrote, if not nil, is closed once the request is on the wire.
	Wrote chan<- struct{}
	// Timeout bounds the exchange, Options.Timeout if zero. Its expiry
	// makes Request return an error matching context.DeadlineExceeded.
	Timeout time.Duration
}

// Request runs one HTTP request; query is the raw query string (without
// "?").
func (e *Endpoint) Request(method, query, body string, o Req) (Response, error) {
	if o.Timeout == 0 {
		o.Timeout = e.timeout()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if o.Wrote != nil {
		wrote := o.Wrote
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
		})
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.URL+"?"+query, rd)
	if err != nil {
		return Response{}, err
	}
	for k, v := range o.Header {
		req.Header.Set(k, v)
	}
	res, err := e.Client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}, nil
}

// Do is Request failing the test on a transport error.
func (e *Endpoint) Do(method, query, body string, hdr map[string]string) Response {
	e.T.Helper()
	r, err := e.Request(method, query, body, Req{Header: hdr})
	if err != nil {
		e.T.Fatalf("%s ?%s: %v", method, query, err)
	}
	return r
}

// OpenPolling performs the polling handshake of protocol eio (3 or 4).
func (e *Endpoint) OpenPolling(eio int) *Polling {
	e.T.Helper()
	return e.OpenPollingWith(eio, "")
}

// OpenPollingWith is OpenPolling with extra ("&b64=1") appended to the
// query of the handshake and of every later request of the session.
func (e *Endpoint) OpenPollingWith(eio int, extra string) *Polling {
	e.T.Helper()
	r := e.Do("GET", "EIO="+itoa(eio)+"&transport=polling"+extra, "", nil)
	if r.Status != http.StatusOK {
		e.T.Fatalf("handshake: HTTP %d %q", r.Status, Clip(r.Body))
	}
	packets := SplitPayload(e.T, eio, r.Body)
	if len(packets) != 1 {
		e.T.Fatalf("handshake response %q, want just the open packet", Clip(r.Body))
	}
	h := ParseOpen(e.T, packets[0])
	return &Polling{Endpoint: e, EIO: eio, SID: h.SID, Open: packets[0], Extra: extra}
}

// Dial opens a WebSocket with the raw query (an upgrade of a polling
// session, say); it reads nothing.
func (e *Endpoint) Dial(query string) *WS {
	e.T.Helper()
	w, res, err := DialWS(e.T, e.URL+"?"+query, e.Options)
	if err != nil {
		e.T.Fatalf("WebSocket ?%s: %v (%+v)", query, err, res)
	}
	return w
}

// DialWS opens a WebSocket with the raw query, reading nothing; see the
// package function.
func (e *Endpoint) DialWS(query string) (*WS, *Response, error) {
	return DialWS(e.T, e.URL+"?"+query, e.Options)
}

// OpenWS opens an Engine.IO session of protocol eio over WebSocket and
// reads its open packet.
func (e *Endpoint) OpenWS(eio int) *WS {
	e.T.Helper()
	return OpenWS(e.T, e.URL, eio, e.Options)
}

// Refused dials a WebSocket that the server must refuse with an HTTP
// error before the upgrade, and returns that answer.
func (e *Endpoint) Refused(query string) Response {
	e.T.Helper()
	w, res, err := DialWS(e.T, e.URL+"?"+query, e.Options)
	if err == nil {
		w.Close()
		e.T.Fatalf("WebSocket ?%s: accepted, want an HTTP error", query)
	}
	if res == nil {
		e.T.Fatalf("WebSocket ?%s: %v, want an HTTP error", query, err)
	}
	return *res
}

// Polling is an Engine.IO session over HTTP long-polling.
type Polling struct {
	*Endpoint
	EIO  int    // 3 or 4
	SID  string // the session id
	Open string // the open packet
	// Extra is appended to every request's query ("&b64=1"); usually empty.
	Extra string
}

// Query is the query string of the session's requests.
func (p *Polling) Query() string {
	return "EIO=" + itoa(p.EIO) + "&transport=polling&sid=" + url.QueryEscape(p.SID) + p.Extra
}

// Get is one raw poll.
func (p *Polling) Get() Response {
	p.T.Helper()
	return p.Do("GET", p.Query(), "", nil)
}

var textPlain = map[string]string{"Content-Type": "text/plain;charset=UTF-8"}

// PostRaw posts body as is, as text/plain, and returns the answer.
func (p *Polling) PostRaw(body string) Response {
	p.T.Helper()
	return p.Do("POST", p.Query(), body, textPlain)
}

// Post sends packets in one payload and expects 200 "ok".
func (p *Polling) Post(packets ...string) {
	p.T.Helper()
	r := p.PostRaw(EncodePayload(p.EIO, packets...))
	if r.Status != http.StatusOK || r.Body != "ok" {
		p.T.Fatalf("POST %q: HTTP %d %q, want 200 \"ok\"", packets, r.Status, Clip(r.Body))
	}
}

// Pong answers a v4 ping at once.
func (p *Polling) Pong() {
	p.T.Helper()
	p.Post("3")
}

// Recv polls until n packets other than v4 pings arrived (answering the
// pings after PongDelay) and returns them.
func (p *Polling) Recv(n int) []string {
	p.T.Helper()
	var got []string
	deadline := time.Now().Add(p.timeout())
	for len(got) < n {
		if time.Now().After(deadline) {
			p.T.Fatalf("received %q, want %d packets", got, n)
		}
		r := p.Get()
		if r.Status != http.StatusOK {
			p.T.Fatalf("poll: HTTP %d %q (after %q)", r.Status, Clip(r.Body), got)
		}
		for _, pk := range SplitPayload(p.T, p.EIO, r.Body) {
			if pk == "2" && p.EIO == 4 {
				time.Sleep(p.PongDelay)
				p.Post("3")
				continue
			}
			got = append(got, pk)
		}
	}
	if len(got) != n {
		p.T.Fatalf("received %q, want %d packets", got, n)
	}
	return got
}

// Expect polls for exactly the given packets.
func (p *Polling) Expect(want ...string) {
	p.T.Helper()
	got := p.Recv(len(want))
	for i := range want {
		if got[i] != want[i] {
			p.T.Fatalf("received %q, want %q", got, want)
		}
	}
}

// ExpectPayload polls once for exactly want, the whole body of a poll
// response. A v4 ping the server sent because a ping interval went by
// meanwhile (a slow test process) is answered at once and left out of the
// comparison; a poll that carried nothing else is repeated. That pong is a
// courtesy: if the session timed out all the same, it is only logged, and
// whatever the test does with the session next fails.
func (p *Polling) ExpectPayload(want string) {
	p.T.Helper()
	deadline := time.Now().Add(p.timeout())
	for {
		r := p.Get()
		if r.Status != http.StatusOK {
			p.T.Fatalf("poll: HTTP %d %q, want 200 %q", r.Status, Clip(r.Body), Clip(want))
		}
		body := r.Body
		if p.EIO == 4 {
			var kept []string
			pinged := false
			for _, pk := range strings.Split(body, "\x1e") {
				if pk == "2" {
					pinged = true
					continue
				}
				kept = append(kept, pk)
			}
			if pinged {
				pong, err := p.Request("POST", p.Query(), "3", Req{Header: textPlain})
				p.T.Logf("poll %q carried a ping; answered it: HTTP %d %q %v", Clip(body), pong.Status, pong.Body, err)
			}
			if len(kept) == 0 {
				if time.Now().After(deadline) {
					p.T.Fatalf("only pings for %v, want %q", p.timeout(), Clip(want))
				}
				continue
			}
			body = strings.Join(kept, "\x1e")
		}
		if body != want {
			p.T.Fatalf("poll: got %q, want %q", Clip(body), Clip(want))
		}
		return
	}
}

// ExpectGone asserts that the session is unknown to the server now.
func (p *Polling) ExpectGone() {
	p.T.Helper()
	ExpectError(p.T, p.Get(), 400, 1, "Session ID unknown")
}

// Probe opens the upgrade WebSocket of the session and exchanges the probe
// ("2probe", "3probe"); the caller completes the upgrade with "5".
func (p *Polling) Probe() *WS {
	p.T.Helper()
	w := p.Dial("EIO=" + itoa(p.EIO) + "&transport=websocket&sid=" + url.QueryEscape(p.SID))
	w.Send("2probe")
	w.Expect("3probe")
	return w
}
