// Package config reads the server's settings from flags, with environment
// variables as fallbacks and documented defaults.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/chatserver/internal/gcfloor"
	"github.com/socketio-go/chatserver/realtime"
)

// Defaults, as documented in README.md. Those of the Socket.IO server are
// its own (realtime), given here once more only as flag defaults.
const (
	DefaultAddr            = ":8080"
	DefaultPingInterval    = realtime.DefaultPingInterval
	DefaultPingTimeout     = realtime.DefaultPingTimeout
	DefaultConnectTimeout  = realtime.DefaultConnectTimeout
	DefaultMaxPayload      = realtime.DefaultMaxPayload // bytes
	DefaultDataDir         = "data"
	DefaultShutdownTimeout = 10 * time.Second
	DefaultRecoveryWindow  = realtime.DefaultMaxDisconnection
	DefaultHTTPReadTimeout = 60 * time.Second
	DefaultHTTPIdleTimeout = 60 * time.Second
	// DefaultMaxSessionsPerAddr leaves room for a large office or school
	// behind one NAT address while keeping one host from taking every
	// descriptor the server has.
	DefaultMaxSessionsPerAddr = 1000
	// DefaultMaxPending bounds the connections between the Engine.IO
	// handshake and joining a namespace: a client does both within a round
	// trip, so only abandoned handshakes or a stampede reach it.
	DefaultMaxPending = 2048
	// DefaultGCHeadroomMiB is the garbage a small heap may gather before a
	// collection (gcfloor.DefaultHeadroom).
	DefaultGCHeadroomMiB = gcfloor.DefaultHeadroom >> 20
)

// Config is every setting the server takes.
type Config struct {
	Addr            string        // listen address
	AllowedOrigins  []string      // extra browser origins; empty = same origin only, "*" = any
	PingInterval    time.Duration // Engine.IO heartbeat interval
	PingTimeout     time.Duration // Engine.IO heartbeat timeout
	ConnectTimeout  time.Duration // time to join a namespace after the handshake
	MaxPayload      int64         // bytes per WebSocket message or polling request
	DataDir         string        // where history is kept on disk
	ShutdownTimeout time.Duration // bound on graceful shutdown
	RecoveryWindow  time.Duration // how long a dropped client may come back with its session; 0 = off
	RedisURL        string        // redis://host:port/db; empty = one node, embedded store
	HTTPReadTimeout time.Duration // bound on reading one HTTP request, body included
	HTTPIdleTimeout time.Duration // how long a kept-alive HTTP connection may wait for its next request
	// MaxSessionsPerAddr bounds the Engine.IO sessions of one client
	// address; 0 = no limit.
	MaxSessionsPerAddr int
	// MaxPending bounds the connections that have not joined a namespace
	// yet; 0 = no limit.
	MaxPending int
	// GCHeadroomMiB is how much the heap may grow over its live size
	// before the garbage collector runs, at the least; 0 = GOGC alone.
	GCHeadroomMiB int
	// TrustedProxies are the proxies whose X-Forwarded-For/-Proto/-Host
	// are believed (client address, same-origin test).
	TrustedProxies []netip.Prefix
	// Metrics serves GET /metrics (Prometheus); MetricsAddr, when set,
	// serves it on a listener of its own instead of the app's.
	Metrics     bool
	MetricsAddr string
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel  slog.Level
	LogFormat string
	// ICEServers are the STUN and TURN servers the room page's calls use;
	// none: host candidates only (peers on one network).
	ICEServers []ICEServer
	// Admin turns on the Socket.IO Admin UI when its user is set.
	Admin Admin
}

// Admin configures the Socket.IO Admin UI (/admin/ and the /admin
// namespace); it is off unless User and PasswordHash are both given.
type Admin struct {
	User         string
	PasswordHash string // bcrypt
	ReadOnly     bool   // watch only: no emit, join, leave, disconnect
	Events       bool   // report every event with its arguments (development)
}

// Enabled reports whether the Admin UI is on.
func (a Admin) Enabled() bool { return a.User != "" }

// ICEServer is one entry of RTCConfiguration.iceServers, as the page
// passes it to RTCPeerConnection.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// setting is one flag with its environment fallback.
type setting struct {
	flag, env, usage string
}

