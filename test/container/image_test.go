package container

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// What the image relies on, and what TestRuntimeStage checks:
//
//   - The binary is static (no ELF interpreter, no dynamic section, no
//     shared libraries): a scratch image has no libc and no loader. It is
//     built with the Dockerfile's own go build line (CGO_ENABLED=0,
//     -trimpath, -ldflags="-s -w").
//   - It runs as the Dockerfile's numeric USER (65532:65532) with no
//     supplementary groups, in a chroot holding only the binary and the
//     data directory: no /etc (no passwd entry, no CA certificates, no
//     tzdata; logs are in UTC), no /proc, no /dev, no HOME, no PATH, with
//     the Dockerfile's ENV (ADDR, DATA_DIR) as its whole environment. The
//     root and the binary are read-only to it; only DATA_DIR, owned by the
//     USER as COPY --chown makes it, is writable, and history.db goes there.
//   - HEALTHCHECK's command, run the same way, exits 0 while the server
//     runs, and non-zero once it has stopped; SIGTERM (docker stop) ends
//     the server with status 0.
//
// Not needed by the binary and so not in the image: a shell, /etc/passwd
// (the USER is numeric), CA certificates (it makes no TLS connection,
// except to a rediss:// REDIS_URL, which would need them), tzdata.
// The engine provides /etc/hosts and /etc/resolv.conf, which the Go
// resolver reads for a REDIS_URL with a host name (redis:6379 in
// docker-compose.yml); with an IP address nothing is read.

// repoRoot is the module root: the Dockerfile's build context.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

// facts are what the runtime stage relies on, read from the Dockerfile.
type facts struct {
	build      GoBuild           // the build stage's go build
	buildDir   string            // its WORKDIR (the context is copied there)
	binary     string            // where the final stage puts the binary (/chatserver)
	dataDir    string            // ENV DATA_DIR, COPY --chown's destination, the VOLUME
	uid, gid   int               // USER
	env        map[string]string // ENV
	health     Healthcheck
	entrypoint []string
	port       string // EXPOSE, ADDR's port
}

