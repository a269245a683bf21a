//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run's settings; the flags fill it.
type Config struct {
	URL       string
	Path      string
	Scenario  string
	N         int
	Rate      float64
	Duration  time.Duration
	EIO       int
	Transport string
	Ramp      float64
	Room      string
	Timeout   time.Duration
	Sources   int
	PongDelay time.Duration
	// Engine makes the connections bare Engine.IO sessions (no namespace,
	// no register) to an Engine.IO echo server; idle only.
	Engine bool
	// ConnectDelay is a pause between joining /chat and the first event.
	// socket.io-client emits at once, and so does sioload by default.
	ConnectDelay time.Duration
	Progress     time.Duration // interval of progress lines on stderr; 0 = none
	// Chat is how many messages each churn connection posts to its room
	// while open; Vanish the fraction of churn connections that drop
	// without a goodbye (Conn.Vanish) instead of leaving.
	Chat   int
	Vanish float64
}

// Bounds on every run, so a typo cannot start an unbounded one.
const (
	maxConns    = 100000
	maxDuration = time.Hour
	maxTimeout  = 10 * time.Minute
	maxRate     = 1e6
	maxInFlight = 256 // handshakes in progress at once while opening
	chatNsp     = "/chat"
)

// scenarioDefaults are -n and -rate when left 0.
var scenarioDefaults = map[string]struct {
	n    int
	rate float64
}{
	"idle":    {1000, 0},
	"fanout":  {100, 10},
	"cursors": {20, 30},
	"echo":    {10, 0},
	"churn":   {500, 500},
}

func (c *Config) check() error {
	d, ok := scenarioDefaults[c.Scenario]
	if !ok {
		return fmt.Errorf("-scenario %q: want idle, fanout, cursors, echo or churn", c.Scenario)
	}
	if c.N == 0 {
		c.N = d.n
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
		if c.Engine {
			c.Path = "/engine.io/"
		}
	}
	if c.Rate == 0 {
		c.Rate = d.rate
	}
	switch {
	case c.Engine && c.Scenario != "idle":
		return fmt.Errorf("-engine: only the idle scenario runs on bare Engine.IO sessions, not %s", c.Scenario)
	case c.N < 1 || c.N > maxConns:
		return fmt.Errorf("-n %d: want 1..%d", c.N, maxConns)
	case c.Scenario == "cursors" && c.N < 2:
		return errors.New("-n: cursors needs at least 2 users")
	case c.Rate < 0 || c.Rate > maxRate || math.IsNaN(c.Rate):
		return fmt.Errorf("-rate %v: want 0..%v", c.Rate, maxRate)
	case (c.Scenario == "fanout" || c.Scenario == "cursors" || c.Scenario == "churn") && c.Rate <= 0:
		return fmt.Errorf("-rate: %s needs a positive rate", c.Scenario)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return fmt.Errorf("-duration %v: want >0 and <= %v", c.Duration, maxDuration)
	case c.EIO != 3 && c.EIO != 4:
		return fmt.Errorf("-eio %d: want 3 or 4", c.EIO)
	case c.Transport != "websocket" && c.Transport != "polling":
		return fmt.Errorf("-transport %q: want websocket or polling", c.Transport)
	case c.Ramp < 0 || math.IsNaN(c.Ramp):
		return fmt.Errorf("-ramp %v: want >= 0 (0 = as fast as possible)", c.Ramp)
	case c.Timeout <= 0 || c.Timeout > maxTimeout:
		return fmt.Errorf("-timeout %v: want >0 and <= %v", c.Timeout, maxTimeout)
	case c.Sources < 1 || c.Sources > 254:
		return fmt.Errorf("-sources %d: want 1..254 (127.0.0.1 .. 127.0.0.N)", c.Sources)
	case c.PongDelay < 0 || c.PongDelay > time.Second:
		return fmt.Errorf("-pong-delay %v: want 0..1s", c.PongDelay)
	case c.ConnectDelay < 0 || c.ConnectDelay > 10*time.Second:
		return fmt.Errorf("-connect-delay %v: want 0..10s", c.ConnectDelay)
	case c.Scenario != "churn" && (c.Chat != 0 || c.Vanish != 0):
		return fmt.Errorf("-chat and -vanish are for the churn scenario, not %s", c.Scenario)
	case c.Chat < 0 || c.Chat > 100:
		return fmt.Errorf("-chat %d: want 0..100 messages per connection", c.Chat)
	case c.Vanish < 0 || c.Vanish > 1 || math.IsNaN(c.Vanish):
		return fmt.Errorf("-vanish %v: want a fraction 0..1", c.Vanish)
	case c.Chat > 0 && float64(c.N)/c.Rate/float64(c.Chat+1) < 1.0/churnChatRate:
		return fmt.Errorf("-chat %d in %.3gs open (-n/-rate): over the server's %d messages/s per user", c.Chat, float64(c.N)/c.Rate, churnChatRate)
	}
	if c.Room != "" && !validRoom(c.Room) {
		return fmt.Errorf("-room %q: want 1-32 characters of a-z, 0-9 and -", c.Room)
	}
	return nil
}

