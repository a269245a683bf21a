# Shell helpers shared by the bench scripts (sourced, not run). The caller
# keeps the running server's PID in SPID, the running sioload's in LPID,
# and its scratch directory in WORK.

# The load comes from a few loopback addresses, many connections each, as
# no real client does: the per-address and pending-connection limits are
# off for the project's server (the references have none).
export MAX_SESSIONS_PER_ADDRESS=0 MAX_PENDING_CONNECTIONS=0

# raise_nofile: the soft open-file limit up to the hard one, for the
# processes started from here.
raise_nofile() {
	local hard
	hard=$(ulimit -Hn)
	if [[ "$hard" == unlimited ]]; then ulimit -n 1048576; else ulimit -n "$hard"; fi
}

# START is when the script began (log's clock), unless the caller set it.
START=${START:-$(date +%s)}

# log MESSAGE...: one line on stderr, with the seconds since START.
log() { printf '[%4ds] %s\n' $(($(date +%s) - START)) "$*" >&2; }

# need COMMAND: exits, saying so, when COMMAND is not installed.
need() { command -v "$1" >/dev/null || { echo "$(basename "$0"): $1 is required" >&2; exit 1; }; }

# cleanup: for `trap cleanup EXIT`: stops sioload and the server, removes
# WORK (kept, and said so, with KEEP=1).
cleanup() {
	if [[ -n "${LPID:-}" ]] && kill -0 "$LPID" 2>/dev/null; then
		kill -TERM "$LPID" 2>/dev/null || true
		wait "$LPID" 2>/dev/null || true
	fi
	stop_server
	if [[ -z "${KEEP:-}" ]]; then rm -rf "$WORK"; else log "logs kept in $WORK"; fi
}

# wait_for_line FILE TEXT PID TENTHS: waits until FILE holds TEXT, while
# PID lives, at most TENTHS tenths of a second; fails if TEXT never came.
wait_for_line() {
	local file=$1 text=$2 pid=$3 tenths=$4 i
	for i in $(seq "$tenths"); do
		grep -q "$text" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$text" "$file" 2>/dev/null
}

# free_port prints a free TCP port on 127.0.0.1.
free_port() {
	timeout 10 node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# stop_server: SIGTERM to $SPID, up to 12 s, then SIGKILL; by PID only.
stop_server() {
	local pid=$SPID i
	SPID=""
	[[ -z "$pid" ]] && return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 120); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		printf 'server %s still up after SIGTERM; SIGKILL\n' "$pid" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# start_profile_server ARGS...: bench/profile (built at $WORK/profile) pinned
# to $SERVER_CPU, on fresh ports (PORT for the app, PPORT for pprof) with a
# fresh data directory; waits for /healthz.
start_profile_server() {
	PORT=$(free_port)
	PPORT=$(free_port)
	local data i
	data=$(mktemp -d "$WORK/data.XXXXXX")
	taskset -c "$SERVER_CPU" "$WORK/profile" -pprof "127.0.0.1:$PPORT" --addr "127.0.0.1:$PORT" --data "$data" "$@" \
		>"$WORK/server.log" 2>&1 &
	SPID=$!
	for i in $(seq 100); do
		curl -sf -m 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start" >&2
	tail "$WORK/server.log" >&2
	return 1
}
