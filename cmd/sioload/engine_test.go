//go:build linux

package main

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/realtime"
)

// TestEngineIdle runs the idle scenario with -engine against the project's
// Engine.IO echo server (no Socket.IO above it) over both transports and
// protocol versions, with a heartbeat short enough that v4 server pings and
// v3 client pings happen during the hold, which outlasts the ping deadline
// (a session without heartbeat would be gone); the final check is an echoed
// message.
func TestEngineIdle(t *testing.T) {
	srv := httptest.NewServer(realtime.EngineEcho(realtime.EngineEchoOptions{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  400 * time.Millisecond,
		AllowEIO3:    true,
	}))
	t.Cleanup(srv.Close) // after the parallel subtests
	for _, transport := range []string{"websocket", "polling"} {
		for _, eio := range []int{4, 3} {
			t.Run(fmt.Sprintf("%s/EIO%d", transport, eio), func(t *testing.T) {
				t.Parallel()
				const n = 8
				cfg := testConfig(srv.URL, "idle", transport, eio, n)
				cfg.Engine, cfg.Path, cfg.ConnectDelay = true, "", 0 // -path defaults to /engine.io/
				cfg.Duration = 1500 * time.Millisecond
				res := runScenario[*IdleResult](t, cfg)
				if !res.OK || res.Connected != n || res.StillUp != n || res.Dropped != 0 || !res.Engine {
					t.Errorf("engine idle: connected %d, still_up %d, dropped %d, engine %v, errors %v; want all %d up",
						res.Connected, res.StillUp, res.Dropped, res.Engine, res.Errors, n)
				}
			})
		}
	}
}
