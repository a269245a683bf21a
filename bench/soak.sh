#!/usr/bin/env bash
# Soak: a bounded run of connection churn against the built server, then a
# bounded wait for it to come back to where it started. Users connect over
# WebSocket and over polling (one sioload each), register, join a room of
# about 10, answer an rtt, chat (SOAK_CHAT messages each) and go after
# SOAK_OPEN/SOAK_RATE seconds: half leave as a page that is left, the
# other half (SOAK_VANISH) vanish without a close (a reset TCP connection,
# an abandoned polling session), which the server must notice and clean up
# by itself.
#
# Every second the server's RSS, threads and open descriptors (from /proc)
# and its goroutines go to bench/results/soak.csv (soak-pprof.csv with
# SOAK_PPROF=1). Goroutines come from
# the server's /metrics (go_goroutines) when it has that endpoint; with
# SOAK_PPROF=1 the server is bench/profile instead (the same app.Run with
# net/http/pprof on a second loopback port), whose goroutine count is used.
# After the churn the script waits, at least SOAK_SETTLE_MIN seconds (past
# the heartbeat timeout) and at most SOAK_SETTLE (past the 2-minute
# recovery window, for which dropped sockets are kept), for RSS,
# descriptors and goroutines to come back near their baseline, stops the
# server (a session still open then is one the server lost track of: the
# shutdown warns that it did not close), greps the server log for
# warnings and errors, and writes bench/results/soak.md (soak-pprof.md).
#
#   make soak                         # SOAK_SECONDS=300
#   SOAK_SECONDS=120 bench/soak.sh
#
# Loopback only; every process by PID, every step bounded by timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
SOAK_SECONDS=${SOAK_SECONDS:-300}
SOAK_RATE=${SOAK_RATE:-20}       # connections/s per transport
SOAK_OPEN=${SOAK_OPEN:-100}      # about this many open at a time per transport
SOAK_CHAT=${SOAK_CHAT:-3}        # messages each user posts while open
SOAK_VANISH=${SOAK_VANISH:-0.5}  # fraction that vanish instead of leaving
SOAK_SETTLE=${SOAK_SETTLE:-180}  # longest wait for the return to baseline, s
# Shortest wait: past the heartbeat timeout (25 + 20 s), by which every
# vanished session must be gone, so that none is left for the shutdown.
SOAK_SETTLE_MIN=${SOAK_SETTLE_MIN:-60}
SOAK_PPROF=${SOAK_PPROF:-0}
BIN=${BIN:-bin/chatserver}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# Near baseline: descriptors and goroutines within these counts of it, RSS
# within SOAK_RSS_PCT % or SOAK_RSS_KIB KiB of it, whichever is more.
SOAK_FD_SLACK=${SOAK_FD_SLACK:-5}
SOAK_G_SLACK=${SOAK_G_SLACK:-5}
SOAK_RSS_PCT=${SOAK_RSS_PCT:-50}
SOAK_RSS_KIB=${SOAK_RSS_KIB:-10240}
# Log lines at WARN or ERROR that are expected (an extended regex).
SOAK_EXPECTED=${SOAK_EXPECTED:-'msg="open-file limit"'}
OUT=bench/results
NAME=soak
if [[ "$SOAK_PPROF" == 1 ]]; then NAME=soak-pprof; fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatsoak.XXXXXX")
SPID=""
LPID=""
LPID2=""
SAMPLER=""

for v in SOAK_SECONDS SOAK_RATE SOAK_OPEN SOAK_CHAT SOAK_SETTLE SOAK_SETTLE_MIN; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v=${!v}: want a whole number" >&2; exit 2; }
done
((SOAK_SECONDS >= 10 && SOAK_SECONDS <= 3600)) || { echo "SOAK_SECONDS=$SOAK_SECONDS: want 10..3600" >&2; exit 2; }
((SOAK_SETTLE <= 1800)) || { echo "SOAK_SETTLE=$SOAK_SETTLE: want at most 1800" >&2; exit 2; }

soak_cleanup() {
	if [[ -n "$SAMPLER" ]] && kill -0 "$SAMPLER" 2>/dev/null; then kill -TERM "$SAMPLER" 2>/dev/null || true; fi
	if [[ -n "$LPID2" ]] && kill -0 "$LPID2" 2>/dev/null; then kill -TERM "$LPID2" 2>/dev/null || true; fi
	cleanup
}
trap soak_cleanup EXIT
trap 'exit 130' INT TERM
raise_nofile


