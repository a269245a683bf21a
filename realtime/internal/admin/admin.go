// Package admin is the server side of the Socket.IO Admin UI
// (@socket.io/admin-ui): an /admin namespace that logs in with a user name
// and a bcrypt password hash, tells the UI what this server can do
// (config), describes every socket of the cluster (all_sockets), reports
// sockets and rooms as they come and go (socket_connected, socket_updated,
// socket_disconnected, room_joined, room_left), sends server_stats every
// two seconds, and, unless read-only, runs the UI's commands (emit, join,
// leave, _disconnect). With Events it also reports every event received
// and sent (event_received, event_sent: Node's development mode).
//
// The events are the ones the package's server code (dist/index.js, 0.5)
// sends, with the same arguments, so the package's UI works unchanged. In a
// cluster each server reports its own sockets: the reports are broadcasts
// on the admin namespace, which the cluster adapter carries to the admin
// sockets of every server, and all_sockets is a cluster-wide
// fetchSockets, as with Node's instrumented servers on the Redis adapter.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Defaults of Options.
const (
	DefaultNamespace     = "/admin"
	DefaultStatsInterval = 2 * time.Second
	// SessionTTL is how long a login stays valid (Node's RedisStore
	// default): the UI reconnects with its session id instead of the
	// password.
	SessionTTL = 24 * time.Hour
)

// queueSize bounds the reports waiting to be broadcast; past it they are
// dropped (and counted) rather than slow the connections they describe.
const queueSize = 4096

// fetchTimeout bounds the cluster-wide socket listing an admin gets on
// connecting.
const fetchTimeout = 5 * time.Second

// maxLogins is how many password checks run at once: bcrypt is slow on
// purpose, and a flood of logins must not take every core.
const maxLogins = 2

// ErrInvalidCredentials refuses a login; the UI shows its message.
var ErrInvalidCredentials = &socketio.ConnectError{Message: "invalid credentials"}

// Feature names, as the UI knows them.
const (
	featureEmit        = "EMIT"
	featureJoin        = "JOIN"
	featureLeave       = "LEAVE"
	featureDisconnect  = "DISCONNECT"
	featureMJoin       = "MJOIN"
	featureMLeave      = "MLEAVE"
	featureMDisconnect = "MDISCONNECT"
	featureAggregated  = "AGGREGATED_EVENTS"
	featureAllEvents   = "ALL_EVENTS"
)

// Options configures the admin namespace.
type Options struct {
	Namespace string // default DefaultNamespace
	Username  string
	// PasswordHash is the bcrypt hash of the password ($2a$, $2b$ or $2y$).
	PasswordHash []byte
	// ReadOnly offers no command: the UI only watches.
	ReadOnly bool
	// Events reports every event received and sent, arguments included
	// (message texts too): a call per delivery, for development.
	Events bool
	// ServerID names this server in the UI; default the host name.
	ServerID string
	// Sessions keeps logins; default in memory (one server). A cluster
	// shares them so that the UI may reconnect to any server.
	Sessions Sessions
	// StatsInterval is how often server_stats is sent.
	StatsInterval time.Duration
	Logger        *slog.Logger
}

// Admin is an instrumented server's admin namespace.
type Admin struct {
	io       *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	features []string
	started  time.Time
	hostname string

	logins  chan struct{} // a semaphore of maxLogins
	queue   chan report
	dropped atomic.Uint64
	stop    chan struct{}
	done    sync.WaitGroup
	once    sync.Once

	last engineio.Stats // counters at the previous server_stats
}

// report is one broadcast waiting in the queue.
type report struct {
	event string
	args  []any
}

