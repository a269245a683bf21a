#!/usr/bin/env bash
# Profiles the chat server under load: bench/profile (the real app, started
# through app.Run like the binary, plus net/http/pprof on a second loopback
# port) pinned to CPU 0, sioload pinned to CPU 1, as in bench/run.sh.
#
#   fanout   FANOUT_N receivers, FANOUT_RATE msg/s: CPU and allocation
#            profiles over PROFILE_S seconds of the sending phase
#   cursors  CURSORS_N users x 30 moves/s: the same
#   echo     ECHO_N clients sending acked rtt events back to back: the same
#   idle     IDLE_N registered connections: goroutines and heap per connection
#
# The loaded scenarios also record the mutex profile (1 in
# MUTEX_FRACTION contended unlocks) and the block profile (BLOCK_RATE ns).
# Writes bench/results/profile-<scenario>.{cpu,allocs,mutex,block}.pb.gz,
# the `go tool pprof -top` listings and a per-package breakdown in
# bench/results/profile.md. Loopback only; every process by PID, bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
FANOUT_N=${FANOUT_N:-1000}
FANOUT_RATE=${FANOUT_RATE:-50}
CURSORS_N=${CURSORS_N:-50}
ECHO_N=${ECHO_N:-50}
IDLE_N=${IDLE_N:-5000}
MUTEX_FRACTION=${MUTEX_FRACTION:-10}
BLOCK_RATE=${BLOCK_RATE:-10000}
PROFILE_S=${PROFILE_S:-8}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=bench/results
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatprof.XXXXXX")
SPID=""
LPID=""

trap cleanup EXIT
trap 'exit 130' INT TERM
raise_nofile

echo "building" >&2
go build -o "$WORK/profile" ./bench/profile
go build -o "$WORK/sioload" ./cmd/sioload
mkdir -p "$OUT"




# load SCENARIO MARKER ARGS...: starts sioload and waits for MARKER on its stderr.
load() {
	local scenario=$1 marker=$2
	shift 2
	timeout -k 5 300 taskset -c "$LOAD_CPU" "$WORK/sioload" -url "http://127.0.0.1:$PORT" \
		-progress 0 -ramp 1000 -scenario "$scenario" "$@" >"$WORK/$scenario.json" 2>"$WORK/$scenario.err" &
	LPID=$!
	wait_for_line "$WORK/$scenario.err" "$marker" "$LPID" 1500 && return 0
	echo "sioload $scenario never reached '$marker':" >&2
	cat "$WORK/$scenario.err" >&2
	return 1
}

# finish_load: waits for sioload (not in a subshell: it is our child).
finish_load() {
	wait "$LPID" || true
	LPID=""
}

