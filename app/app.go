// Package app builds the whole server from a Config (storage, the chat
// domain, the Socket.IO server, the Gin routes) and runs it with graceful
// shutdown. Tests build it the same way, on a random port.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/config"
	"github.com/socketio-go/chatserver/handlers"
	"github.com/socketio-go/chatserver/internal/gcfloor"
	"github.com/socketio-go/chatserver/metrics"
	"github.com/socketio-go/chatserver/realtime"
	"github.com/socketio-go/chatserver/static"
	"github.com/socketio-go/chatserver/templates"
)

// App is one server process's worth of state.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	rt       *realtime.Server
	store    *backends
	metrics  *metrics.Metrics // nil with --metrics=false
	handler  http.Handler
	ready    atomic.Bool
	redisOK  atomic.Bool
	shutdown atomic.Bool
	stopBg   context.CancelFunc // ends the background work (cluster heartbeat, Redis checks)
}

// New opens the storage (under cfg.DataDir, or in Redis with cfg.RedisURL)
// and wires everything together.
func New(cfg config.Config, log *slog.Logger) (*App, error) {
	bg, stopBg := context.WithCancel(context.Background())
	b, err := openBackends(bg, cfg, log)
	if err != nil {
		stopBg()
		return nil, err
	}
	var m *metrics.Metrics
	var history chat.History = b.history
	if cfg.Metrics {
		m = metrics.New()
		history = m.History(history)
	}
	svc := chat.NewService(b.names, b.presence, history)

	opts := realtime.Options{
		PingInterval:   cfg.PingInterval,
		PingTimeout:    cfg.PingTimeout,
		ConnectTimeout: cfg.ConnectTimeout,
		MaxPayload:     cfg.MaxPayload,
		AllowedOrigins: cfg.AllowedOrigins,
		ClientFiles:    static.SocketIOClient,
		// A dropped client (socket.io-client 4.6+) comes back with its
		// user, rooms and the messages it missed: no re-register, no re-join.
		Recovery:         cfg.RecoveryWindow > 0,
		MaxDisconnection: cfg.RecoveryWindow,

		Logger:             log,
		MaxSessionsPerAddr: cfg.MaxSessionsPerAddr,
		MaxPending:         cfg.MaxPending,
		TrustedProxies:     cfg.TrustedProxies,
	}
	if b.redis != nil { // not a nil *Client in a non-nil interface
		opts.Redis = b.redis
	}
	rt := realtime.NewServer(opts)
	events := handlers.ChatEvents{Chat: svc, Log: log}
	nsp := rt.Of(handlers.ChatNamespace)
	events.Attach(nsp)

	if m != nil {
		m.Register(rt)
	}
	a := &App{cfg: cfg, log: log, rt: rt, store: b, metrics: m, stopBg: stopBg}
	if cfg.Admin.Enabled() {
		err := rt.EnableAdmin(realtime.AdminOptions{
			Username: cfg.Admin.User, PasswordHash: cfg.Admin.PasswordHash,
			ReadOnly: cfg.Admin.ReadOnly, Events: cfg.Admin.Events,
			ServerID: adminServerID(b.node),
		})
		if err != nil {
			a.closeStorage()
			return nil, fmt.Errorf("admin: %w", err)
		}
	}
	r, err := a.routes(svc)
	if err != nil {
		a.closeStorage()
		return nil, err
	}
	a.handler = r
	if b.cluster != nil {
		// Operators (and tests) ask every node who it is and how busy.
		handlers.AttachNodeInfo(nsp, b.node)
		// Users of nodes that died are swept from presence by whichever node
		// gets there first; it tells their rooms they left.
		go b.cluster.Run(bg, events.AnnounceGone(nsp))
		a.redisOK.Store(true)
		go a.watchRedis(bg)
	}
	a.ready.Store(true)
	return a, nil
}

// adminServerID names this node in the Admin UI: the host name, and in a
// cluster the node's id too, since nodes may share a host (or a container
// image's host name).
func adminServerID(node string) string {
	host, _ := os.Hostname()
	if node == "" {
		return host
	}
	return host + "#" + node
}

// routes is the one place that maps URLs to handlers.
func (a *App) routes(svc *chat.Service) (*gin.Engine, error) {
	tmpl, err := templates.Parse()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	r := gin.New()
	r.Use(gin.Recovery(), a.accessLog, handlers.SecurityHeaders(a.rt.Path()))
	r.SetHTMLTemplate(tmpl)

	a.rt.Mount(r)
	r.StaticFS("/static", noListing{http.FS(static.Files)})
	r.GET("/healthz", handlers.Healthz)
	r.GET("/readyz", handlers.Readyz(a.Ready))

	ice, err := json.Marshal(a.cfg.ICEServers)
	if err != nil {
		return nil, fmt.Errorf("ice servers: %w", err)
	}
	if a.cfg.ICEServers == nil {
		ice = []byte("[]")
	}
	pages := handlers.Pages{Chat: svc, ICEServers: string(ice)}
	r.GET("/", pages.Index)
	r.GET("/rooms/:room", pages.Room)
	r.GET("/legacy/rooms/:room", pages.LegacyRoom)

	api := handlers.API{Chat: svc, Log: a.log}
	r.GET("/api/rooms", api.Rooms)
	r.GET("/api/rooms/:room/messages", api.Messages)
	if a.cfg.Admin.Enabled() {
		handlers.AdminUI{Files: static.AdminUI}.Mount(r)
	}
	if a.metrics != nil && a.cfg.MetricsAddr == "" {
		r.GET("/metrics", gin.WrapH(a.metrics.Handler()))
	}
	return r, nil
}

