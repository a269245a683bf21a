package realtime

import (
	"errors"

	"github.com/socketio-go/chatserver/realtime/internal/admin"
)

// AdminOptions turns on the server side of the Socket.IO Admin UI
// (@socket.io/admin-ui) on the /admin namespace: see Server.EnableAdmin.
type AdminOptions struct {
	// Username and PasswordHash (bcrypt) are the one login; both required.
	Username     string
	PasswordHash string
	// ReadOnly lets the UI watch only: no emit, join, leave or disconnect.
	ReadOnly bool
	// Events reports every event received and sent, with its arguments
	// (message texts included): a report per delivery, for development.
	Events bool
	// ServerID names this node in the UI; default the host name. Nodes of
	// a cluster need distinct ones.
	ServerID string
}

// EnableAdmin instruments the server for the Admin UI. In a cluster
// (Options.Redis) every node reports its own sockets to the admin sockets
// of all nodes, and logins are shared through Redis, as with Node's
// instrumented servers and the package's RedisStore. Call it before
// serving, once.
func (s *Server) EnableAdmin(o AdminOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		return errors.New("realtime: the admin UI is already enabled")
	}
	opts := admin.Options{
		Username: o.Username, PasswordHash: []byte(o.PasswordHash),
		ReadOnly: o.ReadOnly, Events: o.Events, ServerID: o.ServerID,
		Logger: s.opts.Logger,
	}
	if s.opts.Redis != nil {
		opts.Sessions = admin.NewRedisSessions(s.opts.Redis, admin.SessionTTL)
	}
	a, err := admin.New(s.io, opts)
	if err != nil {
		return err
	}
	s.admin = a
	return nil
}
