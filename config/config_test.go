package config

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.MaxPayload != 1<<20 || c.DataDir != "data" || len(c.AllowedOrigins) != 0 ||
		c.PingInterval != 25*time.Second || c.PingTimeout != 20*time.Second || c.ShutdownTimeout != 10*time.Second ||
		c.RecoveryWindow != 2*time.Minute || c.HTTPReadTimeout != time.Minute || c.HTTPIdleTimeout != time.Minute ||
		c.MaxSessionsPerAddr != 1000 || c.MaxPending != 2048 || len(c.TrustedProxies) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvironmentFallbackAndFlagPrecedence(t *testing.T) {
	e := env(map[string]string{"ADDR": ":9000", "DATA_DIR": "/tmp/x", "CORS_ORIGINS": "https://a.example, https://b.example/", "PING_INTERVAL": "5s"})
	c, err := Parse([]string{"--addr", "127.0.0.1:7000"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" {
		t.Errorf("flag should win over ADDR: %q", c.Addr)
	}
	if c.DataDir != "/tmp/x" || c.PingInterval != 5*time.Second {
		t.Errorf("environment not used: %+v", c)
	}
	if got := strings.Join(c.AllowedOrigins, "|"); got != "https://a.example|https://b.example" {
		t.Errorf("origins: %q", got)
	}
}

func TestRecoveryWindow(t *testing.T) {
	c, err := Parse([]string{"--recovery-window", "0"}, env(nil), io.Discard)
	if err != nil || c.RecoveryWindow != 0 {
		t.Fatalf("--recovery-window 0: %v, %v", c.RecoveryWindow, err)
	}
	var b strings.Builder
	c.Print(&b)
	if !strings.Contains(b.String(), "recovery-window=off") {
		t.Errorf("Print with recovery off: %s", b.String())
	}
	if _, err := Parse([]string{"--recovery-window", "-1s"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--recovery-window") {
		t.Errorf("negative window: %v", err)
	}
	c, err = Parse(nil, env(map[string]string{"RECOVERY_WINDOW": "30s"}), io.Discard)
	if err != nil || c.RecoveryWindow != 30*time.Second {
		t.Errorf("RECOVERY_WINDOW=30s: %v, %v", c.RecoveryWindow, err)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"PING_TIMEOUT": "soon"}, want: "PING_TIMEOUT"},
		{args: []string{"--max-payload", "10"}, want: "max-payload"},
		{args: []string{"--ping-interval", "-1s"}, want: "positive"},
		{args: []string{"extra"}, want: "unexpected argument"},
		{args: []string{"--http-read-timeout", "20s"}, want: "--http-read-timeout 20s must exceed --ping-interval 25s"},
		{env: map[string]string{"HTTP_IDLE_TIMEOUT": "0s"}, want: "positive"},
		{args: []string{"--trusted-proxies", "10.0.0.0/8,nginx"}, want: `--trusted-proxies: "nginx" is neither an IP address nor a CIDR`},
		{args: []string{"--max-sessions-per-address", "-1"}, want: "must not be negative"},
		{env: map[string]string{"MAX_PENDING_CONNECTIONS": "many"}, want: "MAX_PENDING_CONNECTIONS"},
		{args: []string{"--gc-headroom", "-1"}, want: "--gc-headroom -1 must be 0 to 65536 (MiB)"},
		{env: map[string]string{"GC_HEADROOM": "lots"}, want: "GC_HEADROOM"},
		{args: []string{"--metrics=false", "--metrics-addr", "127.0.0.1:9100"}, want: "--metrics-addr needs --metrics"},
		{args: []string{"--log-format", "xml"}, want: `--log-format "xml" must be text or json`},
		{env: map[string]string{"LOG_LEVEL": "loud"}, want: "LOG_LEVEL"},
	} {
		_, err := Parse(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%v, %v) = %v, want error mentioning %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestLogSettings(t *testing.T) {
	c, err := Parse([]string{"--log-level", "debug"}, env(map[string]string{"LOG_FORMAT": "json", "LOG_LEVEL": "error"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelDebug || c.LogFormat != "json" {
		t.Fatalf("level %v format %q", c.LogLevel, c.LogFormat)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Parse([]string{"--trusted-proxies", " 10.1.2.3/8, 127.0.0.1 ,::1,::ffff:192.0.2.1"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 127.0.0.1/32 ::1/128 192.0.2.1/32" {
		t.Fatalf("prefixes %v", got)
	}
	var b strings.Builder
	c.Print(&b)
	if !strings.Contains(b.String(), "trusted-proxies=10.0.0.0/8,127.0.0.1/32,::1/128,192.0.2.1/32") {
		t.Errorf("Print: %s", b.String())
	}
}

func TestPrintShowsEverySetting(t *testing.T) {
	c, _ := Parse(nil, env(nil), io.Discard)
	var b strings.Builder
	c.Print(&b)
	for _, want := range []string{"addr=:8080", "same origin only", "max-payload=1048576", "data=data", "ping-interval=25s", "http-read-timeout=1m0s", "http-idle-timeout=1m0s",
		"max-sessions-per-address=1000", "max-pending-connections=2048", "gc-headroom=16MiB", "trusted-proxies=none", "metrics=/metrics",
		"log-level=info", "log-format=text"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Print output %q lacks %q", b.String(), want)
		}
	}
}

func TestICEServers(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil || c.ICEServers != nil {
		t.Fatalf("default ICE servers = %v, %v; want none", c.ICEServers, err)
	}
	c, err = Parse([]string{"--ice-servers", "stun:stun.example.com:3478, stuns:b.example.com"}, env(nil), io.Discard)
	if err != nil || len(c.ICEServers) != 2 || c.ICEServers[0].URLs[0] != "stun:stun.example.com:3478" || c.ICEServers[1].URLs[0] != "stuns:b.example.com" {
		t.Fatalf("URL list: %+v, %v", c.ICEServers, err)
	}
	js := `[{"urls":"stun:a.example.com"},{"urls":["turn:t.example.com:3478?transport=udp","turns:t.example.com"],"username":"u","credential":"secret"}]`
	c, err = Parse(nil, env(map[string]string{"ICE_SERVERS": js}), io.Discard)
	if err != nil || len(c.ICEServers) != 2 || len(c.ICEServers[1].URLs) != 2 || c.ICEServers[1].Username != "u" || c.ICEServers[1].Credential != "secret" {
		t.Fatalf("ICE_SERVERS JSON: %+v, %v", c.ICEServers, err)
	}
	var b strings.Builder
	c.Print(&b)
	if !strings.Contains(b.String(), "ice-servers=stun:a.example.com,turn:t.example.com:3478?transport=udp,turns:t.example.com") || strings.Contains(b.String(), "secret") {
		t.Errorf("Print: %s", b.String())
	}
	for _, bad := range []string{"http://stun.example.com", "stun:", `[{"urls":5}]`, `[{"urls":[]}]`, `[{"url":"stun:x"}]`, `[not json`, "stun:a b"} {
		if _, err := Parse([]string{"--ice-servers", bad}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--ice-servers") {
			t.Errorf("--ice-servers %q: %v, want an error naming the flag", bad, err)
		}
	}
}
