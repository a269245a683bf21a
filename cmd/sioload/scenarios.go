//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/chatserver/internal/wire"
)

// Common is the part of every result line that describes the run.
type Common struct {
	Scenario   string         `json:"scenario"`
	Transport  string         `json:"transport"`
	EIO        int            `json:"eio"`
	N          int            `json:"n"`
	Rate       float64        `json:"rate,omitempty"`
	DurationS  float64        `json:"duration_s"`
	Sources    int            `json:"sources"`
	Engine     bool           `json:"engine,omitempty"`
	SetupS     float64        `json:"setup_s"`
	ElapsedS   float64        `json:"elapsed_s"`
	ErrorCount int            `json:"error_count"`
	Errors     map[string]int `json:"errors"`
}

func (r *runner) common(setup time.Duration) Common {
	return Common{
		Scenario:   r.cfg.Scenario,
		Transport:  r.cfg.Transport,
		EIO:        r.cfg.EIO,
		N:          r.cfg.N,
		Rate:       r.cfg.Rate,
		DurationS:  r.cfg.Duration.Seconds(),
		Sources:    r.cfg.Sources,
		Engine:     r.cfg.Engine,
		SetupS:     round3(setup.Seconds()),
		ElapsedS:   round3(time.Since(r.start).Seconds()),
		ErrorCount: r.errs.Total(),
		Errors:     r.errs.Map(),
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}

// Run runs the configured scenario. It returns the result to print (also,
// for idle, when setup failed) and an error when the run failed.
func Run(cfg Config, log io.Writer) (any, error) {
	r, err := newRunner(cfg, log)
	if err != nil {
		return nil, err
	}
	kind := "connections"
	if cfg.Engine {
		kind = "Engine.IO sessions"
	}
	r.logf("%s: %d %s, %s, EIO %d, to %s", cfg.Scenario, r.cfg.N, kind, cfg.Transport, cfg.EIO, r.cc.base)
	switch r.cfg.Scenario {
	case "idle":
		return r.idle()
	case "fanout":
		return r.fanout()
	case "cursors":
		return r.cursors()
	case "churn":
		return r.churn()
	default:
		return r.echo()
	}
}

// sleepFor waits d; every wait in the scenarios is bounded this way.
func sleepFor(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

// nopHandler ignores everything the server sends.
type nopHandler struct{}

func (nopHandler) OnEvent(*Conn, []byte)      {}
func (nopHandler) OnAck(*Conn, int64, []byte) {}

var rttArg = []byte(`{}`)

// alive counts the connections that are up.
func alive(conns []*Conn) int {
	n := 0
	for _, c := range conns {
		if c != nil && c.Alive() {
			n++
		}
	}
	return n
}

// ---- idle ----

// IdleResult is the idle scenario's line.
type IdleResult struct {
	Common
	OK            bool    `json:"ok"`
	Requested     int     `json:"requested"`
	Connected     int     `json:"connected"`
	StillUp       int     `json:"still_up"`
	Dropped       int     `json:"dropped"`
	ConnectErrors int     `json:"connect_errors"`
	ConnectsPerS  float64 `json:"connects_per_sec"`
	HoldS         float64 `json:"hold_s"`
}

// idle opens N registered connections, holds them for -duration, then
// checks each with an acked rtt: still_up counts those that answered. With
// -engine the connections are bare Engine.IO sessions and the check is a
// message echoed back.
func (r *runner) idle() (any, error) {
	n := r.cfg.N
	setup := r.register
	if r.cfg.Engine {
		setup = nil
	}
	o := r.openAll("idle", 0, n, nopHandler{}, setup)
	res := &IdleResult{Requested: n, Connected: o.connected, ConnectErrors: o.failed,
		ConnectsPerS: perSec(int64(o.connected), o.elapsed)}
	if o.connected < n {
		res.StillUp = alive(o.conns)
		r.closeAll(o.conns)
		res.Common = r.common(o.elapsed)
		return res, r.setupError(o, n)
	}
	r.logf("idle: %d connected in %.1fs; holding for %v", n, o.elapsed.Seconds(), r.cfg.Duration)
	stop := r.progress(func() string {
		return fmt.Sprintf("idle: %d/%d up", alive(o.conns), n)
	})
	t0 := time.Now()
	sleepFor(r.cfg.Duration)
	stop()
	res.HoldS = round3(time.Since(t0).Seconds())

	// Prove each connection still works end to end.
	var up atomic.Int64
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for _, c := range o.conns {
		if !c.Alive() {
			if err := c.Err(); err != nil {
				r.errs.add("hold", err)
			}
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if r.cfg.Engine {
				if err := c.Echo([]byte("sioload-" + strconv.Itoa(c.Index()))); err != nil {
					r.errs.add("final echo", err)
					return
				}
				up.Add(1)
				return
			}
			ok, data, err := c.Call("rtt", rttArg, false)
			switch {
			case err != nil:
				r.errs.add("final rtt", err)
			case !ok:
				r.errs.addN("final rtt: "+truncate(data, 120), 1)
			default:
				up.Add(1)
			}
		}()
	}
	wg.Wait()
	res.StillUp = int(up.Load())
	res.Dropped = n - res.StillUp
	res.OK = res.StillUp == n
	r.closeAll(o.conns)
	res.Common = r.common(o.elapsed)
	return res, nil
}

// ---- fanout ----

// FanoutResult is the fanout scenario's line.
type FanoutResult struct {
	Common
	Receivers        int     `json:"receivers"`
	Senders          int     `json:"senders"`
	Attempted        int64   `json:"attempted"`
	Sent             int64   `json:"sent"`
	Rejected         int64   `json:"rejected"`
	Expected         int64   `json:"expected"`
	Delivered        int64   `json:"delivered"`
	Missing          int64   `json:"missing"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	Latency          Latency `json:"latency_ms"`
	ReceiversDown    int     `json:"receivers_down"`
}

type fanoutState struct {
	r         *runner
	nrecv     int
	hist      Histogram
	delivered []atomic.Int64 // per receiver
	last      atomic.Int64   // unix nanos of the latest delivery
	accepted  atomic.Int64
	rejected  atomic.Int64
}

var messagePrefix = []byte(`["message",`)

// OnEvent measures a message's latency from the send time in its text.
func (f *fanoutState) OnEvent(c *Conn, data []byte) {
	if c.Index() >= f.nrecv || !bytes.HasPrefix(data, messagePrefix) {
		return
	}
	now := time.Now().UnixNano()
	f.delivered[c.Index()].Add(1)
	for {
		l := f.last.Load()
		if now <= l || f.last.CompareAndSwap(l, now) {
			break
		}
	}
	obj, ok := wire.Element(data, 1)
	if !ok {
		return
	}
	v, ok := wire.Field(obj, "text")
	if !ok {
		return
	}
	s, ok := wire.StringValue(v)
	if !ok || len(s) < 2 || s[0] != 't' {
		return
	}
	if ts, ok := wire.ParseInt(s[1:]); ok {
		f.hist.Record(time.Duration(now - ts))
	}
}

// OnAck counts the senders' message acks.
func (f *fanoutState) OnAck(_ *Conn, _ int64, data []byte) {
	if ackOK(data) {
		f.accepted.Add(1)
		return
	}
	f.rejected.Add(1)
	f.r.errs.addN("message rejected: "+ackCode(data), 1)
}

// ackCode is the error code of a failed ack, [{"ok":false,"error":{"code":..}}].
func ackCode(data []byte) string {
	if obj, ok := wire.Element(data, 0); ok {
		if e, ok := wire.Field(obj, "error"); ok {
			if v, ok := wire.Field(e, "code"); ok {
				if s, ok := wire.StringValue(v); ok {
					return string(s)
				}
			}
		}
	}
	return truncate(data, 80)
}

func (f *fanoutState) total() int64 {
	var n int64
	for i := range f.delivered {
		n += f.delivered[i].Load()
	}
	return n
}

// fanout: N receivers and ceil(rate/4) senders join one room; the senders
// take turns sending one message each per 1/rate s, so that each stays
// under the server's 5 messages/s per user; receivers measure latency.
func (r *runner) fanout() (any, error) {
	n := r.cfg.N
	nsend := int(math.Ceil(r.cfg.Rate / 4))
	f := &fanoutState{r: r, nrecv: n, delivered: make([]atomic.Int64, n)}
	o := r.openAll("fanout receivers", 0, n, f, r.registerJoin)
	if o.connected < n {
		r.closeAll(o.conns)
		return nil, r.setupError(o, n)
	}
	so := r.openAll("fanout senders", n, nsend, f, r.registerJoin)
	if so.connected < nsend {
		r.closeAll(so.conns)
		r.closeAll(o.conns)
		return nil, r.setupError(so, nsend)
	}
	setup := time.Since(r.start)
	r.logf("fanout: %d receivers and %d senders in room %s; sending %v msg/s for %v", n, nsend, r.room, r.cfg.Rate, r.cfg.Duration)

	var attempted atomic.Int64
	stop := r.progress(func() string {
		return fmt.Sprintf("fanout: sent %d, accepted %d, delivered %d/%d", attempted.Load(),
			f.accepted.Load(), f.total(), f.accepted.Load()*int64(n))
	})
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	t0 := time.Now()
	end := t0.Add(r.cfg.Duration)
	var arg, frame []byte
	for k := 0; ; k++ {
		next := t0.Add(time.Duration(k) * interval)
		if !next.Before(end) {
			break
		}
		sleepFor(time.Until(next))
		s := so.conns[k%nsend]
		arg = append(arg[:0], `{"room":"`...)
		arg = append(arg, r.room...)
		arg = append(arg, `","text":"t`...)
		arg = strconv.AppendInt(arg, time.Now().UnixNano(), 10)
		arg = append(arg, `","clientId":"c`...)
		arg = strconv.AppendInt(arg, int64(k), 10)
		arg = append(arg, `"}`...)
		frame = wire.AppendEvent(frame[:0], chatNsp, s.NextAckID(), "message", arg)
		if err := s.send(frame); err != nil {
			r.errs.add("send", err)
			continue
		}
		attempted.Add(1)
	}
	sendEnd := time.Now()

	// Drain: wait for every ack and every delivery, bounded by -timeout and
	// by 5s without progress.
	deadline := time.Now().Add(r.cfg.Timeout)
	lastTotal, lastChange := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		acks := f.accepted.Load() + f.rejected.Load()
		got := f.total()
		if acks >= attempted.Load() && got >= f.accepted.Load()*int64(n) {
			break
		}
		if got != lastTotal {
			lastTotal, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			break
		}
		sleepFor(20 * time.Millisecond)
	}
	stop()

	res := &FanoutResult{
		Receivers: n,
		Senders:   nsend,
		Attempted: attempted.Load(),
		Sent:      f.accepted.Load(),
		Rejected:  f.rejected.Load(),
		Delivered: f.total(),
		Latency:   f.hist.Summary(),
	}
	res.Expected = res.Sent * int64(n)
	res.Missing = max(0, res.Expected-res.Delivered)
	if unacked := res.Attempted - res.Sent - res.Rejected; unacked > 0 {
		r.errs.addN("message: no ack within -timeout", int(unacked))
	}
	window := sendEnd.Sub(t0)
	if l := f.last.Load(); l > 0 {
		window = time.Unix(0, l).Sub(t0)
	}
	res.DeliveriesPerSec = perSec(res.Delivered, window)
	res.ReceiversDown = n - alive(o.conns)
	for _, conns := range [][]*Conn{o.conns, so.conns} {
		for _, c := range conns {
			if err := c.Err(); err != nil {
				r.errs.add("run", err)
			}
		}
	}
	r.closeAll(so.conns)
	r.closeAll(o.conns)
	res.Common = r.common(setup)
	return res, nil
}

// ---- cursors ----

// CursorsResult is the cursors scenario's line. Relay latency is measured
// from a send time carried in y modulo one second, so it is only meaningful
// below 1s.
type CursorsResult struct {
	Common
	Users          int     `json:"users"`
	Sent           int64   `json:"sent"`
	SentPerSec     float64 `json:"sent_per_sec"`
	ExpectedRelays int64   `json:"expected_relays"`
	Received       int64   `json:"received"`
	RelaysPerSec   float64 `json:"relays_per_sec"`
	Drops          int64   `json:"drops"`
	DropPct        float64 `json:"drop_pct"`
	Latency        Latency `json:"latency_ms"`
	UsersDown      int     `json:"users_down"`
}

type cursorState struct {
	recv []atomic.Int64
	sent []atomic.Int64
	hist Histogram
}

var mousemovePrefix = []byte(`["mousemove",`)

func (s *cursorState) OnEvent(c *Conn, data []byte) {
	if !bytes.HasPrefix(data, mousemovePrefix) {
		return
	}
	now := time.Now().Nanosecond()
	s.recv[c.Index()].Add(1)
	obj, ok := wire.Element(data, 1)
	if !ok {
		return
	}
	v, ok := wire.Field(obj, "y")
	if !ok {
		return
	}
	if ns, ok := fracNanos(v); ok {
		d := int64(now) - ns
		if d < 0 {
			d += 1e9
		}
		s.hist.Record(time.Duration(d))
	}
}

func (s *cursorState) OnAck(*Conn, int64, []byte) {}

func (s *cursorState) totals() (sent, recv int64) {
	for i := range s.recv {
		sent += s.sent[i].Load()
		recv += s.recv[i].Load()
	}
	return sent, recv
}

// fracNanos reads a JSON number in [0,1) as nanoseconds (its first nine
// decimals), accepting the exponent form an encoder may use for small
// values. It does not allocate.
func fracNanos(b []byte) (int64, bool) {
	var mant int64
	digits, frac, exp := 0, 0, 0
	seenDot := false
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits < 18 {
				mant = mant*10 + int64(c-'0')
				digits++
				if seenDot {
					frac++
				}
			} else if !seenDot {
				exp++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			goto rest
		}
	}
rest:
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, false
		}
		e, ok := wire.ParseInt(bytes.TrimPrefix(b[i+1:], []byte("+")))
		if !ok || e < -30 || e > 30 {
			return 0, false
		}
		exp += int(e)
	}
	if digits == 0 {
		return 0, false
	}
	v := float64(mant) * math.Pow10(exp-frac)
	if v < 0 || v >= 1 {
		return 0, false
	}
	return int64(math.Round(v * 1e9)), true
}