// New instruments io: it creates the admin namespace and watches every
// namespace. Close undoes it.
func New(io *socketio.Server, opts Options) (*Admin, error) {
	if opts.Username == "" {
		return nil, errors.New("admin: a user name is required")
	}
	if _, err := bcrypt.Cost(opts.PasswordHash); err != nil {
		return nil, fmt.Errorf("admin: the password hash is not a bcrypt hash: %w", err)
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = DefaultStatsInterval
	}
	if opts.Sessions == nil {
		opts.Sessions = NewMemorySessions(SessionTTL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	if opts.ServerID == "" {
		opts.ServerID = host
	}
	a := &Admin{
		io: io, opts: opts, started: time.Now(), hostname: host,
		logins: make(chan struct{}, maxLogins),
		queue:  make(chan report, queueSize),
		stop:   make(chan struct{}),
		last:   io.Engine().Stats(),
	}
	if !opts.ReadOnly {
		a.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	// The UI shows its socket, room, client and event views only when
	// ALL_EVENTS is offered (its "development mode"); the events
	// themselves are reported only with Events, so without it the event
	// view stays empty while the others work.
	a.features = append(a.features, featureAggregated, featureAllEvents)
	a.nsp = io.Of(opts.Namespace)
	a.nsp.Use(a.authenticate)
	a.nsp.OnConnection(a.connected)
	io.SetMonitor(a, opts.Events)
	a.done.Add(2)
	go a.send()
	go a.statsLoop()
	return a, nil
}

// Close stops the reports; the namespace stays (a namespace cannot be
// removed) but every admin socket in it is disconnected.
func (a *Admin) Close() {
	a.once.Do(func() {
		a.io.SetMonitor(nil, false)
		close(a.stop)
		a.done.Wait()
		a.nsp.Broadcast().Local().DisconnectSockets(false)
		a.nsp.Adapter().Close()
	})
}

// Dropped is the number of reports dropped because the queue was full.
func (a *Admin) Dropped() uint64 { return a.dropped.Load() }

// authenticate admits a socket with a session id from an earlier login or
// with the user name and password.
func (a *Admin) authenticate(s *socketio.Socket) error {
	auth := s.Auth()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if id, _ := auth["sessionId"].(string); id != "" {
		ok, err := a.opts.Sessions.Exists(ctx, id)
		if err != nil {
			a.opts.Logger.Warn("admin session lookup failed", "err", err)
		}
		if ok {
			return nil
		}
	}
	user, _ := auth["username"].(string)
	pass, _ := auth["password"].(string)
	if user == "" || pass == "" {
		return ErrInvalidCredentials
	}
	a.logins <- struct{}{}
	// The user name is compared in constant time too, and the hash is
	// checked either way, so timing tells nothing about which was wrong.
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(a.opts.Username)) == 1
	passOK := bcrypt.CompareHashAndPassword(a.opts.PasswordHash, []byte(pass)) == nil
	<-a.logins
	if !userOK || !passOK {
		a.opts.Logger.Warn("admin login refused", "address", s.Handshake().Address)
		return ErrInvalidCredentials
	}
	id := newSessionID()
	if err := a.opts.Sessions.Save(ctx, id); err != nil {
		// The login stands; only a later reconnection will ask again.
		a.opts.Logger.Warn("admin session not saved", "err", err)
		return nil
	}
	s.SetData(loginSession(id))
	return nil
}

// loginSession is the session id a socket's login created, sent once it
// is connected.
type loginSession string

func newSessionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *Admin) connected(s *socketio.Socket) {
	if id, ok := s.Data().(loginSession); ok {
		_ = s.Emit("session", string(id))
	}
	if !a.opts.ReadOnly {
		a.commands(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	// The listing waits for every server's answer: not on the reader.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		_ = s.Emit("all_sockets", a.allSockets(ctx))
	}()
}

// allSockets describes every socket of every namespace of the cluster.
func (a *Admin) allSockets(ctx context.Context) []map[string]any {
	out := []map[string]any{}
	for _, n := range a.io.Namespaces() {
		infos, err := n.FetchSockets(ctx)
		if err != nil {
			a.opts.Logger.Warn("admin socket listing incomplete", "namespace", n.Name(), "err", err)
		}
		for _, info := range infos {
			out = append(out, describe(info, n.Name()))
		}
	}
	return out
}

// enqueue queues a broadcast to the admin sockets without waiting.
func (a *Admin) enqueue(event string, args ...any) {
	select {
	case a.queue <- report{event, args}:
	default:
		a.dropped.Add(1)
	}
}

// send broadcasts the queued reports, in order.
func (a *Admin) send() {
	defer a.done.Done()
	for {
		select {
		case r := <-a.queue:
			_ = a.nsp.Emit(r.event, r.args...)
		case <-a.stop:
			return
		}
	}
}

func (a *Admin) statsLoop() {
	defer a.done.Done()
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	a.enqueue("server_stats", a.stats(time.Now()))
	for {
		select {
		case now := <-t.C:
			a.enqueue("server_stats", a.stats(now))
		case <-a.stop:
			return
		}
	}
}

// watched reports whether events of namespace n are reported: not the
// admin namespace's own (as in Node).
func (a *Admin) watched(s *socketio.Socket) bool { return s.Namespace() != a.nsp }

// The socketio.Monitor methods.

func (a *Admin) SocketConnected(s *socketio.Socket) {
	a.enqueue("socket_connected", describe(s.Info(), s.Namespace().Name()), now())
}

func (a *Admin) SocketUpdated(s *socketio.Socket) {
	a.enqueue("socket_updated", map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "transport": s.Transport()})
}

func (a *Admin) SocketDisconnected(s *socketio.Socket, reason string) {
	a.enqueue("socket_disconnected", s.Namespace().Name(), s.ID(), reason, now())
}

func (a *Admin) RoomJoined(s *socketio.Socket, room string) {
	a.enqueue("room_joined", s.Namespace().Name(), room, s.ID(), now())
}

func (a *Admin) RoomLeft(s *socketio.Socket, room string) {
	a.enqueue("room_left", s.Namespace().Name(), room, s.ID(), now())
}

func (a *Admin) EventReceived(s *socketio.Socket, data []any) {
	if a.watched(s) {
		a.enqueue("event_received", s.Namespace().Name(), s.ID(), data, now())
	}
}

func (a *Admin) EventSent(s *socketio.Socket, data []any) {
	if a.watched(s) {
		a.enqueue("event_sent", s.Namespace().Name(), s.ID(), data, now())
	}
}

var _ socketio.Monitor = (*Admin)(nil)

// now is a report's timestamp, as a JavaScript Date serializes.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