func validRoom(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// runSeq numbers the runs of this process, so that names and rooms of
// successive runs (in tests) never collide with a previous run's that the
// server may not have released yet.
var runSeq atomic.Int64

// runner is the state of one run.
type runner struct {
	cfg    Config
	log    io.Writer
	cc     *connConfig
	tr     transports
	prefix string // user names are prefix + "-" + index
	room   string
	errs   errCount
	start  time.Time
}

func newRunner(cfg Config, log io.Writer) (*runner, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, err := parseTarget(cfg.URL, cfg.Path)
	if err != nil {
		return nil, err
	}
	sources, err := sourceAddrs(cfg.Sources, base)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	seq := runSeq.Add(1) - 1
	tag := strconv.Itoa(os.Getpid())
	if seq > 0 {
		tag += "_" + strconv.FormatInt(seq, 10)
	}
	r := &runner{cfg: cfg, log: log, prefix: "u" + tag, room: cfg.Room, start: time.Now()}
	if r.room == "" {
		r.room = "load-" + strings.ReplaceAll(tag, "_", "-")
	}
	d := &dialer{sources: sources, timeout: cfg.Timeout}
	r.tr = newTransports(d, cfg.N+64, cfg.Timeout)
	r.cc = newConnConfig(r.tr, base, cfg.EIO, cfg.Transport == "polling", cfg.Engine, chatNsp, cfg.Timeout, cfg.PongDelay)
	return r, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "sioload: "+format+"\n", args...)
}

// progress prints status() every cfg.Progress until stop is called.
func (r *runner) progress(status func() string) (stop func()) {
	if r.cfg.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.Progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.logf("%s", status())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// name is the user name of connection i: u<pid>-<i>, unique per run.
func (r *runner) name(i int) string { return r.prefix + "-" + strconv.Itoa(i) }

// setupFunc registers or joins once a connection is open.
type setupFunc func(c *Conn) error

// opened is the outcome of openAll.
type opened struct {
	conns     []*Conn // nil where a connection failed
	connected int
	failed    int
	elapsed   time.Duration
}

// openAll opens n connections with indexes from first, at most cfg.Ramp
// per second and maxInFlight at a time, running setup on each, all within
// cfg.Timeout. Failures are counted in r.errs.
func (r *runner) openAll(what string, first, n int, h Handler, setup setupFunc) opened {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	res := opened{conns: make([]*Conn, n)}
	var connected, failed atomic.Int64
	stop := r.progress(func() string {
		return fmt.Sprintf("%s: %d/%d connected, %d failed", what, connected.Load(), n, failed.Load())
	})
	defer stop()

	sem := make(chan struct{}, min(n, maxInFlight))
	var wg sync.WaitGroup
	t0 := time.Now()
	var interval time.Duration
	if r.cfg.Ramp > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.Ramp)
	}
	timer := time.NewTimer(0)
	<-timer.C
	launched := 0
launch:
	for i := 0; i < n; i++ {
		if interval > 0 {
			if wait := time.Until(t0.Add(time.Duration(i) * interval)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					break launch
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		launched++
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialConn(ctx, r.cc, first+i, h)
			if err == nil && r.cfg.ConnectDelay > 0 {
				t := time.NewTimer(r.cfg.ConnectDelay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			if err == nil && setup != nil {
				if err = setup(c); err != nil {
					c.Close()
				}
			}
			if err != nil {
				failed.Add(1)
				r.errs.add("connect", err)
				return
			}
			res.conns[i] = c
			connected.Add(1)
		}(i)
	}
	wg.Wait()
	res.connected = int(connected.Load())
	res.failed = n - res.connected
	if notLaunched := n - launched; notLaunched > 0 {
		r.errs.addN("connect: not started within -timeout", notLaunched)
	}
	res.elapsed = time.Since(t0)
	return res
}

// closeAll closes connections politely, a bounded number at a time.
func (r *runner) closeAll(conns []*Conn) {
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for _, c := range conns {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
			<-sem
		}()
	}
	wg.Wait()
	r.tr.close()
}

// register claims the connection's user name.
func (r *runner) register(c *Conn) error {
	arg := `{"name":"` + r.name(c.Index()) + `"}`
	ok, data, err := c.Call("register", []byte(arg), false)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if !ok {
		return fmt.Errorf("register: %s", truncate(data, 200))
	}
	return nil
}

// registerJoin registers and joins the run's room.
func (r *runner) registerJoin(c *Conn) error { return r.registerJoinRoom(c, r.room) }

// registerJoinRoom registers and joins room.
func (r *runner) registerJoinRoom(c *Conn, room string) error {
	if err := r.register(c); err != nil {
		return err
	}
	ok, data, err := c.Call("join", []byte(`{"room":"`+room+`"}`), false)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if !ok {
		return fmt.Errorf("join: %s", truncate(data, 200))
	}
	return nil
}

// setupError is returned when fewer connections than asked for were ready.
func (r *runner) setupError(o opened, n int) error {
	return fmt.Errorf("setup failed: %d of %d connections ready within -timeout %v (errors: %s)",
		o.connected, n, r.cfg.Timeout, r.errs.String())
}

// errCount counts errors by kind, keeping at most errKinds kinds (the last
// one being "other").
type errCount struct {
	mu    sync.Mutex
	m     map[string]int
	total int
}

const errKinds = 16

func (e *errCount) add(stage string, err error) { e.addN(stage+": "+errKind(err), 1) }

func (e *errCount) addN(kind string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = make(map[string]int)
	}
	if _, ok := e.m[kind]; !ok && len(e.m) >= errKinds-1 {
		kind = "other"
	}
	e.m[kind] += n
	e.total += n
}

func (e *errCount) Total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

func (e *errCount) Map() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

func (e *errCount) String() string {
	m := e.Map()
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%dx %s", m[k], k)
	}
	return b.String()
}

// errKind shortens an error to its kind, dropping the addresses and ports
// that would make every connection's error distinct.
func errKind(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		s := op.Op + ": " + op.Err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			s += " (timeout)"
		}
		return s
	}
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
