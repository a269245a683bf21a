//go:build linux

// Command sioload is the chat server's load generator. It speaks the
// Engine.IO (v3 and v4) and Socket.IO wire protocols itself, over WebSocket
// or HTTP long-polling, so that one process can hold thousands of
// connections (a few KiB each) to the /chat namespace. Joined WebSocket
// connections are read by epoll loops (ws.go), not a goroutine each, so
// that the generator costs less per frame than the servers it measures;
// it runs on Linux.
//
// It only ever connects to loopback addresses (127.0.0.0/8, ::1).
//
// Scenarios (each prints one JSON line on stdout; progress goes to stderr):
//
//	idle     open -n registered connections (-ramp per second), hold them
//	         for -duration, then check each with an acked rtt
//	fanout   -n receivers and ceil(-rate/4) senders join -room; the senders
//	         take turns sending -rate messages/s for -duration (each stays
//	         under the server's 5/s per user); receivers measure latency
//	cursors  -n users in -room each send mousemove at -rate (default 30/s,
//	         the server's cap) for -duration; counts relays and drops
//	echo     -n clients send acked rtt events back to back (or -rate in
//	         total per second) for -duration; acks/s and round trips
//	churn    -rate connections/s (default 500) for -duration, each
//	         registering, joining one of -room-0, -room-1, ... (about 10
//	         users each), answering an rtt, posting -chat messages to its
//	         room, and leaving after -n/-rate s (about -n open at a time,
//	         default 500); a -vanish fraction drops instead, without a
//	         close (a reset TCP connection, an abandoned polling session)
//
// With -engine (idle only) the connections are bare Engine.IO sessions to an
// Engine.IO echo server (`conformance -engine`, or Node's engine.io with an
// echo handler) at -path /engine.io/: the handshake only, no namespace and
// no register; heartbeats as usual (pongs in v4, pings in v3); the final
// check is a message packet sent and received back, within -timeout.
//
// Examples:
//
//	sioload -scenario idle -n 10000 -ramp 1000 -duration 30s
//	sioload -scenario fanout -n 500 -rate 20 -duration 10s
//	sioload -scenario echo -n 50 -transport polling -eio 3
//	sioload -engine -url http://127.0.0.1:3000 -n 5000 -ramp 1000
//
// Exit status: 0 when the run completed, 1 when setup failed (fewer than -n
// connections ready within -timeout) or the run could not start, 2 for bad
// flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("sioload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL; loopback addresses only")
	fs.StringVar(&cfg.Path, "path", "", "mount path (default /socket.io/, or /engine.io/ with -engine)")
	fs.StringVar(&cfg.Scenario, "scenario", "idle", "idle, fanout, cursors, echo or churn")
	fs.BoolVar(&cfg.Engine, "engine", false, "Engine.IO only (idle): bare sessions to an Engine.IO echo server, checked with a message round trip")
	fs.IntVar(&cfg.N, "n", 0, "connections: idle 1000, fanout receivers 100, cursors users 20, echo clients 10 when 0")
	fs.Float64Var(&cfg.Rate, "rate", 0, "fanout: messages/s in total (default 10); cursors: moves/s per user (default 30); echo: rtt/s in total (0 = back to back); churn: connections/s (default 500)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to hold, send or echo")
	fs.IntVar(&cfg.EIO, "eio", 4, "Engine.IO protocol version: 4 (socket.io 3.x/4.x) or 3 (2.x)")
	fs.StringVar(&cfg.Transport, "transport", "websocket", "websocket or polling")
	fs.Float64Var(&cfg.Ramp, "ramp", 500, "connections opened per second (0 = as fast as possible)")
	fs.StringVar(&cfg.Room, "room", "", "room for fanout and cursors (default load-<pid>)")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound on setup (opening all connections), on each request or ack, and on draining")
	fs.IntVar(&cfg.Sources, "sources", 1, "spread connections over source addresses 127.0.0.1..127.0.0.N (each has its own ephemeral ports)")
	fs.DurationVar(&cfg.PongDelay, "pong-delay", 0, "delay before answering a v4 server ping (a simulated network round trip; 0 answers at once)")
	fs.DurationVar(&cfg.ConnectDelay, "connect-delay", 0, "pause between joining /chat and the first event (register, join, rtt); 0 emits at once like socket.io-client")
	fs.DurationVar(&cfg.Progress, "progress", time.Second, "interval of progress lines on stderr (0 = none)")
	fs.IntVar(&cfg.Chat, "chat", 0, "churn: messages each connection posts to its room while open, spread over its -n/-rate s")
	fs.Float64Var(&cfg.Vanish, "vanish", 0, "churn: fraction of connections (0..1) that vanish without a goodbye instead of leaving (WebSocket: TCP reset; polling: stops polling)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sioload [flags]\n\nLoad generator for the chat server's /chat Socket.IO namespace, or with -engine an Engine.IO echo server (loopback only).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sioload:", err)
		return 2
	}
	if err := cfg.check(); err != nil {
		fmt.Fprintln(stderr, "sioload:", err)
		return 2
	}
	if _, err := parseTarget(cfg.URL, cfg.Path); err != nil {
		fmt.Fprintln(stderr, "sioload:", err)
		return 2
	}
	res, err := Run(cfg, stderr)
	if res != nil {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			fmt.Fprintln(stderr, "sioload:", err)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sioload:", err)
		return 1
	}
	return 0
}
