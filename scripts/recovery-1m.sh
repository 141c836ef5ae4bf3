#!/usr/bin/env bash
# recovery-1m.sh — how long a node holding 1M keys takes from exec to its
# first successful linearizable GET (issue 5 target: < 5 s), after
#   1. a clean stop (SIGTERM), and
#   2. kill -9 in the middle of a write load (so Pebble replays its WAL and
#      raft re-applies committed but unapplied entries).
#
#   bash scripts/mem-1m.sh && bash scripts/recovery-1m.sh   # reuses its data dir
#   DIR=/tmp/cairn-mem1m RUNS=2 bash scripts/recovery-1m.sh
#
# DIR must hold a loaded single-node data dir (scripts/mem-1m.sh leaves one
# at /tmp/cairn-mem1m). It is copied to $DIR.recovery first so DIR stays
# untouched. The GET is `redis-cli GET key:0000000000` (linearizable: a
# ReadIndex round), polled every 10 ms; a reply other than the value (a
# refused connection, an error, nil) is not success. The node runs at
# --log-level info, and the script prints, from the node's log, when the
# node had opened its storage ("restarting from existing data") and when
# it had started its listeners, both relative to exec.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DIR=${DIR:-/tmp/cairn-mem1m}
RUNS=${RUNS:-2}
KILL_AFTER=${KILL_AFTER:-5} # seconds of write load before kill -9
HTTP_PORT=${HTTP_PORT:-28379}
RESP_PORT=${RESP_PORT:-28390}
PEER_PORT=${PEER_PORT:-28380}
KEY=${KEY:-key:0000000000}
CAIRN=${CAIRN:-}
if [ -z "$CAIRN" ]; then
	CAIRN=$(mktemp -d /tmp/cairn-bin.XXXXXX)/cairn
	go build -o "$CAIRN" ./cmd/cairn
fi
[ -d "$DIR/db" ] || { echo "no data dir at $DIR (run scripts/mem-1m.sh first)" >&2; exit 1; }
WORK=$DIR.recovery
PID="" BPID=""
cleanup() {
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null || true
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$WORK"
cp -a "$DIR" "$WORK"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start LOG: exec the node in the background; sets PID and T0 (ms).
start() {
	T0=$(now_ms)
	"$CAIRN" server --data-dir "$WORK" --listen-http 127.0.0.1:$HTTP_PORT --listen-resp 127.0.0.1:$RESP_PORT \
		--listen-peer 127.0.0.1:$PEER_PORT --enable-pprof --log-level info >"$1" 2>&1 &
	PID=$!
}

# first_get LOG LABEL: poll GET every 10 ms; print the time from exec.
first_get() {
	local v t i
	for i in $(seq 3000); do
		v=$(redis-cli -p "$RESP_PORT" GET "$KEY" 2>/dev/null || true)
		if [ ${#v} -ge 16 ] && [[ $v != ERR* ]] && [[ $v != *"Connection refused"* ]]; then
			t=$(($(now_ms) - T0))
			break
		fi
		sleep 0.01
	done
	[ -n "${t:-}" ] || { echo "$2: no successful GET within 30 s" >&2; tail "$1" >&2; return 1; }
	# Timestamps of the log lines relative to exec.
	local opened started
	opened=$(logms "$1" 'restarting from existing data')
	started=$(logms "$1" 'cairn node started')
	printf '| %s | %d | %s | %s | %s |\n' "$2" "$t" "$opened" "$started" \
		"$(grep -o 'applied=[0-9]*' "$1" | head -1 | cut -d= -f2)"
}

# logms LOG PATTERN: ms from T0 to the log line's time=... stamp.
logms() {
	local ts
	ts=$(grep -m1 "$2" "$1" | grep -o 'time=[^ ]*' | cut -d= -f2)
	[ -n "$ts" ] || { echo "?"; return; }
	echo $(($(date -d "$ts" +%s%N) / 1000000 - T0))
}

stop_term() {
	kill -TERM "$PID"
	wait "$PID" 2>/dev/null || true
	PID=""
}

echo "data: $DIR ($(du -sh "$DIR" | cut -f1)), copy in $WORK"
echo
echo "| case | exec → first linearizable GET, ms | storage opened, ms | listeners up, ms | applied index at start |"
echo "|---|---|---|---|---|"
for r in $(seq "$RUNS"); do
	# 1. Clean stop: the node was stopped with SIGTERM (the first run's data
	# dir comes from mem-1m.sh, which also stopped it with SIGTERM).
	start "$WORK.term$r.log"
	first_get "$WORK.term$r.log" "SIGTERM, run $r"
	stop_term

	# 2. kill -9 during a write load over the same 1M keys.
	start "$WORK.warm$r.log"
	for _ in $(seq 3000); do redis-cli -p "$RESP_PORT" GET "$KEY" >/dev/null 2>&1 && break; sleep 0.01; done
	"$CAIRN" bench --target resp --addr 127.0.0.1:$RESP_PORT --workload put --keys 1000000 --clients 32 \
		--pipeline 16 --duration 60s --warmup 0s --timeout 2s >"$WORK.load$r.log" 2>&1 &
	BPID=$!
	sleep "$KILL_AFTER"
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	kill "$BPID" 2>/dev/null || true
	wait "$BPID" 2>/dev/null || true
	BPID=""
	wal=$(find "$WORK/db" -name '*.log' -newer "$WORK.warm$r.log" -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s/1048576}')
	start "$WORK.kill$r.log"
	first_get "$WORK.kill$r.log" "kill -9 under load, run $r (WAL written since start ${wal} MiB)"
	stop_term
done
