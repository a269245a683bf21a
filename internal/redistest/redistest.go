// Package redistest runs throwaway redis-server processes for tests: on a
// free loopback port (never the system Redis's 6379), without persistence,
// answering PING before they are handed out.
//
// The binary is $REDIS_SERVER, else redis-server on PATH, else
// /usr/bin/redis-server. Without one a test is skipped, except under
// CI=true, where it fails.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/syncbuf"
)

// ErrNoBinary is what Launch's error wraps when there is no redis-server.
var ErrNoBinary = errors.New("no redis-server binary")

const readyTimeout = 10 * time.Second

// Binary returns the redis-server to run.
func Binary() (string, error) {
	if b := os.Getenv("REDIS_SERVER"); b != "" {
		path, err := exec.LookPath(b)
		if err != nil {
			return "", fmt.Errorf("%w: REDIS_SERVER=%s: %v", ErrNoBinary, b, err)
		}
		return path, nil
	}
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path, nil
	}
	const fallback = "/usr/bin/redis-server"
	if _, err := os.Stat(fallback); err != nil {
		return "", fmt.Errorf("%w: none on PATH, none at %s, REDIS_SERVER unset", ErrNoBinary, fallback)
	}
	return fallback, nil
}

// Start runs a redis-server for the test, stopped when it ends, and
// returns its address (127.0.0.1:port). See SkipOrFail for what happens
// without one.
func Start(t testing.TB) string {
	t.Helper()
	s, err := Launch()
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping redis-server: %v", err)
		}
	})
	return s.Addr()
}

// SkipOrFail ends a test whose Redis could not be started (err from
// Launch): skipped when there is no redis-server binary, unless CI=true;
// failed otherwise.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: this test needs a real Redis (%v); install redis-server or set REDIS_SERVER", err)
	}
	if errors.Is(err, ErrNoBinary) {
		t.Fatalf("this test needs a real Redis (%v; CI=true: not skipping)", err)
	}
	t.Fatalf("redis-server: %v", err)
}

// Server is one redis-server process. Launch starts it; it runs until
// Stop, which the starter must call (from TestMain, say).
type Server struct {
	bin  string
	port int

	dir  string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{} // closed once the process has exited
}

// Launch starts a redis-server on a free loopback port. The port is
// chosen by listening on it and closing it again; if another process
// takes it meanwhile, Launch tries another (three times in all).
func Launch() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, port: port}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port != 6379 {
			return port, nil
		}
	}
}

// Addr is the server's address, 127.0.0.1:port; it stays the same across
// Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the process on s.port and waits until it answers PING.
func (s *Server) start() error {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return err
	}
	s.dir, s.out, s.done = dir, &syncbuf.Buffer{}, make(chan struct{})
	s.cmd = exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		s.cmd = nil
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	cmd, done := s.cmd, s.done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-done:
			_ = s.Stop()
			return fmt.Errorf("redis-server on %s exited at startup: %s", s.Addr(), s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("redis-server on %s not ready within %v: %v\n%s", s.Addr(), readyTimeout, err, s.out.String())
		}
		time.Sleep(10 * time.Millisecond) // waiting for the process, bounded by deadline
	}
}

// ping sends PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Stop ends the process (SIGTERM, then SIGKILL after 10 s) and removes its
// directory. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	defer func() {
		_ = os.RemoveAll(s.dir)
		s.cmd = nil
	}()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-s.done
	return nil
}

// Restart starts the server again on the same port (stopping it first if
// it runs), empty, as a Redis without persistence comes back.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start()
}
