package admin

import (
	"maps"
	"os"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// describe is a socket as the UI shows it (Node's serialize): its engine
// id and transport come from the socket itself when it is here, from its
// data's AdminKey when another server described it.
func describe(info socketio.SocketInfo, nsp string) map[string]any {
	var clientID, transport string
	data := map[string]any{}
	if m, ok := info.Data.(map[string]any); ok {
		maps.Copy(data, m)
	}
	if info.Local != nil {
		clientID, transport = socketio.ClientID(info.Local), info.Local.Transport()
	} else if ad, ok := data[socketio.AdminKey].(map[string]any); ok {
		clientID, _ = ad["clientId"].(string)
		transport, _ = ad["transport"].(string)
	}
	delete(data, socketio.AdminKey)
	hs := map[string]any{}
	for _, k := range []string{"address", "headers", "query", "issued", "secure", "time", "url", "xdomain"} {
		// auth is left out: an admin's carries its password.
		if v, ok := info.Handshake[k]; ok {
			hs[k] = v
		}
	}
	rooms := info.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	return map[string]any{
		"id": info.ID, "clientId": clientID, "transport": transport, "nsp": nsp,
		"data": data, "handshake": hs, "rooms": rooms,
	}
}

// aggregated is one count of the UI's dashboard charts, for one second.
type aggregated struct {
	Timestamp int64  `json:"timestamp"` // milliseconds, a whole second
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     uint64 `json:"count"`
}

// stats is one server_stats report. The dashboard's counts are what the
// engine's counters moved by since the previous report, dated to the
// second of this one: no counting on the serving path.
func (a *Admin) stats(at time.Time) map[string]any {
	es := a.io.Engine().Stats()
	prev := a.last
	a.last = es
	ts := at.Truncate(time.Second).UnixMilli()
	var events []aggregated
	add := func(typ, sub string, n uint64) {
		if n > 0 {
			events = append(events, aggregated{Timestamp: ts, Type: typ, SubType: sub, Count: n})
		}
	}
	add("rawConnection", "", sumHandshakes(es)-sumHandshakes(prev))
	for r, n := range es.Closes {
		add("rawDisconnection", r.String(), n-prev.Closes[r])
	}
	add("packetsIn", "", es.PacketsReceived-prev.PacketsReceived)
	add("packetsOut", "", es.PacketsSent-prev.PacketsSent)
	add("bytesIn", "", es.BytesReceived-prev.BytesReceived)
	add("bytesOut", "", es.BytesSent-prev.BytesSent)
	if events == nil {
		events = []aggregated{}
	}
	var clients, polling int64
	for t := range es.Sessions {
		for _, n := range es.Sessions[t] {
			clients += n
			if t == engineio.StatsPolling {
				polling += n
			}
		}
	}
	namespaces := []map[string]any{}
	for _, n := range a.io.Namespaces() {
		namespaces = append(namespaces, map[string]any{"name": n.Name(), "socketsCount": n.Len()})
	}
	return map[string]any{
		"serverId":            a.opts.ServerID,
		"hostname":            a.hostname,
		"pid":                 os.Getpid(),
		"uptime":              time.Since(a.started).Seconds(),
		"clientsCount":        clients,
		"pollingClientsCount": polling,
		"aggregatedEvents":    events,
		"namespaces":          namespaces,
	}
}

func sumHandshakes(s engineio.Stats) uint64 {
	var n uint64
	for _, t := range s.Handshakes {
		for _, c := range t {
			n += c
		}
	}
	return n
}