func loadFacts(t *testing.T, root string) facts {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	df, err := ParseDockerfile(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Dockerfile: "+format, args...)
	}
	var fx facts
	final := df.Final()
	if final.From != "scratch" {
		fail("the runtime stage is FROM %s; these checks are for FROM scratch", final.From)
	}
	// Every COPY of the runtime stage comes from one build stage.
	copies := final.All("COPY")
	if len(copies) != 2 {
		fail("%d COPY instructions in the runtime stage, want 2 (the binary, the data directory)", len(copies))
	}
	var bin, data Copy
	for _, in := range copies {
		c, err := ParseCopy(in.Args)
		if err != nil {
			fail("line %d: %v", in.Line, err)
		}
		if c.Chown != "" {
			data = c
		} else {
			bin = c
		}
	}
	if bin.From == "" || bin.From != data.From {
		fail("the runtime stage's COPYs come from %q and %q, want one build stage", bin.From, data.From)
	}
	build, ok := df.Stage(bin.From)
	if !ok {
		fail("no stage named %q", bin.From)
	}
	gb, others, err := FindGoBuild(build)
	if err != nil {
		fail("%v", err)
	}
	fx.build = gb
	wd, err := build.One("WORKDIR")
	if err != nil {
		fail("%v", err)
	}
	fx.buildDir = wd.Args
	if !slices.ContainsFunc(build.All("COPY"), func(in Instr) bool { return in.Args == ". ." }) {
		fail("the build stage does not COPY . . (the whole context) into its WORKDIR")
	}
	if len(bin.Srcs) != 1 || bin.Srcs[0] != gb.Output {
		fail("the binary is copied from %v, but go build writes %s", bin.Srcs, gb.Output)
	}
	fx.binary = bin.Dest
	if len(data.Srcs) != 1 || !slices.Contains(others, "mkdir -p "+data.Srcs[0]) {
		fail("the data directory is copied from %v, which the build stage does not mkdir -p (%q)", data.Srcs, others)
	}

	user, err := final.One("USER")
	if err != nil {
		fail("%v", err)
	}
	fx.uid, fx.gid = parseUser(t, user.Args)
	if fx.uid == 0 || fx.gid == 0 {
		fail("USER %s is root", user.Args)
	}
	if u, g := parseUser(t, data.Chown); u != fx.uid || g != fx.gid {
		fail("the data directory is chowned to %s, but the USER is %s", data.Chown, user.Args)
	}

	fx.env = map[string]string{}
	for _, in := range final.All("ENV") {
		m, err := ParseEnv(in.Args)
		if err != nil {
			fail("line %d: %v", in.Line, err)
		}
		for k, v := range m {
			fx.env[k] = v
		}
	}
	addr, ok := fx.env["ADDR"]
	if !ok {
		fail("no ENV ADDR in the runtime stage")
	}
	fx.dataDir, ok = fx.env["DATA_DIR"]
	if !ok {
		fail("no ENV DATA_DIR in the runtime stage")
	}
	if data.Dest != fx.dataDir {
		fail("the data directory is copied to %s, but DATA_DIR=%s", data.Dest, fx.dataDir)
	}
	vol, err := final.One("VOLUME")
	if err != nil {
		fail("%v", err)
	}
	if v, err := ExecForm(vol.Args); err != nil || !slices.Equal(v, []string{fx.dataDir}) {
		fail("VOLUME %s, want [%q] (DATA_DIR)", vol.Args, fx.dataDir)
	}
	_, fx.port, err = net.SplitHostPort(addr)
	if err != nil {
		fail("ADDR=%s: %v", addr, err)
	}
	expose, err := final.One("EXPOSE")
	if err != nil {
		fail("%v", err)
	}
	if expose.Args != fx.port && expose.Args != fx.port+"/tcp" {
		fail("EXPOSE %s, but ADDR=%s", expose.Args, addr)
	}

	hc, err := final.One("HEALTHCHECK")
	if err != nil {
		fail("%v", err)
	}
	fx.health, err = ParseHealthcheck(hc.Args)
	if err != nil {
		fail("line %d: %v", hc.Line, err)
	}
	if !slices.Equal(fx.health.Cmd, []string{fx.binary, "healthcheck"}) {
		fail("HEALTHCHECK CMD %q, want [%q \"healthcheck\"] (the image has no shell)", fx.health.Cmd, fx.binary)
	}
	ep, err := final.One("ENTRYPOINT")
	if err != nil {
		fail("%v", err)
	}
	fx.entrypoint, err = ExecForm(ep.Args)
	if err != nil {
		fail("line %d: %v", ep.Line, err)
	}
	if fx.entrypoint[0] != fx.binary {
		fail("ENTRYPOINT %q does not run %s", fx.entrypoint, fx.binary)
	}
	if len(final.All("CMD")) != 0 || len(final.All("RUN")) != 0 || len(final.All("WORKDIR")) != 0 {
		fail("the runtime stage has CMD, RUN or WORKDIR, which these checks do not cover")
	}
	return fx
}

func parseUser(t *testing.T, s string) (uid, gid int) {
	t.Helper()
	u, g, ok := strings.Cut(s, ":")
	var err1, err2 error
	uid, err1 = strconv.Atoi(u)
	gid, err2 = strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("Dockerfile: user %q: want numeric UID:GID (a scratch image has no /etc/passwd)", s)
	}
	return uid, gid
}

