package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/realtime"
)

// ChatNamespace is where the chat app's events live.
const ChatNamespace = "/chat"

// eventTimeout bounds the storage work one event may do.
const eventTimeout = 5 * time.Second

// ChatEvents translates the /chat namespace's Socket.IO events into calls on
// the chat domain and its results into acks and broadcasts. The event
// protocol is documented in README.md.
type ChatEvents struct {
	Chat *chat.Service
	Log  *slog.Logger
}

// okReply and errReply are the two shapes of every ack.
type errReply struct {
	OK    bool        `json:"ok"`
	Error *chat.Error `json:"error"`
}

type registerReply struct {
	OK   bool   `json:"ok"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type joinReply struct {
	OK bool `json:"ok"`
	chat.JoinResult
}

type messageReply struct {
	OK      bool         `json:"ok"`
	Message chat.Message `json:"message"`
}

type okReply struct {
	OK bool `json:"ok"`
}

type playerReply struct {
	OK     bool        `json:"ok"`
	Player chat.Player `json:"player"`
}

// signalEvent is what the addressee of a signal receives.
type signalEvent struct {
	Room string         `json:"room"`
	From chat.User      `json:"from"`
	Data map[string]any `json:"data"`
}

// callEvent announces a member joining (Active) or leaving a room's call.
type callEvent struct {
	Room   string    `json:"room"`
	User   chat.User `json:"user"`
	Active bool      `json:"active"`
}

type rttReply struct {
	OK bool  `json:"ok"`
	TS int64 `json:"ts"`
}

// roomEvent is the payload of joined and left.
type roomEvent struct {
	Room string    `json:"room"`
	User chat.User `json:"user"`
}

// Attach registers the handlers on nsp. They are the namespace's, shared
// by every socket (a socket's own would cost it memory); a socket's chat
// session is its Data.
func (h ChatEvents) Attach(nsp *realtime.Namespace) {
	h.Chat.OnDeparture(func(u chat.User, rooms []string) { announce(nsp.To, "left", u, rooms) })
	nsp.OnRecoveryExpired(func(id string, data any) {
		if sess, ok := data.(*chat.Session); ok {
			u := h.end(sess, nsp.To)
			h.Log.Debug("chat session not recovered in time", "sid", id, "user", u.Name)
		}
	})
	h.AttachReclaim(nsp)
	nsp.OnConnection(func(s *realtime.Socket) { h.session(s) })

	nsp.On("register", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		u, err := sess.Register(ctx, p.str("name"))
		if errors.Is(err, chat.ErrNameTaken) && reclaimElsewhere(ctx, nsp, p.str("name")) {
			// Held by a user away on another node: freed there.
			u, err = sess.Register(ctx, p.str("name"))
		}
		if err != nil {
			return nil, err
		}
		return registerReply{OK: true, ID: u.ID, Name: u.Name}, nil
	}))

	nsp.On("join", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		// The socket enters the room's broadcasts before the history is
		// read (the domain orders it): see chat.Session.Join.
		res, err := sess.Join(ctx, p.str("room"), s)
		if err != nil {
			return nil, err
		}
		if !res.AlreadyMember {
			u, _ := sess.User()
			s.To(res.Room).Emit("joined", roomEvent{Room: res.Room, User: u})
		}
		return joinReply{OK: true, JoinResult: res}, nil
	}))

	nsp.On("leave", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		u, err := sess.Leave(ctx, p.str("room"), s)
		if err != nil {
			return nil, err
		}
		room, _ := chat.ValidateRoom(p.str("room")) // valid: Leave accepted it
		s.To(room).Emit("left", roomEvent{Room: room, User: u})
		return okReply{OK: true}, nil
	}))

	nsp.On("message", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		// The others get the message as soon as it is numbered; the
		// sender's ack waits until it is stored.
		m, err := sess.Publish(ctx, p.str("room"), p.str("text"), p.str("clientId"), func(m chat.Message) {
			s.To(m.Room).Emit("message", m)
		})
		if err != nil {
			return nil, err
		}
		return messageReply{OK: true, Message: m}, nil
	}))

	nsp.On("player", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		req := chat.PlayerRequest{Room: p.str("room"), Action: p.str("action"), URL: p.str("url")}
		if v, ok := p["position"]; ok && v != nil {
			// A position that is not a number is refused like a negative one.
			req.HasPosition = true
			req.Position, ok = v.(float64)
			if !ok {
				req.Position = -1
			}
		}
		pl, err := sess.Control(ctx, req)
		if err != nil {
			return nil, err
		}
		s.To(pl.Room).Emit("player", pl)
		return playerReply{OK: true, Player: pl}, nil
	}))

	nsp.On("signal", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		data, ok := p["data"].(map[string]any)
		if !ok {
			return nil, chat.ErrBadRequest.WithMessage("signal needs data: an object")
		}
		enc, err := json.Marshal(data)
		if err != nil {
			return nil, chat.ErrBadRequest.WithMessage("signal data must be JSON")
		}
		to := p.str("to")
		from, err := sess.Signal(ctx, p.str("room"), to, len(enc))
		if err != nil {
			return nil, err
		}
		room, _ := chat.ValidateRoom(p.str("room")) // valid: Signal accepted it
		// A socket's ID is also a room: this reaches the addressee on
		// whichever node holds its connection.
		s.To(to).Emit("signal", signalEvent{Room: room, From: from, Data: data})
		return okReply{OK: true}, nil
	}))

	nsp.On("call", h.acked(func(ctx context.Context, s *realtime.Socket, sess *chat.Session, p payload) (any, error) {
		active, ok := p["active"].(bool)
		if !ok {
			return nil, chat.ErrBadRequest.WithMessage("call needs active: true or false")
		}
		u, err := sess.Call(ctx, p.str("room"), active)
		if err != nil {
			return nil, err
		}
		room, _ := chat.ValidateRoom(p.str("room")) // valid: Call accepted it
		s.To(room).Emit("call", callEvent{Room: room, User: u, Active: active})
		return okReply{OK: true}, nil
	}))

	nsp.On("mousemove", func(s *realtime.Socket, args []any, _ realtime.Ack) {
		sess := sessionOf(s)
		if sess == nil {
			return
		}
		p := firstPayload(args)
		x, okx := p.num("x")
		y, oky := p.num("y")
		if !okx || !oky {
			return
		}
		if c, ok := sess.Cursor(p.str("room"), x, y); ok {
			// Only the newest position matters: at a receiver that is
			// behind, it replaces this user's position still waiting to go
			// out, so the last one always arrives and none pile up.
			s.To(c.Room).Latest("mousemove:"+c.Room+":"+s.ID()).Emit("mousemove", c)
		}
	})

	nsp.On("rtt", func(_ *realtime.Socket, _ []any, ack realtime.Ack) {
		if ack != nil {
			ack(rttReply{OK: true, TS: time.Now().UnixMilli()})
		}
	})

	nsp.OnUnknown(func(_ *realtime.Socket, event string, _ []any, ack realtime.Ack) {
		if ack != nil {
			ack(errReply{Error: chat.ErrUnknownEvent.WithMessage("unknown event " + quote(event))})
		}
	})

	nsp.OnDisconnect(func(s *realtime.Socket, reason string) {
		sess := sessionOf(s)
		if sess == nil {
			return
		}
		if s.Kept() {
			// The client may come back with this socket (connection state
			// recovery): the user stays, away, until it does or the
			// window passes (OnRecoveryExpired closes the session).
			u, rooms, _ := sess.Suspend()
			announce(s.To, "away", u, rooms)
			h.Log.Debug("chat disconnect, kept for recovery", "sid", s.ID(), "user", u.Name, "reason", reason)
			return
		}
		// The socket has left its rooms already: nobody gets their own left.
		u := h.end(sess, s.To)
		h.Log.Debug("chat disconnect", "sid", s.ID(), "user", u.Name, "reason", reason)
	})
}

// session gives s its chat session: a new one, or for a socket that came
// back with connection state recovery the one it had, taken back from
// suspension (and the rooms told the user is back). When a recovered
// socket's session ended meanwhile (someone registered the name), the
// socket is left without one and disconnected, and its client starts over.
func (h ChatEvents) session(s *realtime.Socket) {
	if s.Recovered() {
		if sess, ok := s.Data().(*chat.Session); ok {
			if u, rooms, ok := sess.Resume(); ok {
				announce(s.To, "back", u, rooms)
				return
			}
		}
		s.SetData(nil)
		s.Disconnect()
		return
	}
	s.SetData(h.Chat.NewSession(s.ID()))
}

// sessionOf is the chat session of s, or nil if it has none (see session).
func sessionOf(s *realtime.Socket) *chat.Session {
	sess, _ := s.Data().(*chat.Session)
	return sess
}

// end closes sess and tells its rooms the user left, through to (the
// namespace's To, or a socket's, which leaves the socket out).
func (h ChatEvents) end(sess *chat.Session, to func(room string) *realtime.Broadcast) chat.User {
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	u, rooms := sess.Close(ctx)
	announce(to, "left", u, rooms)
	return u
}

// announce tells each of rooms, through to, that u is event: "left",
// "away" or "back".
func announce(to func(room string) *realtime.Broadcast, event string, u chat.User, rooms []string) {
	for _, room := range rooms {
		to(room).Emit(event, roomEvent{Room: room, User: u})
	}
}

// AnnounceGone returns the callback the cluster's presence sweeper calls for
// each user of a node that died: their rooms, on every node, get left.
func (h ChatEvents) AnnounceGone(nsp *realtime.Namespace) func(room string, u chat.User) {
	return func(room string, u chat.User) {
		announce(nsp.To, "left", u, []string{room})
		h.Log.Info("swept user of a dead node", "user", u.Name, "room", room)
	}
}

// errNotAnObject answers an event whose first argument is not an object.
var errNotAnObject = chat.ErrBadRequest.WithMessage("the event's first argument must be an object")

// acked adapts a domain call to an event handler: it finds the socket's
// session, decodes the payload, bounds the call in time and answers the
// ack with the reply, or with {ok:false,error:{code,message}} when the call
// returns an error (see clientError).
func (h ChatEvents) acked(fn func(context.Context, *realtime.Socket, *chat.Session, payload) (any, error)) realtime.SocketHandler {
	return func(s *realtime.Socket, args []any, ack realtime.Ack) {
		sess := sessionOf(s)
		if sess == nil {
			return // disconnected when its session could not be recovered
		}
		ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
		defer cancel()
		var reply any
		var err error
		if p, ok := payloadOf(args); ok {
			reply, err = fn(ctx, s, sess, p)
		} else {
			err = errNotAnObject
		}
		if err != nil {
			reply = errReply{Error: clientError(h.Log, err, "sid", s.ID())}
		}
		if ack != nil {
			ack(reply)
		}
	}
}

// payload is an event's first argument, a JSON object.
type payload map[string]any

func payloadOf(args []any) (payload, bool) {
	if len(args) == 0 {
		return nil, false
	}
	m, ok := args[0].(map[string]any)
	return m, ok
}

func firstPayload(args []any) payload {
	p, _ := payloadOf(args)
	return p
}

// str returns the string field k, or "" (which every validator refuses).
func (p payload) str(k string) string {
	s, _ := p[k].(string)
	return s
}

func (p payload) num(k string) (float64, bool) {
	f, ok := p[k].(float64)
	return f, ok && !math.IsNaN(f)
}

func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "\"" + s + "\""
}