var settings = []setting{
	{"addr", "ADDR", "listen address"},
	{"cors-origins", "CORS_ORIGINS", "comma-separated browser origins allowed besides the server's own (\"*\" for any)"},
	{"ping-interval", "PING_INTERVAL", "Engine.IO ping interval"},
	{"ping-timeout", "PING_TIMEOUT", "Engine.IO ping timeout"},
	{"connect-timeout", "CONNECT_TIMEOUT", "time allowed to join a namespace after connecting"},
	{"max-payload", "MAX_PAYLOAD", "largest WebSocket message or polling request body, in bytes"},
	{"data", "DATA_DIR", "directory for data kept on disk (message history)"},
	{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long graceful shutdown may take before connections are cut"},
	{"recovery-window", "RECOVERY_WINDOW", "how long a client whose connection dropped may come back with its session, rooms and missed events (socket.io-client 4.6+); 0 turns recovery off"},
	{"redis", "REDIS_URL", "Redis URL (redis://host:port/db) to share rooms, names, presence and history with other nodes; empty: one node"},
	{"http-read-timeout", "HTTP_READ_TIMEOUT", "longest time to read one HTTP request, body included (a polling POST); must exceed the ping interval"},
	{"http-idle-timeout", "HTTP_IDLE_TIMEOUT", "longest time a kept-alive HTTP connection may wait for its next request"},
	{"max-sessions-per-address", "MAX_SESSIONS_PER_ADDRESS", "most Socket.IO connections one client address may hold (HTTP 429 beyond); 0: no limit"},
	{"max-pending-connections", "MAX_PENDING_CONNECTIONS", "most connections that have not joined a namespace yet (HTTP 503 beyond); 0: no limit"},
	{"gc-headroom", "GC_HEADROOM", "MiB the heap may grow over its live size before the garbage collector runs, at the least (GOGC still applies above it): fewer collections, and a lower latency tail, for a small heap under load; 0: GOGC alone"},
	{"trusted-proxies", "TRUSTED_PROXIES", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For, -Proto and -Host are believed"},
	{"metrics", "METRICS", "serve Prometheus metrics at GET /metrics"},
	{"metrics-addr", "METRICS_ADDR", "serve /metrics on this address instead of --addr (to keep it private); empty: on --addr"},
	{"log-level", "LOG_LEVEL", "debug, info (one line per connection and disconnection), warn or error"},
	{"log-format", "LOG_FORMAT", "text (logfmt) or json"},
	{"admin-user", "ADMIN_USER", "user name of the Socket.IO Admin UI at /admin/; with --admin-password-hash turns it on"},
	{"admin-password-hash", "ADMIN_PASSWORD_HASH", "bcrypt hash of the Admin UI password (make one with: chatserver hash-password)"},
	{"admin-readonly", "ADMIN_READONLY", "the Admin UI only watches: no emit, join, leave or disconnect"},
	{"admin-events", "ADMIN_EVENTS", "the Admin UI also shows every event with its arguments, message texts included (development)"},
	{"ice-servers", "ICE_SERVERS", "STUN/TURN servers for calls: comma-separated stun:/turn: URLs, or a JSON array of {urls, username, credential}; empty: host candidates only"},
}

// Parse reads args (without the program name), falling back to getenv for
// flags that are not given. Errors name the offending flag or variable.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet("chatserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var origins, proxies, ice string
	fs.StringVar(&c.Addr, "addr", DefaultAddr, usage("addr"))
	fs.StringVar(&origins, "cors-origins", "", usage("cors-origins"))
	fs.DurationVar(&c.PingInterval, "ping-interval", DefaultPingInterval, usage("ping-interval"))
	fs.DurationVar(&c.PingTimeout, "ping-timeout", DefaultPingTimeout, usage("ping-timeout"))
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", DefaultConnectTimeout, usage("connect-timeout"))
	fs.Int64Var(&c.MaxPayload, "max-payload", DefaultMaxPayload, usage("max-payload"))
	fs.StringVar(&c.DataDir, "data", DefaultDataDir, usage("data"))
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, usage("shutdown-timeout"))
	fs.DurationVar(&c.RecoveryWindow, "recovery-window", DefaultRecoveryWindow, usage("recovery-window"))
	fs.StringVar(&c.RedisURL, "redis", "", usage("redis"))
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", DefaultHTTPReadTimeout, usage("http-read-timeout"))
	fs.DurationVar(&c.HTTPIdleTimeout, "http-idle-timeout", DefaultHTTPIdleTimeout, usage("http-idle-timeout"))
	fs.IntVar(&c.MaxSessionsPerAddr, "max-sessions-per-address", DefaultMaxSessionsPerAddr, usage("max-sessions-per-address"))
	fs.IntVar(&c.MaxPending, "max-pending-connections", DefaultMaxPending, usage("max-pending-connections"))
	fs.IntVar(&c.GCHeadroomMiB, "gc-headroom", DefaultGCHeadroomMiB, usage("gc-headroom"))
	fs.StringVar(&proxies, "trusted-proxies", "", usage("trusted-proxies"))
	fs.BoolVar(&c.Metrics, "metrics", true, usage("metrics"))
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", usage("metrics-addr"))
	c.LogLevel = slog.LevelInfo
	fs.TextVar(&c.LogLevel, "log-level", &c.LogLevel, usage("log-level"))
	fs.StringVar(&c.LogFormat, "log-format", "text", usage("log-format"))
	fs.StringVar(&ice, "ice-servers", "", usage("ice-servers"))
	fs.StringVar(&c.Admin.User, "admin-user", "", usage("admin-user"))
	fs.StringVar(&c.Admin.PasswordHash, "admin-password-hash", "", usage("admin-password-hash"))
	fs.BoolVar(&c.Admin.ReadOnly, "admin-readonly", false, usage("admin-readonly"))
	fs.BoolVar(&c.Admin.Events, "admin-events", false, usage("admin-events"))

	// Environment first, so that explicit flags override it.
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := fs.Set(s.flag, v); err != nil {
				return Config{}, fmt.Errorf("environment %s=%q: %w", s.env, v, err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimRight(o, "/"))
		}
	}
	var err error
	if c.TrustedProxies, err = parsePrefixes(proxies); err != nil {
		return Config{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.ICEServers, err = parseICEServers(ice); err != nil {
		return Config{}, fmt.Errorf("--ice-servers: %w", err)
	}
	return c, c.validate()
}

// parsePrefixes reads a comma-separated list of IPs and CIDRs; an IP is
// a prefix of its full length.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parseICEServers reads --ice-servers: a JSON array of RTCIceServer
// objects (for TURN, with username and credential), or comma-separated
// URLs of servers that need none. Every URL must be stun:, stuns:, turn: or
// turns:.
func parseICEServers(v string) ([]ICEServer, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var out []ICEServer
	if strings.HasPrefix(v, "[") {
		var raw []struct {
			URLs       json.RawMessage `json:"urls"`
			Username   string          `json:"username"`
			Credential string          `json:"credential"`
		}
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, fmt.Errorf("not a JSON array of {urls, username, credential}: %w", err)
		}
		for i, r := range raw {
			var urls []string
			var one string
			if err := json.Unmarshal(r.URLs, &one); err == nil {
				urls = []string{one}
			} else if err := json.Unmarshal(r.URLs, &urls); err != nil {
				return nil, fmt.Errorf("entry %d: urls must be a string or an array of strings", i)
			}
			out = append(out, ICEServer{URLs: urls, Username: r.Username, Credential: r.Credential})
		}
	} else {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				out = append(out, ICEServer{URLs: []string{u}})
			}
		}
	}
	for i, s := range out {
		if len(s.URLs) == 0 {
			return nil, fmt.Errorf("entry %d has no URL", i)
		}
		for _, u := range s.URLs {
			scheme, rest, ok := strings.Cut(u, ":")
			switch {
			case !ok || rest == "" || strings.ContainsAny(u, " \t\n"):
				return nil, fmt.Errorf("%q is not a STUN or TURN URL", u)
			case scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns":
				return nil, fmt.Errorf("%q: the scheme must be one of stun, stuns, turn, turns", u)
			}
		}
	}
	return out, nil
}

