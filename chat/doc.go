// Package chat is the domain layer of the chat application: naming rules,
// rooms, messages, rate limits and per-connection sessions, and each room's
// shared player and call (whose media never passes through the server: it
// only checks and relays the signalling).
//
// It deliberately knows nothing about HTTP, Gin or Socket.IO so that the rules
// can be tested without a network and the transport can be swapped. Storage is
// reached only through the Names, Presence (which keeps a room's call and
// player with its members) and History interfaces, which lets
// one process use in-memory or bbolt backends today and a shared backend such
// as Redis when the server is scaled out.
package chat