// cursors: N users in one room each send mousemove at -rate (30/s, the
// server's cap) with the send time's nanoseconds as y; every user counts the
// relays of the others' moves it receives.
func (r *runner) cursors() (any, error) {
	n := r.cfg.N
	s := &cursorState{recv: make([]atomic.Int64, n), sent: make([]atomic.Int64, n)}
	o := r.openAll("cursors", 0, n, s, r.registerJoin)
	if o.connected < n {
		r.closeAll(o.conns)
		return nil, r.setupError(o, n)
	}
	setup := time.Since(r.start)
	if r.cfg.Rate > 30 {
		r.logf("cursors: -rate %v is above the server's 30/s per user: expect drops", r.cfg.Rate)
	}
	r.logf("cursors: %d users in room %s sending %v moves/s each for %v", n, r.room, r.cfg.Rate, r.cfg.Duration)
	stop := r.progress(func() string {
		sent, recv := s.totals()
		return fmt.Sprintf("cursors: sent %d, received %d", sent, recv)
	})
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	t0 := time.Now()
	end := t0.Add(r.cfg.Duration)
	var wg sync.WaitGroup
	for i, c := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the users over one interval.
			phase := time.Duration(int64(interval) * int64(i) / int64(n))
			prefix := []byte(`42` + chatNsp + `,["mousemove",{"room":"` + r.room + `","x":0.` +
				fmt.Sprintf("%03d", i%1000) + `,"y":0.`)
			frame := make([]byte, 0, len(prefix)+16)
			for k := 0; ; k++ {
				next := t0.Add(phase + time.Duration(k)*interval)
				if !next.Before(end) {
					return
				}
				sleepFor(time.Until(next))
				ns := time.Now().Nanosecond()
				frame = append(frame[:0], prefix...)
				frame = appendPadded9(frame, ns)
				frame = append(frame, '}', ']')
				if err := c.send(frame); err != nil {
					r.errs.add("send", err)
					return
				}
				s.sent[i].Add(1)
			}
		}()
	}
	wg.Wait()
	sendWindow := time.Since(t0)
	// Drain: until nothing arrived for 300ms, at most 3s.
	last, lastChange := int64(-1), time.Now()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		_, recv := s.totals()
		if recv != last {
			last, lastChange = recv, time.Now()
		} else if time.Since(lastChange) > 300*time.Millisecond {
			break
		}
		sleepFor(20 * time.Millisecond)
	}
	stop()
	sent, recv := s.totals()
	res := &CursorsResult{
		Users:          n,
		Sent:           sent,
		SentPerSec:     perSec(sent, sendWindow),
		ExpectedRelays: sent * int64(n-1),
		Received:       recv,
		RelaysPerSec:   perSec(recv, sendWindow),
		Latency:        s.hist.Summary(),
		UsersDown:      n - alive(o.conns),
	}
	res.Drops = max(0, res.ExpectedRelays-res.Received)
	if res.ExpectedRelays > 0 {
		res.DropPct = math.Round(float64(res.Drops)/float64(res.ExpectedRelays)*10000) / 100
	}
	for _, c := range o.conns {
		if err := c.Err(); err != nil {
			r.errs.add("run", err)
		}
	}
	r.closeAll(o.conns)
	res.Common = r.common(setup)
	return res, nil
}

