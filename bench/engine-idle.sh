#!/usr/bin/env bash
# Memory per idle Engine.IO session: the project's Engine.IO server
# (realtime/internal/engineio, served alone by `conformance -engine` as an
# echo server) against Node's engine.io (bench/reference/engine-echo.js),
# driven by `sioload -engine -scenario idle`.
#
# For each transport (websocket, polling) at N sessions, and websocket at
# BIG_N, each server runs on a fresh process pinned to CPU 0 (sioload on
# CPU 1), is warmed with a handful of sessions, and its VmRSS is read
# before, while the N sessions are up and idle (SETTLE_S after the last one
# opened), and SETTLE_S after they closed. sioload's final check (a message
# echoed by every session) must pass for a row to count. Everything listens
# on and connects to 127.0.0.1 only; servers are started and stopped by
# their PID; every step is bounded by a timeout.
#
# Output: a markdown table on stdout; progress on stderr.
#
# Settings (environment): N (5000), BIG_N (10000; 0 = skip), RAMP (1000
# sessions/s), EIO (4), SETTLE_S (5), SERVERS ("project node"), BUDGET_S
# (900: no new run starts after this many seconds), KEEP (1: keep the work
# directory with the logs), SERVER_CPU (0), LOAD_CPU (1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

N=${N:-5000}
BIG_N=${BIG_N:-10000}
RAMP=${RAMP:-1000}
EIO=${EIO:-4}
SETTLE_S=${SETTLE_S:-5}
SERVERS=${SERVERS:-"project node"}
BUDGET_S=${BUDGET_S:-900}
KEEP=${KEEP:-}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
WARM_N=20
# The hold outlasts the settle time, so the sessions are idle when sampled.
HOLD_S=$((SETTLE_S + 4))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/engineidle.XXXXXX")
RECORDS="$WORK/records.tsv"
: >"$RECORDS"
SPID="" # the running server, if any
LPID="" # the running sioload (its timeout wrapper), if any

trap cleanup EXIT
trap 'exit 130' INT TERM

need go
need node
need taskset
need curl
need timeout

if ! [[ "$RAMP" =~ ^[1-9][0-9]*$ && "$N" =~ ^[1-9][0-9]*$ && "$BIG_N" =~ ^[0-9]+$ && "$SETTLE_S" =~ ^[1-9][0-9]*$ ]]; then
	echo "engine-idle.sh: N, RAMP and SETTLE_S must be positive integers, BIG_N a non-negative one" >&2
	exit 2
fi

# ---- limits ------------------------------------------------------------------
# sioload and each server hold one descriptor per session (a polling session
# briefly two, at the final check).
raise_nofile
FDS=$(ulimit -n)
if ((FDS < N + 512)); then
	echo "engine-idle.sh: ulimit -n is $FDS, below N+512; lower N or raise the hard limit" >&2
	exit 1
fi
if ((BIG_N > 0 && FDS < BIG_N + 512)); then
	log "ulimit -n is $FDS: skipping BIG_N=$BIG_N (needs $((BIG_N + 512)))"
	BIG_N=0
fi

# ---- build -------------------------------------------------------------------
log "building into $WORK"
export CGO_ENABLED=0
timeout 600 go build -trimpath -o "$WORK/conformance" ./cmd/conformance
timeout 600 go build -trimpath -o "$WORK/sioload" ./cmd/sioload
node -e "require.resolve('engine.io')" || { echo "engine-idle.sh: node_modules/engine.io is missing (npm ci)" >&2; exit 1; }