// buildLikeDockerfile runs the build stage's go build, with its environment
// and flags, in the module root (the build stage's WORKDIR holds the whole
// context), writing the binary to dir.
func buildLikeDockerfile(t *testing.T, root string, fx facts, dir string) string {
	t.Helper()
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil || !slices.Contains(strings.Fields(string(ignore)), ".git") {
		t.Fatalf(".dockerignore does not leave out .git (%v); the build below assumes no VCS information, as in the image", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	out := filepath.Join(dir, filepath.Base(fx.build.Output))
	args := []string{"build"}
	for i := 0; i < len(fx.build.Args); i++ {
		a := fx.build.Args[i]
		switch {
		case a == "-o":
			args = append(args, "-o", out)
			i++
		case strings.HasPrefix(a, "-o="):
			args = append(args, "-o="+out)
		default:
			args = append(args, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = root
	// The Dockerfile's assignments win over the caller's (make test-go runs
	// with CGO_ENABLED=1 for -race). The context has no .git.
	cmd.Env = append(append(os.Environ(), fx.build.Env...), "GOFLAGS=-buildvcs=false")
	t.Logf("%s go %s", strings.Join(fx.build.Env, " "), strings.Join(args, " "))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestRuntimeStage checks, with no container engine, what the Dockerfile's
// runtime stage relies on (see the comment at the top of this file).
func TestRuntimeStage(t *testing.T) {
	root := repoRoot(t)
	fx := loadFacts(t, root)
	t.Logf("runtime stage: FROM scratch, %s as %d:%d, ENV %v, HEALTHCHECK %q, data in %s",
		fx.binary, fx.uid, fx.gid, fx.env, fx.health.Cmd, fx.dataDir)
	if !slices.Contains(fx.build.Env, "CGO_ENABLED=0") {
		t.Fatalf("Dockerfile: go build without CGO_ENABLED=0 (env %q): the binary would need libc", fx.build.Env)
	}
	bin := buildLikeDockerfile(t, root, fx, t.TempDir())

	t.Run("static", func(t *testing.T) { checkStatic(t, bin, root) })
	t.Run("runs", func(t *testing.T) { checkRuns(t, fx, bin) })
	if t.Failed() {
		return
	}
	if engine := workingEngine(); engine == "" {
		t.Log("no working container engine (docker or podman): the runtime stage's requirements were checked, the image itself was not built")
	}
}

// checkStatic: no interpreter, no dynamic section, no shared libraries, no
// symbol table or DWARF (-s -w), no build paths (-trimpath).
func checkStatic(t *testing.T, bin, root string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Errorf("ELF has PT_INTERP (needs a dynamic loader)")
		case elf.PT_DYNAMIC:
			t.Errorf("ELF has PT_DYNAMIC (dynamically linked)")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("shared libraries %q (%v)", libs, err)
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("section %s present: not built with -ldflags=\"-s -w\"", s.Name)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(root+string(filepath.Separator))) {
		t.Errorf("the binary holds the build directory %s: not built with -trimpath", root)
	}
	if ldd, err := exec.LookPath("ldd"); err == nil {
		out, _ := exec.Command(ldd, bin).CombinedOutput() // exits 1 for a static binary
		if s := string(out); !strings.Contains(s, "not a dynamic executable") && !strings.Contains(s, "statically linked") {
			t.Errorf("ldd %s: %s", bin, s)
		} else {
			t.Logf("ldd: %s", strings.TrimSpace(s))
		}
	} else {
		t.Log("no ldd here; the ELF headers above are the check")
	}
}

// checkRuns runs the binary as the image would (chroot, USER, ENV), then its
// healthcheck while it serves and after it stopped.
func checkRuns(t *testing.T, fx facts, bin string) {
	if os.Geteuid() != 0 {
		t.Skipf("running the binary as uid %d in a chroot needs root (euid %d): only the Dockerfile and the ELF checks ran",
			fx.uid, os.Geteuid())
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	makeRootfs(t, rootfs, fx, bin)
	env := fx.env
	ns, err := newNetNS()
	if err != nil {
		// A new network namespace would let ADDR stay as the image has it
		// (all interfaces of a loopback-only namespace); without one the
		// server listens on a free port of 127.0.0.1 instead.
		port := freePort(t)
		env = withEnv(fx.env, "ADDR", "127.0.0.1:"+port)
		t.Logf("no private network namespace (%v): ADDR=%s instead of %s", err, env["ADDR"], fx.env["ADDR"])
	} else {
		defer ns.close()
		t.Logf("in a private network namespace (loopback only): ADDR=%s as in the image", env["ADDR"])
	}
	proc := func(ctx context.Context, argv []string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = envList(env)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     rootfs,
			Credential: &syscall.Credential{Uid: uint32(fx.uid), Gid: uint32(fx.gid), Groups: []uint32{}},
			Pdeathsig:  syscall.SIGKILL,
		}
		return cmd
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := proc(ctx, fx.entrypoint)
	logs := &lineLog{want: "msg=listening", seen: make(chan struct{})}
	srv.Stdout, srv.Stderr = logs, logs
	if err := ns.start(srv); err != nil {
		t.Fatalf("starting %q: %v", fx.entrypoint, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	select {
	case <-logs.seen:
	case err := <-exited:
		t.Fatalf("the server exited at start (%v):\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("the server did not log that it listens within 20s:\n%s", logs)
	}

	hcTimeout := 3 * time.Second
	if v := fx.health.Options["timeout"]; v != "" {
		if hcTimeout, err = time.ParseDuration(v); err != nil {
			t.Fatalf("Dockerfile: HEALTHCHECK --timeout=%s: %v", v, err)
		}
	}
	healthcheck := func() (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), hcTimeout+time.Second)
		defer cancel()
		cmd := proc(ctx, fx.health.Cmd)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := ns.start(cmd)
		if err == nil {
			err = cmd.Wait()
		}
		if took := time.Since(start); took > hcTimeout {
			t.Errorf("the healthcheck took %v, over HEALTHCHECK --timeout=%v", took, hcTimeout)
		}
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &ee) && ee.Exited():
			return ee.ExitCode(), out.String()
		default:
			t.Fatalf("healthcheck: %v\n%s", err, out.String())
			return -1, ""
		}
	}
	if code, out := healthcheck(); code != 0 {
		t.Errorf("healthcheck while the server runs: exit %d: %s\nserver log:\n%s", code, out, logs)
	}

	// docker stop: SIGTERM, then the graceful shutdown.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server's exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the server did not exit within 20s of SIGTERM:\n%s", logs)
	}
	log := logs.String()
	t.Logf("server log:\n%s", log)
	if !strings.Contains(log, "shutdown complete") {
		t.Errorf("no \"shutdown complete\" in the server log:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "permission denied") ||
			strings.Contains(line, "no such file") {
			t.Errorf("server log: %s", line)
		}
	}
	if code, out := healthcheck(); code == 0 {
		t.Errorf("healthcheck with the server stopped: exit 0 (%s)", out)
	} else {
		t.Logf("healthcheck with the server stopped: exit %d: %s", code, strings.TrimSpace(out))
	}

	// The server wrote where the image lets it, and nowhere else.
	data := filepath.Join(rootfs, fx.dataDir)
	st, err := os.Stat(filepath.Join(data, "history.db"))
	if err != nil {
		t.Errorf("no history.db in DATA_DIR: %v", err)
	} else if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != fx.uid {
		t.Errorf("history.db is not owned by uid %d", fx.uid)
	}
	want := []string{strings.TrimPrefix(fx.binary, "/"), strings.TrimPrefix(fx.dataDir, "/")}
	if got := listTop(t, rootfs); !sameSet(got, want) {
		t.Errorf("the root file system holds %q after the run, want %q", got, want)
	}
}

// makeRootfs lays out what the runtime stage's COPYs make, read-only except
// the data directory.
func makeRootfs(t *testing.T, rootfs string, fx facts, bin string) {
	t.Helper()
	dst := filepath.Join(rootfs, fx.binary)
	data := filepath.Join(rootfs, fx.dataDir)
	for _, d := range []string{filepath.Dir(dst), data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, fx.uid, fx.gid); err != nil {
		t.Fatal(err)
	}
	// Everything but the data directory is read-only, to the USER and
	// besides (it is root's, as in the image).
	for d := filepath.Dir(dst); ; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
		if d == rootfs {
			break
		}
	}
	if err := os.Chmod(rootfs, 0o555); err != nil {
		t.Fatal(err)
	}
}

func listTop(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	// A nested binary path (/usr/bin/x) counts by its top directory.
	for i := range b {
		b[i], _, _ = strings.Cut(b[i], "/")
	}
	slices.Sort(b)
	return slices.Equal(a, slices.Compact(b))
}

// withEnv is m with k set to v.
func withEnv(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m))
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// lineLog collects a process's output and closes seen at the first line
// holding want.
type lineLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	want    string
	seen    chan struct{}
	once    sync.Once
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.partial = append(l.partial, p...)
	sc := bufio.NewScanner(bytes.NewReader(l.partial))
	for sc.Scan() {
		if strings.Contains(sc.Text(), l.want) {
			l.once.Do(func() { close(l.seen) })
		}
	}
	if i := bytes.LastIndexByte(l.partial, '\n'); i >= 0 {
		l.partial = append(l.partial[:0], l.partial[i+1:]...)
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// netNS starts processes in a private network namespace whose loopback is
// up, so a server there may listen on any port of "all interfaces" without
// meeting the host's. A nil *netNS starts them in the test's own.
//
// Processes inherit the namespace of the thread that forks them, so one
// goroutine, locked to a thread that unshared its network namespace, starts
// them all; that thread is never handed back (it ends with the goroutine).
type netNS struct {
	reqs chan func()
	done chan struct{}
}

func newNetNS() (*netNS, error) {
	ns := &netNS{reqs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(ns.done)
		runtime.LockOSThread() // never unlocked: the thread leaves with us
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for f := range ns.reqs {
			f()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return ns, nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo up: %w", err)
	}
	return nil
}

// start starts cmd in the namespace (in the caller's with a nil ns).
func (ns *netNS) start(cmd *exec.Cmd) error {
	if ns == nil {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	select {
	case ns.reqs <- func() { errc <- cmd.Start() }:
	case <-ns.done:
		return errors.New("the network namespace's thread has ended")
	}
	return <-errc
}

func (ns *netNS) close() {
	close(ns.reqs)
	<-ns.done
}

// workingEngine is "docker" or "podman" when one is in PATH and answers
// (its daemon or service is up), else "".
func workingEngine() string {
	for _, name := range []string{"docker", "podman"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = exec.CommandContext(ctx, path, "info").Run()
		cancel()
		if err == nil {
			return name
		}
	}
	return ""
}

// TestImage builds the image and runs it with its healthcheck, where a
// container engine works; TestRuntimeStage covers the rest without one.
func TestImage(t *testing.T) {
	engine := workingEngine()
	if engine == "" {
		var why []string
		for _, name := range []string{"docker", "podman"} {
			if _, err := exec.LookPath(name); err != nil {
				why = append(why, name+" not in PATH")
			} else {
				why = append(why, name+" info fails (no daemon or service)")
			}
		}
		t.Skipf("no working container engine (%s): the image is not built here; TestRuntimeStage checks the runtime stage only",
			strings.Join(why, ", "))
	}
	root := repoRoot(t)
	fx := loadFacts(t, root)
	tag := fmt.Sprintf("chatserver:imagetest-%d", os.Getpid())
	name := fmt.Sprintf("chatserver-imagetest-%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, engine, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	build := []string{"build", "-t", tag, "."}
	if engine == "podman" {
		build = []string{"build", "--format", "docker", "-t", tag, "."} // OCI images drop HEALTHCHECK
	}
	if out, err := run(build...); err != nil {
		t.Fatalf("%s build: %v\n%s", engine, err, out)
	}
	t.Cleanup(func() { _, _ = run("rmi", "-f", tag) })
	if out, err := run("run", "-d", "--name", name, tag); err != nil {
		t.Fatalf("%s run: %v\n%s", engine, err, out)
	}
	t.Cleanup(func() { _, _ = run("rm", "-f", name) })
	if out, _ := run("inspect", "--format", "{{.Config.User}}", name); out != fmt.Sprintf("%d:%d", fx.uid, fx.gid) {
		t.Errorf("the container's user is %q", out)
	}
	// The engine runs the HEALTHCHECK every --interval; its status is
	// sampled once a second, up to a minute.
	status := ""
	for i := 0; i < 60 && status != "healthy"; i++ {
		status, _ = run("inspect", "--format", "{{.State.Health.Status}}", name)
		if status == "unhealthy" {
			break
		}
		if status != "healthy" {
			time.Sleep(time.Second)
		}
	}
	if status != "healthy" {
		logs, _ := run("logs", name)
		t.Fatalf("health status %q after a minute; logs:\n%s", status, logs)
	}
	if out, err := run("exec", name, fx.binary, "healthcheck"); err != nil {
		t.Errorf("%s exec %s healthcheck: %v %s", engine, fx.binary, err, out)
	}
	if out, err := run("stop", name); err != nil {
		t.Errorf("%s stop: %v %s", engine, err, out)
	}
	if out, _ := run("inspect", "--format", "{{.State.ExitCode}}", name); out != "0" {
		t.Errorf("exit code after stop: %s", out)
	}
}
