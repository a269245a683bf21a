#!/usr/bin/env bash
# How many connections one process holds, and whether a steady churn of
# connections leaves anything behind. The project only (bench/profile: the
# real app plus net/http/pprof on a second loopback port, for the goroutine
# count), pinned to CPU 0, sioload to CPU 1, as in bench/run.sh.
#
#   many   MANY_N registered WebSockets (19,500: the open-file limit here is
#          20,000) from MANY_SOURCES loopback source addresses, held for
#          MANY_HOLD with a heartbeat every 5 s (ping interval and timeout
#          5 s), then every one answers an acked rtt
#   churn  CHURN_RATE connections/s for CHURN_S seconds, each registering,
#          joining a room of about 10, answering an rtt and leaving after 1 s
#          (a Socket.IO disconnect, as a page that is left); RSS, live heap
#          and goroutines before, right after, CHURN_SETTLE seconds after
#          (150: past the 2-minute recovery window, for which every room
#          event of the churn is kept) and CHURN_SETTLE2 after (270: past the
#          Go runtime's next periodic collection, which an idle server
#          needs before it returns the freed pages). Between "right after"
#          and the end, nothing forces a collection.
#
# Writes bench/results/scale.md. Loopback only; every process by PID,
# every step bounded by timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
MANY_N=${MANY_N:-19500}
MANY_SOURCES=${MANY_SOURCES:-8}
MANY_HOLD=${MANY_HOLD:-15s}
CHURN_RATE=${CHURN_RATE:-500}
CHURN_S=${CHURN_S:-120}
CHURN_SETTLE=${CHURN_SETTLE:-150}
CHURN_SETTLE2=${CHURN_SETTLE2:-270}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=bench/results
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatscale.XXXXXX")
SPID=""
LPID=""

trap cleanup EXIT
trap 'exit 130' INT TERM
raise_nofile


log "building"
go build -trimpath -o "$WORK/profile" ./bench/profile
go build -trimpath -o "$WORK/sioload" ./cmd/sioload
mkdir -p "$OUT"




rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
fds() { ls "/proc/$SPID/fd" | wc -l; }
# live_kib: the Go heap in use right after a forced collection.
live_kib() { curl -sf -m 10 "http://127.0.0.1:$PPORT/debug/pprof/heap?debug=1&gc=1" | awk '/^# HeapInuse = / {printf "%d", $4 / 1024}'; }
goroutines() { curl -sf -m 10 "http://127.0.0.1:$PPORT/debug/pprof/goroutine?debug=1" | awk 'NR==1 {print $NF}'; }

# many
log "many: $MANY_N connections from $MANY_SOURCES source addresses"
start_profile_server --ping-interval 5s --ping-timeout 5s
r0=$(rss_kib)
g0=$(goroutines)
timeout -k 5 300 taskset -c "$LOAD_CPU" "$WORK/sioload" -url "http://127.0.0.1:$PORT" -progress 5s \
	-scenario idle -n "$MANY_N" -sources "$MANY_SOURCES" -ramp 2000 -duration "$MANY_HOLD" -timeout 120s \
	>"$WORK/many.json" 2>"$WORK/many.err" &
LPID=$!
wait_for_line "$WORK/many.err" 'holding for' "$LPID" 3000 || true
sleep 8
r1=$(rss_kib)
g1=$(goroutines)
f1=$(fds)
wait "$LPID" || true
LPID=""
many=$(tail -n 1 "$WORK/many.json")
limits=$(grep -o 'open-file limit.*' "$WORK/server.log" | head -1)
stop_server
log "many: $many"

# churn
log "churn: $CHURN_RATE/s for ${CHURN_S}s"
start_profile_server
sleep 1
c0=$(rss_kib)
cg0=$(goroutines)
ch0=$(live_kib)
timeout -k 5 $((CHURN_S + 120)) taskset -c "$LOAD_CPU" "$WORK/sioload" -url "http://127.0.0.1:$PORT" -progress 10s \
	-scenario churn -rate "$CHURN_RATE" -n "$CHURN_RATE" -duration "${CHURN_S}s" -timeout 30s \
	>"$WORK/churn.json" 2>"$WORK/churn.err" &
LPID=$!
for i in $(seq $((CHURN_S * 10 / 2))); do
	kill -0 "$LPID" 2>/dev/null || break
	sleep 0.1
done
cm=$(rss_kib)
cgm=$(goroutines)
chm=$(live_kib)
wait "$LPID" || true
LPID=""
sleep 1
c1=$(rss_kib)
cg1=$(goroutines)
ch1=$(live_kib)
sleep "$CHURN_SETTLE"
c2=$(rss_kib)
cg2=$(goroutines)
sleep $((CHURN_SETTLE2 - CHURN_SETTLE))
c3=$(rss_kib)
cg3=$(goroutines)
ch3=$(live_kib)
churn=$(tail -n 1 "$WORK/churn.json")
stop_server
log "churn: $churn"

{
	echo "## Scale — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "bench/scale.sh on $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); project at $(git rev-parse --short HEAD); server on CPU $SERVER_CPU (GOMAXPROCS 1), sioload on CPU $LOAD_CPU. Server log: \`$limits\`."
	echo
	echo "### $MANY_N connections"
	echo
	echo "Registered WebSockets from $MANY_SOURCES source addresses (127.0.0.1–$MANY_SOURCES), opened at 2,000/s, held $MANY_HOLD with a ping every 5 s, then each asked for an acked rtt."
	echo
	echo "| | before | holding | per connection |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| RSS, KiB | $r0 | $r1 | $(awk -v a="$r0" -v b="$r1" -v n="$MANY_N" 'BEGIN{printf "%.1f", (b-a)/n}') |"
	echo "| goroutines | $g0 | $g1 | $(awk -v a="$g0" -v b="$g1" -v n="$MANY_N" 'BEGIN{printf "%.3f", (b-a)/n}') |"
	echo "| open files | | $f1 | |"
	echo
	echo "sioload: \`$many\`"
	echo
	echo "### Churn"
	echo
	echo "$CHURN_RATE connections/s for ${CHURN_S} s, each registering, joining a room of about 10 users, answering an rtt and leaving after 1 s with a Socket.IO disconnect, as a page that is left (about $CHURN_RATE open at a time)."
	echo
	echo "| | before | during | right after | ${CHURN_SETTLE} s after | ${CHURN_SETTLE2} s after |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	echo "| RSS, KiB | $c0 | $cm | $c1 | $c2 | $c3 |"
	echo "| Go heap in use after a forced GC, KiB | $ch0 | $chm | $ch1 | | $ch3 |"
	echo "| goroutines | $cg0 | $cgm | $cg1 | $cg2 | $cg3 |"
	echo
	echo "The heap in use is measured after a collection forced for it (none between \"right after\" and the last column). The churn's room events are kept for the 2-minute recovery window; an idle server then collects at the Go runtime's periodic collection (every 2 minutes) and returns the freed pages to the system after it."
	echo
	echo "sioload: \`$churn\`"
} >"$OUT/scale.md"
cat "$OUT/scale.md"