log "building"
go build -trimpath -o "$WORK/sioload" ./cmd/sioload
mkdir -p "$OUT"
if [[ "$SOAK_PPROF" == 1 ]]; then
	go build -trimpath -o "$WORK/profile" ./bench/profile
	server_desc="bench/profile (app.Run with pprof on a second loopback port)"
	start_profile_server
else
	[[ -x "$BIN" ]] || { echo "$BIN not built (make build)" >&2; exit 1; }
	server_desc="$BIN"
	PORT=$(free_port)
	PPORT=""
	mkdir -p "$WORK/data"
	taskset -c "$SERVER_CPU" "$BIN" --addr "127.0.0.1:$PORT" --data "$WORK/data" >"$WORK/server.log" 2>&1 &
	SPID=$!
	wait_for_line "$WORK/server.log" 'msg=listening' "$SPID" 100 || { echo "server did not start" >&2; tail "$WORK/server.log" >&2; exit 1; }
fi
log "server $SPID on 127.0.0.1:$PORT: $server_desc"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status" 2>/dev/null; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$SPID/status" 2>/dev/null; }
fds() { find "/proc/$SPID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
sockets() { find "/proc/$SPID/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' 2>/dev/null | wc -l; }
# goroutines: from pprof (SOAK_PPROF=1) or /metrics; empty when neither
# (/metrics is asked once, and not again if it has no go_goroutines).
METRICS=0
if [[ -z "$PPORT" ]] && curl -sf -m 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep -q '^go_goroutines '; then
	METRICS=1
fi
goroutines() {
	if [[ -n "$PPORT" ]]; then
		curl -sf -m 2 "http://127.0.0.1:$PPORT/debug/pprof/goroutine?debug=1" | awk 'NR==1 {print $NF}'
	elif ((METRICS)); then
		curl -sf -m 2 "http://127.0.0.1:$PORT/metrics" | awk '$1 == "go_goroutines" {printf "%d", $2}'
	fi
}
# live_kib (SOAK_PPROF=1): the Go heap in use right after a forced
# collection; asked only at the baseline and at the end, since it collects.
live_kib() {
	[[ -n "$PPORT" ]] || return 0
	curl -sf -m 10 "http://127.0.0.1:$PPORT/debug/pprof/heap?debug=1&gc=1" | awk '/^# HeapInuse = / {printf "%d", $4 / 1024}'
}
sample() { printf '%s,%s,%s,%s,%s,%s\n' "$(rss_kib)" "$(threads)" "$(fds)" "$(sockets)" "$(goroutines || true)" "$(cat "$WORK/phase")"; }

# The sampler: one line a second, until stopped (at most the whole run).
echo baseline >"$WORK/phase"
CSV="$OUT/$NAME.csv"
echo "t_s,rss_kib,threads,fds,sockets,goroutines,phase" >"$CSV"
(
	t0=$(date +%s)
	for _ in $(seq $((SOAK_SECONDS + SOAK_SETTLE + 300))); do
		kill -0 "$SPID" 2>/dev/null || exit 0
		printf '%s,%s\n' "$(($(date +%s) - t0))" "$(sample)" >>"$CSV"
		sleep 1
	done
) &
SAMPLER=$!

# Baseline: the idle server after 5 s.
sleep 5
IFS=, read -r b_rss b_thr b_fd b_sock b_g _ <<<"$(sample)"
b_live=$(live_kib)
log "baseline: RSS $b_rss KiB, $b_thr threads, $b_fd descriptors ($b_sock sockets), goroutines ${b_g:--}, heap in use ${b_live:--} KiB"

echo churn >"$WORK/phase"
lifetime=$(awk -v n="$SOAK_OPEN" -v r="$SOAK_RATE" 'BEGIN{printf "%g", n/r}')
log "churn: $SOAK_RATE/s per transport (websocket, polling) for ${SOAK_SECONDS}s, each open ${lifetime}s, $SOAK_CHAT messages, $SOAK_VANISH vanishing"
churn() { # transport out
	timeout -k 5 $((SOAK_SECONDS + 120)) taskset -c "$LOAD_CPU" "$WORK/sioload" -url "http://127.0.0.1:$PORT" \
		-scenario churn -transport "$1" -rate "$SOAK_RATE" -n "$SOAK_OPEN" -duration "${SOAK_SECONDS}s" \
		-chat "$SOAK_CHAT" -vanish "$SOAK_VANISH" -timeout 30s -progress 30s >"$2.json" 2>"$2.err"
}
churn websocket "$WORK/ws" &
LPID=$!
churn polling "$WORK/poll" &
LPID2=$!
ws_rc=0
poll_rc=0
wait "$LPID" || ws_rc=$?
LPID=""
wait "$LPID2" || poll_rc=$?
LPID2=""
IFS=, read -r e_rss e_thr e_fd e_sock e_g _ <<<"$(sample)"
log "churn done (sioload exit $ws_rc, $poll_rc): RSS $e_rss KiB, $e_fd descriptors, goroutines ${e_g:--}"

# Settle: wait, at most SOAK_SETTLE s, for everything to come back near
# the baseline (checked once a second).
echo settle >"$WORK/phase"
near() { # value base slack
	[[ -z "$1" || -z "$2" ]] && return 0
	(($1 <= $2 + $3))
}
rss_slack=$((b_rss * SOAK_RSS_PCT / 100))
if ((rss_slack < SOAK_RSS_KIB)); then rss_slack=$SOAK_RSS_KIB; fi
settled=-1
t_settle=$(date +%s)
for _ in $(seq 0 "$SOAK_SETTLE"); do
	IFS=, read -r s_rss s_thr s_fd s_sock s_g _ <<<"$(sample)"
	if (($(date +%s) - t_settle >= SOAK_SETTLE_MIN)) &&
		near "$s_fd" "$b_fd" "$SOAK_FD_SLACK" && near "$s_g" "$b_g" "$SOAK_G_SLACK" && near "$s_rss" "$b_rss" "$rss_slack"; then
		settled=$(($(date +%s) - t_settle))
		break
	fi
	(($(date +%s) - t_settle >= SOAK_SETTLE)) && break
	sleep 1
done
waited=$(($(date +%s) - t_settle))
# When each measure came back near its baseline, from the samples.
back_at() { # column base slack
	awk -F, -v c="$1" -v b="$2" -v s="$3" -v t0="$4" 'NR > 1 && $7 == "settle" && $c != "" && $c <= b + s {print $1 - t0; exit}' "$CSV"
}
t_settle_csv=$(awk -F, 'NR > 1 && $7 == "settle" {print $1; exit}' "$CSV")
t_settle_csv=${t_settle_csv:-0}
fd_back=$(back_at 4 "$b_fd" "$SOAK_FD_SLACK" "$t_settle_csv")
g_back=""
[[ -n "$b_g" ]] && g_back=$(back_at 6 "$b_g" "$SOAK_G_SLACK" "$t_settle_csv")
rss_back=$(back_at 2 "$b_rss" "$rss_slack" "$t_settle_csv")
# A wait that ended before the sampler's first settle line: the last check.
if [[ -z "$fd_back" ]] && near "$s_fd" "$b_fd" "$SOAK_FD_SLACK"; then fd_back=$waited; fi
if [[ -n "$b_g" && -z "$g_back" ]] && near "$s_g" "$b_g" "$SOAK_G_SLACK"; then g_back=$waited; fi
if [[ -z "$rss_back" ]] && near "$s_rss" "$b_rss" "$rss_slack"; then rss_back=$waited; fi
peak() { awk -F, -v c="$1" 'NR > 1 && $7 == "churn" && $c != "" && ($c > m || m == "") {m = $c} END {print m}' "$CSV"; }
p_rss=$(peak 2)
p_thr=$(peak 3)
p_fd=$(peak 4)
p_g=$(peak 6)
kill -TERM "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=""
s_live=$(live_kib)

stop_server
cp "$WORK/server.log" "$OUT/$NAME-server.log"
# Warnings and errors other than the expected ones, by message.
unexpected=$(grep -E 'level=(WARN|ERROR)|panic|fatal error' "$WORK/server.log" | grep -vE "$SOAK_EXPECTED" |
	sed -E 's/^time=[^ ]+ //' | sed -E 's/(sid|err|remote)=("[^"]*"|[^ ]+)/\1=…/g' | sort | uniq -c | sort -rn || true)
n_unexpected=$(printf '%s' "$unexpected" | grep -c . || true)
shutdown=$(grep -o 'msg="shutdown complete".*' "$WORK/server.log" | head -1 || true)

verdict() { # back-at, label
	if [[ -n "$1" ]]; then echo "yes, ${1} s after"; else echo "**no**, not within ${waited} s"; fi
}
g_verdict="(no goroutine count: the server has neither /metrics nor pprof; SOAK_PPROF=1)"
[[ -n "$b_g" ]] && g_verdict=$(verdict "$g_back")

row() { # label base peak end settled verdict
	printf '| %s | %s | %s | %s | %s | %s |\n' "$@"
}
churn_row() { # label json rc
	local j
	j=$(tail -n 1 "$2.json" 2>/dev/null || true)
	if [[ -z "$j" ]]; then
		printf '| %s | sioload exit %s, no result: %s | | | | | | |\n' "$1" "$3" "$(tail -n 1 "$2.err" 2>/dev/null)"
		return
	fi
	node -e '
		const r = JSON.parse(process.argv[1]);
		const errs = Object.entries(r.errors || {}).map(([k, v]) => v + "× " + k).join("; ") || "none";
		console.log(`| ${process.argv[2]} | ${r.started} | ${r.completed} | ${r.failed} | ${r.left} / ${r.vanished} | ${r.chat_acked} / ${r.chat_sent} (${r.chat_rejected} refused), ${r.chat_received} received | ${r.setup_ms.p50} / ${r.setup_ms.p99} | ${errs} |`);
	' "$j" "$1"
}

{
	echo "## Soak — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "bench/soak.sh on $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); project at $(git rev-parse --short HEAD); server: $server_desc with its defaults (ping 25 s + 20 s, recovery window 2 min), on CPU $SERVER_CPU; sioload on CPU $LOAD_CPU. Samples every second: \`$CSV\`."
	echo
	echo "Churn for $SOAK_SECONDS s: $SOAK_RATE connections/s over WebSocket and $SOAK_RATE/s over polling (EIO 4), each registering, joining a room of about 10, answering an rtt, posting $SOAK_CHAT messages and going after $lifetime s (about $SOAK_OPEN open per transport); a fraction $SOAK_VANISH vanishes without a close (WebSocket: TCP reset; polling: stops polling, its request cut), the rest leave with a Socket.IO disconnect."
	echo
	echo "| transport | started | completed | failed | left / vanished | messages acked / sent, received | setup p50 / p99, ms | sioload errors |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	churn_row websocket "$WORK/ws" "$ws_rc"
	churn_row polling "$WORK/poll" "$poll_rc"
	echo
	echo "| server | baseline | peak in churn | end of churn | after ${waited} s | back near baseline |"
	echo "| --- | ---: | ---: | ---: | ---: | --- |"
	row "RSS, KiB (near: +$rss_slack)" "$b_rss" "$p_rss" "$e_rss" "$s_rss" "$(verdict "$rss_back")"
	row "open descriptors (near: +$SOAK_FD_SLACK)" "$b_fd" "$p_fd" "$e_fd" "$s_fd" "$(verdict "$fd_back")"
	row "goroutines (near: +$SOAK_G_SLACK)" "${b_g:--}" "${p_g:--}" "${e_g:--}" "${s_g:--}" "$g_verdict"
	row "threads" "$b_thr" "$p_thr" "$e_thr" "$s_thr" ""
	if [[ -n "$b_live" ]]; then
		row "Go heap in use after a forced GC, KiB" "$b_live" "" "" "$s_live" "(asked at the baseline and at the end only)"
	fi
	echo
	if ((settled >= 0)); then
		echo "All measured figures were near the baseline when the wait ended, $settled s after the churn (the wait is at least SOAK_SETTLE_MIN=$SOAK_SETTLE_MIN s)."
	else
		echo "Not everything was back near the baseline within $waited s (see the last column)."
	fi
	echo
	if ((n_unexpected == 0)); then
		echo "Server log: no warnings or errors besides the expected (\`$SOAK_EXPECTED\`); \`${shutdown:-no shutdown line}\`."
	else
		echo "Server log: warnings and errors besides the expected (\`$SOAK_EXPECTED\`), by count:"
		echo
		echo '```'
		echo "$unexpected" | head -20
		echo '```'
	fi
} >"$OUT/$NAME.md"
cat "$OUT/$NAME.md"
((ws_rc == 0 && poll_rc == 0))