func usage(name string) string {
	for _, s := range settings {
		if s.flag == name {
			return s.usage + " (env " + s.env + ")"
		}
	}
	return ""
}

func (c Config) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr must not be empty"))
	}
	if c.PingInterval <= 0 || c.PingTimeout <= 0 || c.ConnectTimeout <= 0 || c.ShutdownTimeout <= 0 ||
		c.HTTPReadTimeout <= 0 || c.HTTPIdleTimeout <= 0 {
		errs = append(errs, errors.New("durations must be positive"))
	} else if c.HTTPReadTimeout <= c.PingInterval {
		// A polling GET that waits in its goroutine is answered at the
		// latest by the next ping; the read deadline must not cut it first.
		errs = append(errs, fmt.Errorf("--http-read-timeout %v must exceed --ping-interval %v (a waiting poll is answered at the next ping)", c.HTTPReadTimeout, c.PingInterval))
	}
	if c.RecoveryWindow < 0 {
		errs = append(errs, errors.New("--recovery-window must not be negative (0 turns recovery off)"))
	}
	if c.MaxPayload < 1024 {
		errs = append(errs, fmt.Errorf("--max-payload %d is below the 1024-byte minimum", c.MaxPayload))
	}
	if c.MaxSessionsPerAddr < 0 || c.MaxPending < 0 {
		errs = append(errs, errors.New("--max-sessions-per-address and --max-pending-connections must not be negative (0: no limit)"))
	}
	if c.GCHeadroomMiB < 0 || c.GCHeadroomMiB > 1<<16 {
		errs = append(errs, fmt.Errorf("--gc-headroom %d must be 0 to 65536 (MiB)", c.GCHeadroomMiB))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.LogFormat))
	}
	if c.MetricsAddr != "" && !c.Metrics {
		errs = append(errs, errors.New("--metrics-addr needs --metrics"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	errs = append(errs, c.Admin.validate()...)
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		errs = append(errs, fmt.Errorf("--redis %q must be a redis:// or rediss:// URL", c.RedisURL))
	}
	return errors.Join(errs...)
}

func (a Admin) validate() []error {
	var errs []error
	switch {
	case a.User == "" && a.PasswordHash != "":
		errs = append(errs, errors.New("--admin-password-hash needs --admin-user"))
	case a.User != "" && a.PasswordHash == "":
		errs = append(errs, errors.New("--admin-user needs --admin-password-hash (make one with: chatserver hash-password)"))
	case a.User != "":
		if _, err := bcrypt.Cost([]byte(a.PasswordHash)); err != nil {
			errs = append(errs, fmt.Errorf("--admin-password-hash is not a bcrypt hash (make one with: chatserver hash-password): %w", err))
		}
	}
	if a.User == "" && (a.ReadOnly || a.Events) {
		errs = append(errs, errors.New("--admin-readonly and --admin-events need --admin-user"))
	}
	return errs
}

// Print writes the effective settings, one per line, for the start-up log.
func (c Config) Print(w io.Writer) {
	origins := "same origin only"
	if len(c.AllowedOrigins) > 0 {
		origins = "same origin, " + strings.Join(c.AllowedOrigins, ", ")
	}
	redis := "none (single node)"
	if c.RedisURL != "" {
		redis = redactURL(c.RedisURL)
	}
	recovery := c.RecoveryWindow.String()
	if c.RecoveryWindow == 0 {
		recovery = "off"
	}
	proxies := "none"
	if len(c.TrustedProxies) > 0 {
		l := make([]string, len(c.TrustedProxies))
		for i, p := range c.TrustedProxies {
			l[i] = p.String()
		}
		proxies = strings.Join(l, ",")
	}
	metrics := "off"
	switch {
	case c.Metrics && c.MetricsAddr != "":
		metrics = c.MetricsAddr + "/metrics"
	case c.Metrics:
		metrics = "/metrics"
	}
	// TURN credentials stay out of the log.
	ice := "none"
	if len(c.ICEServers) > 0 {
		var l []string
		for _, s := range c.ICEServers {
			l = append(l, s.URLs...)
		}
		ice = strings.Join(l, ",")
	}
	admin := "off"
	if c.Admin.Enabled() {
		admin = "/admin/ user=" + c.Admin.User // never the hash
		if c.Admin.ReadOnly {
			admin += " readonly"
		}
		if c.Admin.Events {
			admin += " events"
		}
	}
	fmt.Fprintf(w, "config: addr=%s data=%s cors-origins=%q ping-interval=%s ping-timeout=%s connect-timeout=%s max-payload=%s shutdown-timeout=%s recovery-window=%s redis=%s http-read-timeout=%s http-idle-timeout=%s max-sessions-per-address=%s max-pending-connections=%s gc-headroom=%dMiB trusted-proxies=%s metrics=%s log-level=%s log-format=%s ice-servers=%s admin=%q\n",
		c.Addr, c.DataDir, origins, c.PingInterval, c.PingTimeout, c.ConnectTimeout, strconv.FormatInt(c.MaxPayload, 10), c.ShutdownTimeout, recovery, redis, c.HTTPReadTimeout, c.HTTPIdleTimeout,
		limit(c.MaxSessionsPerAddr), limit(c.MaxPending), c.GCHeadroomMiB, proxies, metrics, strings.ToLower(c.LogLevel.String()), c.LogFormat, ice, admin)
}

func limit(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}

// redactURL hides a password in a URL printed to the log.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