# ---- servers -----------------------------------------------------------------
# start_server KIND PORT LOG: starts it pinned, sets SPID, waits until it
# answers HTTP on /engine.io/ (400 without a handshake query).
start_server() {
	local kind=$1 port=$2 out=$3
	case $kind in
	project)
		taskset -c "$SERVER_CPU" "$WORK/conformance" -engine -addr "127.0.0.1:$port" \
			-ping-interval 25s -ping-timeout 20s -eio3 >"$out" 2>&1 &
		;;
	node)
		taskset -c "$SERVER_CPU" node "$ROOT/bench/reference/engine-echo.js" --port "$port" --host 127.0.0.1 >"$out" 2>&1 &
		;;
	*)
		echo "unknown server $kind" >&2
		return 1
		;;
	esac
	SPID=$!
	local i code
	for i in $(seq 100); do
		code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/engine.io/" 2>/dev/null || true)
		if [[ -n "$code" && "$code" != 000 ]]; then return 0; fi
		if ! kill -0 "$SPID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	log "server $kind did not become ready; log:"
	tail -5 "$out" >&2 || true
	stop_server
	return 1
}


rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# sioload_run PORT LIMIT OUT ERR ARGS...: sioload pinned to LOAD_CPU,
# bounded by LIMIT seconds, in the background (LPID).
sioload_run() {
	local port=$1 limit=$2 out=$3 err=$4
	shift 4
	timeout -k 5 "$limit" taskset -c "$LOAD_CPU" "$WORK/sioload" -engine -url "http://127.0.0.1:$port" \
		-eio "$EIO" -progress 0 "$@" >"$out" 2>"$err" &
	LPID=$!
}

# json_field FILE KEY: a top-level number or boolean of sioload's result line.
json_field() {
	timeout 10 node -e '
		try {
			const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
			const v = JSON.parse(lines[lines.length - 1])[process.argv[2]];
			console.log(v === undefined ? "null" : v);
		} catch (e) { console.log("null"); }' "$1" "$2"
}

# ---- one run -----------------------------------------------------------------
# run_one SERVER TRANSPORT N: appends one line to $RECORDS:
# server transport n rss_before rss_up rss_closed threads_up fds_up still_up rc
run_one() {
	local kind=$1 transport=$2 n=$3
	local tag="$kind-$transport-$n" port
	port=$(free_port)
	local slog="$WORK/$tag.server.log" rc=0
	if ! start_server "$kind" "$port" "$slog"; then
		printf '%s\t%s\t%d\t0\t0\t0\t0\t0\t0\t-1\n' "$kind" "$transport" "$n" >>"$RECORDS"
		return 0
	fi
	# Warm up: a handful of sessions through the whole cycle.
	sioload_run "$port" 60 "$WORK/$tag.warm.json" "$WORK/$tag.warm.err" \
		-transport "$transport" -n "$WARM_N" -ramp 0 -duration 500ms -timeout 20s
	wait "$LPID" || rc=$?
	LPID=""
	if ((rc != 0)); then
		log "$tag: warm-up failed (rc=$rc): $(tail -n 1 "$WORK/$tag.warm.err")"
		stop_server
		printf '%s\t%s\t%d\t0\t0\t0\t0\t0\t0\t%d\n' "$kind" "$transport" "$n" "$rc" >>"$RECORDS"
		return 0
	fi
	sleep 2
	local rss0 rss1=0 rss2 thr1=0 fd1=0
	rss0=$(rss_kib "$SPID")

	local out="$WORK/$tag.json" err="$WORK/$tag.err"
	local limit=$((n / RAMP + HOLD_S + 90))
	sioload_run "$port" "$limit" "$out" "$err" -transport "$transport" -n "$n" -ramp "$RAMP" \
		-duration "${HOLD_S}s" -timeout 60s
	local i
	for i in $(seq $((limit * 10))); do
		grep -q "holding for" "$err" 2>/dev/null && break
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "holding for" "$err" 2>/dev/null; then
		sleep "$SETTLE_S"
		rss1=$(rss_kib "$SPID")
		thr1=$(threads "$SPID")
		fd1=$(fds "$SPID")
	fi
	rc=0
	wait "$LPID" || rc=$?
	LPID=""
	# The sessions are closed (sioload closes them politely before it exits).
	sleep "$SETTLE_S"
	rss2=$(rss_kib "$SPID")
	stop_server
	local up
	up=$(json_field "$out" still_up)
	[[ "$up" =~ ^[0-9]+$ ]] || up=0
	printf '%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n' "$kind" "$transport" "$n" \
		"$rss0" "$rss1" "$rss2" "$thr1" "$fd1" "$up" "$rc" >>"$RECORDS"
	log "$tag: rc=$rc still_up $up/$n rss ${rss0} -> ${rss1} KiB (closed: ${rss2}) threads $thr1 fds $fd1$( ((rc == 0)) || echo " ($(tail -n 1 "$err" | cut -c1-200))")"
}