// accessLog logs page and API requests; Socket.IO's polling requests are
// too frequent to log one by one.
func (a *App) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	if strings.HasPrefix(c.Request.URL.Path, a.rt.Path()) && c.Writer.Status() < 500 {
		return
	}
	a.log.Info("http", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "duration", time.Since(start).Round(time.Microsecond))
}

// Handler serves everything: pages, static files, API and Socket.IO.
func (a *App) Handler() http.Handler { return a.handler }

// Ready reports whether new connections are accepted: not while shutting
// down, nor while the cluster's Redis does not answer.
func (a *App) Ready() bool {
	return a.ready.Load() && (a.store.redis == nil || a.redisOK.Load())
}

// watchRedis keeps redisOK current and logs when Redis goes and comes back;
// the client reconnects by itself.
func (a *App) watchRedis(ctx context.Context) {
	t := time.NewTicker(redisCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := a.store.redis.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch ok := err == nil; {
		case !ok && a.redisOK.Swap(false):
			a.log.Error("redis unavailable: not ready until it answers again", "err", err)
		case ok && !a.redisOK.Swap(true):
			a.log.Info("redis reachable again: ready")
		}
	}
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully
// within cfg.ShutdownTimeout. It returns nil after a clean shutdown.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       a.cfg.HTTPReadTimeout,
		IdleTimeout:       a.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	var msrv *http.Server
	if a.metrics != nil && a.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			a.closeStorage()
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metrics.Handler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: a.cfg.HTTPIdleTimeout}
		a.log.Info("metrics listening", "addr", mln.Addr().String())
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	go func() { errc <- srv.Serve(a.rt.Listener(ln)) }()

	select {
	case err := <-errc:
		if msrv != nil {
			_ = msrv.Close()
		}
		a.closeStorage()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	err := a.Shutdown(srv)
	if msrv != nil {
		_ = msrv.Close() // scraped until the app itself has stopped
	}
	return err
}

// Shutdown marks the node not ready, refuses new sessions, closes every
// client connection at the transport level (socket.io.js then reconnects, to
// another node or to this one once restarted), then stops listening and waits
// for requests in flight, all within cfg.ShutdownTimeout.
func (a *App) Shutdown(srv *http.Server) error {
	if !a.shutdown.CompareAndSwap(false, true) {
		return nil
	}
	start := time.Now()
	a.ready.Store(false)
	a.rt.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()

	// Clients first, while the listener still answers: a polling client
	// learns of the close from its next request.
	srv.SetKeepAlivesEnabled(false)
	if err := a.rt.Close(ctx); err != nil {
		a.log.Warn("shutdown: closing client sessions", "err", err)
	}
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("shutdown: timed out, cutting remaining connections", "timeout", a.cfg.ShutdownTimeout)
		err = srv.Close()
	}
	a.closeStorage()
	a.log.Info("shutdown complete", "took", time.Since(start).Round(time.Millisecond))
	return err
}

func (a *App) closeStorage() {
	a.stopBg()
	if err := a.store.close(); err != nil {
		a.log.Error("closing storage", "err", err)
	}
}

// NewLogger is the process's logger: --log-format text (logfmt) or json,
// at --log-level.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run is the whole program after flag parsing: build, listen, serve until
// ctx ends. It returns the process exit code.
func Run(ctx context.Context, cfg config.Config, stdout io.Writer) int {
	gin.SetMode(gin.ReleaseMode)
	log := NewLogger(cfg, stdout)
	cfg.Print(stdout)
	raiseOpenFiles(log)
	if f := gcfloor.Start(uint64(cfg.GCHeadroomMiB) << 20); f != nil {
		defer f.Stop()
		log.Debug("garbage collector floor", "headroom_mib", cfg.GCHeadroomMiB, "gogc", f.Percent())
	}
	a, err := New(cfg, log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("listen failed", "addr", cfg.Addr, "err", err)
		a.closeStorage()
		return 1
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+displayAddr(ln.Addr()))
	if err := a.Serve(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func displayAddr(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return addr.String()
}

// noListing serves a file system's files and answers 404 for its
// directories, instead of listing them.
type noListing struct{ http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.FileSystem.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		_ = f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}
