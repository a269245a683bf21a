#!/usr/bin/env bash
# Benchmarks the chat server against the Node socket.io 4.8 reference
# (bench/reference/server.js), the same on Bun with @socket.io/bun-engine
# (bench/reference/bun-server.js) and a bare Go WebSocket broadcast server
# (bench/ceiling), driven by cmd/sioload. See bench/README.md.
#
# For each repeat, each scenario runs once per server, the servers taking
# turns (the order rotates with the repeat), each on a fresh process with a
# fresh data directory. The server is pinned to CPU 0 and sioload to CPU 1.
# Everything listens on and connects to 127.0.0.1 only; every server is
# started and stopped by its PID; every step is bounded by a timeout.
#
# Output: a markdown table of medians on stdout and in
# bench/results/latest.md, the raw records in bench/results/latest.jsonl.
#
# Settings (environment): REPEATS (3), SCENARIOS ("idle fanout fanout-light
# fanout-max cursors echo"), SERVERS ("project node bun ceiling"), IDLE_N
# (5000), FANOUT_N (1000), FANOUT_RATE (50), FANOUT_LIGHT_RATE (20: latency
# below saturation), FANOUT_MAX_RATE (400: above what any of them carries,
# for the capacity), CURSORS_N (50), ECHO_N (50), DURATION (8s, fanout,
# cursors and echo), IDLE_HOLD (6s), BUDGET_S (1200: no new run starts after
# this many seconds), KEEP (1: keep the work directory with the logs),
# RESULTS_NAME (latest: the name of the files written in bench/results).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

REPEATS=${REPEATS:-3}
SCENARIOS=${SCENARIOS:-"idle fanout fanout-light fanout-max cursors echo"}
SERVERS=${SERVERS:-"project node bun ceiling"}
IDLE_N=${IDLE_N:-5000}
IDLE_HOLD=${IDLE_HOLD:-6s}
FANOUT_N=${FANOUT_N:-1000}
FANOUT_RATE=${FANOUT_RATE:-50}
FANOUT_LIGHT_RATE=${FANOUT_LIGHT_RATE:-20}
FANOUT_MAX_RATE=${FANOUT_MAX_RATE:-400}
CURSORS_N=${CURSORS_N:-50}
ECHO_N=${ECHO_N:-50}
DURATION=${DURATION:-8s}
BUDGET_S=${BUDGET_S:-1200}
KEEP=${KEEP:-}
RESULTS_NAME=${RESULTS_NAME:-latest}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# sioload: the same client settings for every server (see bench/README.md).
SIOLOAD_COMMON=(-progress 0 -ramp 1000)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatbench.XXXXXX")
RECORDS="$WORK/records.jsonl"
: >"$RECORDS"
SPID=""  # the running server, if any
LPID=""  # the running sioload, if any

trap cleanup EXIT
trap 'exit 130' INT TERM

need go
need node
need taskset
need curl
need timeout

# ---- limits ------------------------------------------------------------------
raise_nofile
if (($(ulimit -n) < IDLE_N + 1024)); then
	echo "run.sh: ulimit -n is $(ulimit -n), below IDLE_N+1024; lower IDLE_N or raise the hard limit" >&2
	exit 1
fi

# ---- build -------------------------------------------------------------------
log "building into $WORK"
export CGO_ENABLED=0
go build -trimpath -o "$WORK/chatserver" .
go build -trimpath -o "$WORK/sioload" ./cmd/sioload
go build -trimpath -o "$WORK/ceiling" ./bench/ceiling
node -e "require.resolve('socket.io')" || { echo "run.sh: node_modules/socket.io is missing (npm ci)" >&2; exit 1; }
if [[ " $SERVERS " == *" bun "* && ! -x node_modules/.bin/bun ]]; then
	echo "run.sh: node_modules/.bin/bun is missing (npm ci installs bun and @socket.io/bun-engine)" >&2
	exit 1
fi


# ---- servers -------------------------------------------------------------------
# start_server KIND PORT LOG: starts it pinned, sets SPID, waits for /healthz.
start_server() {
	local kind=$1 port=$2 out=$3
	case $kind in
	project)
		local data
		data=$(mktemp -d "$WORK/data.XXXXXX")
		taskset -c "$SERVER_CPU" "$WORK/chatserver" --addr "127.0.0.1:$port" --data "$data" >"$out" 2>&1 &
		;;
	node)
		taskset -c "$SERVER_CPU" node "$ROOT/bench/reference/server.js" --port "$port" --host 127.0.0.1 >"$out" 2>&1 &
		;;
	bun)
		taskset -c "$SERVER_CPU" "$ROOT/node_modules/.bin/bun" "$ROOT/bench/reference/bun-server.js" --port "$port" --host 127.0.0.1 >"$out" 2>&1 &
		;;
	ceiling)
		taskset -c "$SERVER_CPU" "$WORK/ceiling" -addr "127.0.0.1:$port" >"$out" 2>&1 &
		;;
	*)
		echo "unknown server $kind" >&2
		return 1
		;;
	esac
	SPID=$!
	local i
	for i in $(seq 100); do
		if curl -sf -m 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$SPID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	log "server $kind did not become ready; log:"
	tail -5 "$out" >&2 || true
	stop_server
	return 1
}


rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user+system clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
# core_ticks N: busy and total ticks of CPU N (steal and guest excluded).
core_ticks() { awk -v c="cpu$1" '$1 == c {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
TCK=$(getconf CLK_TCK)

# ---- one run -----------------------------------------------------------------
# run_one SCENARIO SERVER REP: appends one JSON record to $RECORDS.
run_one() {
	local scenario=$1 kind=$2 rep=$3
	local port tag="$scenario-$kind-$rep"
	port=$(free_port)
	local slog="$WORK/$tag.server.log" out="$WORK/$tag.json" err="$WORK/$tag.err"
	local args limit
	case $scenario in
	idle) args=(-scenario idle -n "$IDLE_N" -duration "$IDLE_HOLD" -timeout 60s); limit=120 ;;
	fanout) args=(-scenario fanout -n "$FANOUT_N" -rate "$FANOUT_RATE" -duration "$DURATION" -timeout 90s); limit=200 ;;
	fanout-light) args=(-scenario fanout -n "$FANOUT_N" -rate "$FANOUT_LIGHT_RATE" -duration "$DURATION" -timeout 90s); limit=200 ;;
	fanout-max) args=(-scenario fanout -n "$FANOUT_N" -rate "$FANOUT_MAX_RATE" -duration "$DURATION" -timeout 120s); limit=240 ;;
	cursors) args=(-scenario cursors -n "$CURSORS_N" -duration "$DURATION" -timeout 30s); limit=90 ;;
	echo) args=(-scenario echo -n "$ECHO_N" -duration "$DURATION" -timeout 30s); limit=90 ;;
	*) echo "unknown scenario $scenario" >&2; return 1 ;;
	esac
	if ! start_server "$kind" "$port" "$slog"; then
		printf '{"scenario":"%s","server":"%s","rep":%d,"rc":-1,"error":"server did not start","result":null}\n' \
			"$scenario" "$kind" "$rep" >>"$RECORDS"
		return 0
	fi
	sleep 0.5
	local rss0 rss1="null" thr1="null" c0 c1 k0 k1 l0="" l1 t0 t1 rc=0
	rss0=$(rss_kib "$SPID")
	c0=$(cpu_ticks "$SPID")
	k0=$(core_ticks "$SERVER_CPU")
	t0=$(date +%s%N)
	timeout -k 5 "$limit" taskset -c "$LOAD_CPU" "$WORK/sioload" -url "http://127.0.0.1:$port" \
		"${SIOLOAD_COMMON[@]}" "${args[@]}" >"$out" 2>"$err" &
	LPID=$!
	# Wait for the phase that is measured: the hold (idle) or the sending.
	local marker="sending" cm="" i
	[[ $scenario == idle ]] && marker="holding for"
	for i in $(seq $((limit * 10))); do
		grep -q "$marker" "$err" 2>/dev/null && break
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "$marker" "$err" 2>/dev/null; then
		cm=$(cpu_ticks "$SPID")
		l0=$(core_ticks "$LOAD_CPU")
		if [[ $scenario == idle ]]; then
			# Sample the server while every connection is open and idle,
			# a few seconds into the hold.
			sleep 3
			rss1=$(rss_kib "$SPID")
			thr1=$(threads "$SPID")
		fi
	fi
	wait "$LPID" || rc=$?
	LPID=""
	t1=$(date +%s%N)
	c1=$(cpu_ticks "$SPID" 2>/dev/null || echo "$c0")
	k1=$(core_ticks "$SERVER_CPU")
	l1=$(core_ticks "$LOAD_CPU")
	local rssEnd
	rssEnd=$(rss_kib "$SPID" 2>/dev/null || echo null)
	stop_server
	local result
	result=$(tail -n 1 "$out" 2>/dev/null || true)
	[[ "$result" == \{* ]] || result=null
	local errline
	errline=$(tail -n 1 "$err" | tr -d '"\\' | tr -cd '[:print:]' | cut -c1-200 || true)
	# shellcheck disable=SC2086
	set -- $k0 $k1
	printf '{"scenario":"%s","server":"%s","rep":%d,"rc":%d,"wall_s":%s,"rss_before_kib":%s,"rss_hold_kib":%s,"rss_end_kib":%s,"threads_hold":%s,"server_cpu_s":%s,"server_cpu_measured_s":%s,"core_busy_pct":%s,"load_core_busy_pct":%s,"stderr":"%s","result":%s}\n' \
		"$scenario" "$kind" "$rep" "$rc" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')" \
		"$rss0" "$rss1" "$rssEnd" "$thr1" \
		"$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.2f", (b-a)/t}')" \
		"$(if [[ -n "$cm" ]]; then awk -v a="$cm" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.2f", (b-a)/t}'; else echo null; fi)" \
		"$(awk -v b0="$1" -v a0="$2" -v b1="$3" -v a1="$4" 'BEGIN{d=a1-a0; printf "%.1f", (d>0 ? 100*(b1-b0)/d : 0)}')" \
		"$(if [[ -n "$l0" ]]; then echo "$l0 $l1" | awk '{d=$4-$2; printf "%.1f", (d>0 ? 100*($3-$1)/d : 0)}'; else echo null; fi)" \
		"$errline" "$result" >>"$RECORDS"
	local summary
	summary=$(node -e '
		const r = JSON.parse(process.argv[1] || "null");
		if (!r) { console.log("no result"); process.exit(); }
		const s = {idle: `connected ${r.connected} still_up ${r.still_up}`,
			fanout: `${r.deliveries_per_sec}/s p50 ${r.latency_ms && r.latency_ms.p50} p99 ${r.latency_ms && r.latency_ms.p99} missing ${r.missing} setup ${r.setup_s}s`,
			cursors: `${r.relays_per_sec}/s drop ${r.drop_pct}% p99 ${r.latency_ms && r.latency_ms.p99}`,
			echo: `${r.acks_per_sec}/s p50 ${r.rtt_ms && r.rtt_ms.p50} p99 ${r.rtt_ms && r.rtt_ms.p99}`}[r.scenario];
		console.log(s + (r.error_count ? ` errors ${r.error_count}` : ""));' "$result" 2>/dev/null || echo '?')
	[[ $scenario == idle ]] && summary+=" rss ${rss0}->${rss1} KiB"
	log "$tag: rc=$rc $summary"
}

# ---- the run -------------------------------------------------------------------
read -r -a servers <<<"$SERVERS"
read -r -a scenarios <<<"$SCENARIOS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "repeats=$REPEATS scenarios=[${scenarios[*]}] servers=[${servers[*]}] load=$LOAD_START"
skipped=0
for rep in $(seq "$REPEATS"); do
	for scenario in "${scenarios[@]}"; do
		n=${#servers[@]}
		for ((k = 0; k < n; k++)); do
			kind=${servers[$(((k + rep - 1) % n))]}
			if (($(date +%s) - START > BUDGET_S)); then
				skipped=$((skipped + 1))
				printf '{"scenario":"%s","server":"%s","rep":%d,"rc":-2,"error":"skipped: over BUDGET_S","result":null}\n' \
					"$scenario" "$kind" "$rep" >>"$RECORDS"
				continue
			fi
			run_one "$scenario" "$kind" "$rep"
		done
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
((skipped == 0)) || log "$skipped runs skipped: over the ${BUDGET_S}s budget"

# ---- report --------------------------------------------------------------------
mkdir -p bench/results
cat >"$WORK/meta.json" <<EOF
{"date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "nproc":$(nproc),
 "cpu":"$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo | tr -d '"\\')",
 "kernel":"$(uname -r)",
 "mem_gib":$(awk '/^MemTotal:/ {printf "%.1f", $2/1048576}' /proc/meminfo),
 "go":"$(go env GOVERSION)",
 "node":"$(node --version)",
 "socketio":"$(node -p 'require(require("path").join(require("path").dirname(require.resolve("socket.io")),"..","package.json")).version')",
 "bun":"$(node_modules/.bin/bun --version 2>/dev/null || true)",
 "bun_engine":"$(node -p 'require("@socket.io/bun-engine/package.json").version' 2>/dev/null || true)",
 "commit":"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench' 2>/dev/null || echo '+dirty')",
 "repeats":$REPEATS, "idle_n":$IDLE_N, "idle_hold":"$IDLE_HOLD", "fanout_n":$FANOUT_N, "fanout_rate":$FANOUT_RATE, "fanout_light_rate":$FANOUT_LIGHT_RATE, "fanout_max_rate":$FANOUT_MAX_RATE,
 "cursors_n":$CURSORS_N, "echo_n":$ECHO_N, "duration":"$DURATION",
 "server_cpu":$SERVER_CPU, "load_cpu":$LOAD_CPU,
 "sioload":"${SIOLOAD_COMMON[*]}",
 "load_start":"$LOAD_START", "load_end":"$LOAD_END",
 "elapsed_s":$(($(date +%s) - START))}
EOF
cp "$RECORDS" "bench/results/$RESULTS_NAME.jsonl"
node bench/summarize.js "$WORK/meta.json" "$RECORDS" >"bench/results/$RESULTS_NAME.md"
cat "bench/results/$RESULTS_NAME.md"
log "done in $(($(date +%s) - START))s; wrote bench/results/$RESULTS_NAME.md and $RESULTS_NAME.jsonl"
