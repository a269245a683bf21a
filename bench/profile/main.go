// Command profile runs the real chat server (app.Run with the same flags and
// environment as the chatserver binary) with net/http/pprof served on a
// separate loopback address, so that bench/profile.sh can take CPU, allocation
// and goroutine profiles under load. The app itself is not changed and the
// pprof endpoints are never on the app's own listener.
//
// Usage: profile [-pprof 127.0.0.1:6060] [chatserver flags...]
//
// MEMPROFILERATE (bytes; Go's default is 512 KiB) samples allocations more
// finely, e.g. 1 to record every one when accounting for memory per
// connection. MUTEXPROFILEFRACTION (1 in n contended unlocks) and
// BLOCKPROFILERATE (nanoseconds: one blocking event per that much time
// blocked) turn on the mutex and block profiles, which are off by default.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/socketio-go/chatserver/app"
	"github.com/socketio-go/chatserver/config"
)

func main() {
	pprofAddr := "127.0.0.1:6060"
	var rest []string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-pprof" || a == "--pprof":
			if i+1 >= len(args) {
				fmt.Fprintln(os.Stderr, "profile: -pprof needs an address")
				os.Exit(2)
			}
			pprofAddr = args[i+1]
			i++
		case strings.HasPrefix(a, "-pprof=") || strings.HasPrefix(a, "--pprof="):
			pprofAddr = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	host, _, err := net.SplitHostPort(pprofAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "profile: -pprof %q: want a loopback IP address and port\n", pprofAddr)
		os.Exit(2)
	}
	if v := os.Getenv("MEMPROFILERATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "profile: MEMPROFILERATE=%q: want a number of bytes\n", v)
			os.Exit(2)
		}
		runtime.MemProfileRate = n
	}
	for _, e := range []struct {
		name string
		set  func(int)
	}{
		{"MUTEXPROFILEFRACTION", func(n int) { runtime.SetMutexProfileFraction(n) }},
		{"BLOCKPROFILERATE", runtime.SetBlockProfileRate},
	} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				fmt.Fprintf(os.Stderr, "profile: %s=%q: want a non-negative number\n", e.name, v)
				os.Exit(2)
			}
			e.set(n)
		}
	}
	cfg, err := config.Parse(rest, os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", pprofAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
	go func() {
		srv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		_ = srv.Serve(ln)
	}()
	fmt.Fprintf(os.Stderr, "profile: pprof on http://%s/debug/pprof/\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.Run(ctx, cfg, os.Stdout))
}