# ---- the run -----------------------------------------------------------------
read -r -a servers <<<"$SERVERS"
configs=("websocket $N" "polling $N")
((BIG_N > 0)) && configs+=("websocket $BIG_N")
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "servers=[${servers[*]}] configs=[${configs[*]}] EIO=$EIO ramp=$RAMP settle=${SETTLE_S}s fds=$FDS load=$LOAD_START"
for cfg in "${configs[@]}"; do
	read -r transport n <<<"$cfg"
	for kind in "${servers[@]}"; do
		if (($(date +%s) - START > BUDGET_S)); then
			log "over BUDGET_S=${BUDGET_S}s: skipping $kind $transport $n"
			continue
		fi
		run_one "$kind" "$transport" "$n"
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------
dirty=""
git diff --quiet HEAD -- realtime cmd 2>/dev/null || dirty="+dirty"
printf '## Idle Engine.IO sessions: memory (VmRSS)\n\n'
printf '%s, %s CPUs (%s), Go %s, Node %s, engine.io %s, commit %s%s. ' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
	"$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(go env GOVERSION)" "$(node --version)" \
	"$(node -p 'JSON.parse(require("fs").readFileSync("node_modules/engine.io/package.json")).version')" \
	"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$dirty"
printf 'Server on CPU %s, sioload on CPU %s; EIO %s, pingInterval 25 s, pingTimeout 20 s; ' "$SERVER_CPU" "$LOAD_CPU" "$EIO"
printf 'ramp %s/s; "up" sampled %s s after the last session opened, "closed" %s s after they closed. ' "$RAMP" "$SETTLE_S" "$SETTLE_S"
printf 'Load average %s at the start, %s at the end.\n\n' "$LOAD_START" "$LOAD_END"
awk -F'\t' '
	function mib(k) { return sprintf("%.1f", k / 1024) }
	{
		key = $2 " " $3
		kind[NR] = $1; tr[NR] = $2; n[NR] = $3; r0[NR] = $4; r1[NR] = $5; r2[NR] = $6
		thr[NR] = $7; fd[NR] = $8; up[NR] = $9; rc[NR] = $10
		ok[NR] = ($10 == 0 && $9 == $3 && $5 > 0)
		per[NR] = ok[NR] ? ($5 - $4) / $3 : -1
		if (ok[NR]) best[$1 " " key] = per[NR]
	}
	END {
		print "| server | transport | sessions | up | RSS before (MiB) | RSS up (MiB) | KiB per session | RSS closed (MiB) | threads | fds | project/Node |"
		print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for (i = 1; i <= NR; i++) {
			key = tr[i] " " n[i]
			ratio = "—"
			if (kind[i] == "project" && ok[i] && ("node " key) in best && best["node " key] > 0)
				ratio = sprintf("%.2f", per[i] / best["node " key])
			printf "| %s | %s | %d | %d%s | %s | %s | %s | %s | %d | %d | %s |\n", kind[i], tr[i], n[i], up[i], \
				(rc[i] == 0 ? "" : " (rc " rc[i] ")"), mib(r0[i]), mib(r1[i]), \
				(ok[i] ? sprintf("%.2f", per[i]) : "n/a"), mib(r2[i]), thr[i], fd[i], ratio
		}
	}' "$RECORDS"
log "done in $(($(date +%s) - START))s"
