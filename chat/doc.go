// Package chat is the domain layer of the chat application: naming rules,
// rooms, messages, rate limits and per-connection sessions.
//
// It deliberately knows nothing about HTTP, Gin or Socket.IO so that the rules
// can be tested without a network and the transport can be swapped. Storage is
// reached only through the Names, Presence and History interfaces, which lets
// one process use in-memory or bbolt backends today and a shared backend such
// as Redis when the server is scaled out.
package chat