# profile NAME: CPU, allocation, mutex and block (delta) profiles over
# PROFILE_S seconds.
profile() {
	local name=$1 base="http://127.0.0.1:$PPORT/debug/pprof" kind pids=()
	curl -sf -m $((PROFILE_S + 30)) -o "$OUT/profile-$name.cpu.pb.gz" "$base/profile?seconds=$PROFILE_S" &
	pids+=($!)
	for kind in allocs mutex block; do
		curl -sf -m $((PROFILE_S + 30)) -o "$OUT/profile-$name.$kind.pb.gz" "$base/$kind?seconds=$PROFILE_S" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# start_loaded_server: the profiled app with the mutex and block profiles on.
start_loaded_server() {
	MUTEXPROFILEFRACTION=$MUTEX_FRACTION BLOCKPROFILERATE=$BLOCK_RATE start_profile_server "$@"
}

# groups: share of the flat samples by package family (runtime split into
# GC, allocation, stack work and scheduling).
groups() {
	go tool pprof -top -nodecount=100000 -nodefraction=0 "$@" 2>/dev/null | awk '
		/^ *[0-9.]+[a-zA-Z]* +[0-9.]+%/ {
			v = $2; sub(/%/, "", v); fn = $6
			g = "other"
			if (fn ~ /^github\.com\/socketio-go\/chatserver\/realtime\/internal\/engineio/) g = "ours: Engine.IO (realtime/internal/engineio)"
			else if (fn ~ /^github\.com\/socketio-go\/chatserver\/realtime\/internal\/socketio/) g = "ours: Socket.IO (realtime/internal/socketio)"
			else if (fn ~ /^github\.com\/socketio-go\/chatserver\//) g = "ours: the app (handlers, chat, store, realtime)"
			else if (fn ~ /^github\.com\/gobwas\//) g = "gobwas/ws (WebSocket framing)"
			else if (fn ~ /^go\.etcd\.io\/bbolt/) g = "bbolt (history on disk)"
			else if (fn ~ /^github\.com\/gin-gonic/) g = "gin"
			else if (fn ~ /^encoding\/json|^reflect\./) g = "encoding/json + reflect"
			else if (fn ~ /^syscall\.|^golang\.org\/x\/sys\/unix|^internal\/poll|^internal\/runtime\/syscall|^net\.|^os\./) g = "system calls (socket reads/writes), net"
			else if (fn ~ /^runtime\.(gc|scan|mark|sweep|tryDeferToSpanScan|findObject|greyobject|wbBuf|extractHeapBits|spanClass|heapArenaOf|spanOf|typePointers|bulkBarrier|shade)|^runtime\.\(\*(gcWork|mspan|spanInlineMarkBits|gcBits|sweepLocked|mheap)\)|^runtime\.\(\*spanSet\)/) g = "runtime: garbage collection"
			else if (fn ~ /^runtime\.(mallocgc|nextFreeFast|memclrNoHeapPointers|makeslice|growslice|newobject|heapSetType|publicationBarrier)|^runtime\.\(\*(mcache|mcentral)\)/) g = "runtime: allocation"
			else if (fn ~ /^runtime\.(newstack|copystack|adjust|pcvalue|step|findfunc|funcspdelta|funcInfo|readvarint|scanstack)|^runtime\.\(\*(unwinder|stkframe|moduledata)\)/) g = "runtime: stack growth and stack scanning"
			else if (fn ~ /^runtime\.(schedule|findRunnable|park|gopark|goready|ready|runq|netpoll|futex|notesleep|notewakeup|mcall|gosched|execute|casgstatus|lock|unlock|newproc|goexit|wakep|startm|stopm|resetspinning|checkTimers|nanotime|procyield|osyield|usleep|runtimer|semacquire|semrelease)/) g = "runtime: scheduler, timers, locks"
			else if (fn ~ /^internal\/runtime\/maps|^runtime\.(aeshash|memhash|strhash|mapaccess|mapassign)|^aeshash/) g = "maps and hashing"
			else if (fn ~ /^runtime\./) g = "runtime: other"
			else if (fn ~ /^sync\.|^sync\/atomic|^internal\/sync/) g = "sync, atomics"
			s[g] += v
		}
		END { for (g in s) if (s[g] >= 0.05) printf "| %s | %.1f%% |\n", g, s[g] }' | sort -t'|' -k3 -rn
}

# callsites: cumulative share (time spent in it and below) of selected
# functions, to tell the library's work from ours.
callsites() {
	go tool pprof -top -cum -nodecount=100000 -nodefraction=0 "$@" 2>/dev/null | awk '
		BEGIN {
			n = 0
			L[++n] = "Engine.IO: WebSocket reader, frames in to their handlers ((*Session).readLoop)"; R[n] = "engineio\\.\\(\\*Session\\)\\.readLoop$"
			L[++n] = "Engine.IO: writes by the sender, unicast and one receiver ((*Session).flush)"; R[n] = "engineio\\.\\(\\*Session\\)\\.flush$"
			L[++n] = "Engine.IO: broadcast writes by the flushers ((*flusher).run)"; R[n] = "engineio\\.\\(\\*flusher\\)\\.run$"
			L[++n] = "  socket writes (engineio.writev: send/sendmsg)"; R[n] = "engineio\\.writev$|^golang\\.org/x/sys/unix\\.Writev?$"
			L[++n] = "  socket reads (engineio.read: recvfrom)"; R[n] = "engineio\\.read$|^golang\\.org/x/sys/unix\\.Read$"
			L[++n] = "Engine.IO: parking idle readers (epoll, (*parker).run)"; R[n] = "engineio\\.\\(\\*parker\\)\\.run$"
			L[++n] = "Socket.IO: packet decoding and dispatch ((*client).OnMessage)"; R[n] = "socketio\\.\\(\\*client\\)\\.OnMessage$"
			L[++n] = "Socket.IO: broadcast (BroadcastOperator.Emit)"; R[n] = "socketio\\.\\(\\*BroadcastOperator\\)\\.Emit$"
			L[++n] = "/chat event handlers (handlers.ChatEvents.*, with the sends they make)"; R[n] = "chatserver/handlers\\.ChatEvents"
			L[++n] = "chat domain (chat.*)"; R[n] = "chatserver/chat\\.\\(\\*Session\\)"
			L[++n] = "history append on disk (store.(*BoltHistory).Append)"; R[n] = "store\\.\\(\\*BoltHistory\\)\\.Append$"
			L[++n] = "allocation (runtime.mallocgc, with GC assists)"; R[n] = "^runtime\\.mallocgc$"
			L[++n] = "  GC assists charged to allocating goroutines"; R[n] = "^runtime\\.gcAssistAlloc$"
			L[++n] = "GC background workers (runtime.gcBgMarkWorker)"; R[n] = "^runtime\\.gcBgMarkWorker$"
			L[++n] = "goroutine stack growth (runtime.newstack)"; R[n] = "^runtime\\.newstack$"
			L[++n] = "scheduler (runtime.schedule)"; R[n] = "^runtime\\.schedule$"
		}
		/^ *[0-9.]+[a-zA-Z]* +[0-9.]+%/ {
			c = $5; sub(/%/, "", c); fn = $6
			for (i = 1; i <= n; i++) if (fn ~ R[i] && c + 0 > M[i]) M[i] = c + 0
		}
		END { for (i = 1; i <= n; i++) printf "| %s | %.1f%% |\n", L[i], M[i] }'
}

report() {
	local name=$1
	{
		echo "### $name: CPU, top 25 by flat time"
		echo
		echo '```'
		go tool pprof -top -nodecount=25 "$OUT/profile-$name.cpu.pb.gz" 2>/dev/null | sed -n '/^Showing\|^ *flat/,$p'
		echo '```'
		echo
		echo "### $name: CPU, top 25 by cumulative time"
		echo
		echo '```'
		go tool pprof -top -cum -nodecount=25 "$OUT/profile-$name.cpu.pb.gz" 2>/dev/null | sed -n '/^ *flat/,$p'
		echo '```'
		echo
		echo "### $name: CPU by package (flat)"
		echo
		echo '| where | flat share |'
		echo '| --- | ---: |'
		groups "$OUT/profile-$name.cpu.pb.gz"
		echo
		echo "### $name: CPU under selected call sites (cumulative)"
		echo
		echo '| call site | cumulative share |'
		echo '| --- | ---: |'
		callsites "$OUT/profile-$name.cpu.pb.gz"
		echo
		echo "### $name: mutex contention over ${PROFILE_S}s (1 in $MUTEX_FRACTION sampled), top 10 by delay"
		echo
		echo '```'
		go tool pprof -top -nodecount=10 "$OUT/profile-$name.mutex.pb.gz" 2>/dev/null | sed -n '/^Showing\|^ *flat/,$p'
		echo '```'
		echo
		echo "### $name: blocking over ${PROFILE_S}s (rate $BLOCK_RATE ns), top 10 by delay"
		echo
		echo '```'
		go tool pprof -top -nodecount=10 "$OUT/profile-$name.block.pb.gz" 2>/dev/null | sed -n '/^Showing\|^ *flat/,$p'
		echo '```'
		echo
		echo "### $name: allocations over ${PROFILE_S}s, top 20 by bytes"
		echo
		echo '```'
		go tool pprof -top -sample_index=alloc_space -nodecount=20 "$OUT/profile-$name.allocs.pb.gz" 2>/dev/null | sed -n '/^Showing\|^ *flat/,$p'
		echo '```'
		echo
		echo "### $name: allocations by package (flat bytes)"
		echo
		echo '| where | flat share |'
		echo '| --- | ---: |'
		groups -sample_index=alloc_space "$OUT/profile-$name.allocs.pb.gz"
		echo
	} >>"$WORK/profile.md"
}

{
	echo "## Profiles — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "bench/profile.sh on $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); server on CPU $SERVER_CPU (GOMAXPROCS 1), sioload on CPU $LOAD_CPU; ${PROFILE_S}s profiles during the sending phase."
	echo
} >"$WORK/profile.md"

# loaded NAME MARKER ARGS...: a fresh server with the mutex and block
# profiles on, sioload NAME with ARGS until MARKER, the profiles, the report.
loaded() {
	local name=$1 marker=$2 res
	shift 2
	start_loaded_server
	load "$name" "$marker" -duration $((PROFILE_S + 2))s "$@"
	sleep 1
	profile "$name"
	finish_load
	res=$(cat "$WORK/$name.json")
	stop_server
	echo "$name: $res" >&2
	{ echo "$name run (sioload): \`$res\`"; echo; } >>"$WORK/profile.md"
	report "$name"
}

loaded fanout 'sending' -n "$FANOUT_N" -rate "$FANOUT_RATE" -timeout 120s
loaded cursors 'sending' -n "$CURSORS_N" -timeout 60s
loaded echo 'sending rtt' -n "$ECHO_N" -timeout 30s

# idle: goroutines and heap per connection
start_profile_server
base="http://127.0.0.1:$PPORT/debug/pprof"
g0=$(curl -sf "$base/goroutine?debug=1" | awk 'NR==1 {print $NF}')
h0=$(curl -sf "$base/heap?debug=1&gc=1" | awk '/^# HeapInuse/ {print $NF}')
s0=$(curl -sf "$base/heap?debug=1" | awk '/^# Stack = / {print $4}')
load idle 'holding for' -n "$IDLE_N" -duration 8s -timeout 60s
sleep 3
g1=$(curl -sf "$base/goroutine?debug=1" | awk 'NR==1 {print $NF}')
curl -sf -o "$OUT/profile-idle.heap.pb.gz" "$base/heap?gc=1"
h1=$(curl -sf "$base/heap?debug=1" | awk '/^# HeapInuse/ {print $NF}')
s1=$(curl -sf "$base/heap?debug=1" | awk '/^# Stack = / {print $4}')
# debug=1 groups identical stacks; the last frame of each is where the
# goroutine started.
curl -sf "$base/goroutine?debug=1" | awk -F'\t' '
	/^[0-9]+ @/ {split($0, a, " "); n = a[1]; last = ""; next}
	/^#\t/ {last = $3; next}
	/^$/ {if (n && last != "") {sub(/\+0x[0-9a-f]+$/, "", last); c[last] += n}; n = 0}
	END {if (n) {sub(/\+0x[0-9a-f]+$/, "", last); c[last] += n}; for (f in c) print c[f], f}' | sort -rn | head -12 >"$WORK/goroutines.txt" || true
finish_load
res=$(cat "$WORK/idle.json")
stop_server
echo "idle: $res" >&2
{
	echo "### idle: $IDLE_N registered connections"
	echo
	echo "idle run (sioload): \`$res\`"
	echo
	echo "| | before | holding | per connection |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| goroutines | $g0 | $g1 | $(awk -v a="$g0" -v b="$g1" -v n="$IDLE_N" 'BEGIN{printf "%.2f", (b-a)/n}') |"
	echo "| Go heap in use, KiB | $((h0 / 1024)) | $((h1 / 1024)) | $(awk -v a="$h0" -v b="$h1" -v n="$IDLE_N" 'BEGIN{printf "%.1f", (b-a)/n/1024}') |"
	echo "| goroutine stacks, KiB | $((s0 / 1024)) | $((s1 / 1024)) | $(awk -v a="$s0" -v b="$s1" -v n="$IDLE_N" 'BEGIN{printf "%.1f", (b-a)/n/1024}') |"
	echo
	echo "Goroutines while holding, by the function they started in (count, function):"
	echo
	echo '```'
	cat "$WORK/goroutines.txt"
	echo '```'
	echo
	echo "### idle: heap in use, top 20"
	echo
	echo '```'
	go tool pprof -top -sample_index=inuse_space -nodecount=20 "$OUT/profile-idle.heap.pb.gz" 2>/dev/null | sed -n '/^Showing\|^ *flat/,$p'
	echo '```'
	echo
	echo "### idle: heap in use by package"
	echo
	echo '| where | flat share |'
	echo '| --- | ---: |'
	groups -sample_index=inuse_space "$OUT/profile-idle.heap.pb.gz"
} >>"$WORK/profile.md"

cp "$WORK/profile.md" "$OUT/profile.md"
cat "$OUT/profile.md"