// appendPadded9 appends v (0 <= v < 1e9) as exactly nine digits.
func appendPadded9(dst []byte, v int) []byte {
	var d [9]byte
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, d[:]...)
}

// ---- echo ----

// EchoResult is the echo scenario's line.
type EchoResult struct {
	Common
	Clients     int     `json:"clients"`
	Acks        int64   `json:"acks"`
	AcksPerSec  float64 `json:"acks_per_sec"`
	Latency     Latency `json:"rtt_ms"`
	ClientsDown int     `json:"clients_down"`
}

// echo: C clients send acked rtt events back to back, or together at -rate
// per second, and measure the round trip.
func (r *runner) echo() (any, error) {
	n := r.cfg.N
	o := r.openAll("echo", 0, n, nopHandler{}, nil)
	if o.connected < n {
		r.closeAll(o.conns)
		return nil, r.setupError(o, n)
	}
	setup := time.Since(r.start)
	r.logf("echo: %d clients sending rtt for %v", n, r.cfg.Duration)
	var hist Histogram
	var acks atomic.Int64
	stop := r.progress(func() string { return fmt.Sprintf("echo: %d acks", acks.Load()) })
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(n) / r.cfg.Rate)
	}
	t0 := time.Now()
	end := t0.Add(r.cfg.Duration)
	var wg sync.WaitGroup
	for i, c := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			phase := time.Duration(int64(interval) * int64(i) / int64(n))
			for k := 0; ; k++ {
				if interval > 0 {
					next := t0.Add(phase + time.Duration(k)*interval)
					if !next.Before(end) {
						return
					}
					sleepFor(time.Until(next))
				} else if !time.Now().Before(end) {
					return
				}
				start := time.Now()
				ok, data, err := c.Call("rtt", rttArg, false)
				switch {
				case err != nil:
					r.errs.add("rtt", err)
					if !c.Alive() {
						return
					}
				case !ok:
					r.errs.addN("rtt: "+truncate(data, 120), 1)
				default:
					hist.Record(time.Since(start))
					acks.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	window := time.Since(t0)
	stop()
	res := &EchoResult{
		Clients:     n,
		Acks:        acks.Load(),
		AcksPerSec:  perSec(acks.Load(), window),
		Latency:     hist.Summary(),
		ClientsDown: n - alive(o.conns),
	}
	r.closeAll(o.conns)
	res.Common = r.common(setup)
	return res, nil
}
