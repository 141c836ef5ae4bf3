#!/usr/bin/env bash
# mem-1m.sh — resident memory of one Cairn node holding KEYS keys of VSIZE
# bytes (issue 5 target: RSS < 2x raw data, raw = KEYS x (key + value)).
#
#   bash scripts/mem-1m.sh                      # 1M keys of 256 B
#   KEYS=100000 bash scripts/mem-1m.sh          # quicker
#   SERVER_FLAGS="--latest-cache 0" bash scripts/mem-1m.sh   # extra server flags
#   CAIRN=/tmp/perf/cairn DIR=/tmp/cairn-1m bash scripts/mem-1m.sh
#
# Starts a node with default flags (plus --enable-pprof, which only adds
# handlers) on a fresh data dir DIR, writes every key once with
# `cairn bench --workload get --preload` (keys key:%010d, exactly KEYS
# writes, any failed write fails the run), checks DBSIZE, then reports
# VmRSS/VmHWM, the Go runtime's memory (from /debug/pprof/heap?debug=1) and
# the data dir's size at three points: right after the load, after SETTLE
# seconds idle, and after READSECS of uniform GETs over every key (which
# fills the block cache). Saves a heap profile to $DIR.heap.pb.gz.
#
# The node is stopped with SIGTERM at the end; DIR is kept (scripts/
# recovery-1m.sh reuses it) unless KEEP=0. Ports: HTTP 28379, RESP 28390,
# peer 28380 (override with HTTP_PORT, RESP_PORT, PEER_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
KEYS=${KEYS:-1000000}
VSIZE=${VSIZE:-256}
DIR=${DIR:-/tmp/cairn-mem1m}
SETTLE=${SETTLE:-20}
READSECS=${READSECS:-10}
KEEP=${KEEP:-1}
HTTP_PORT=${HTTP_PORT:-28379}
RESP_PORT=${RESP_PORT:-28390}
PEER_PORT=${PEER_PORT:-28380}
CAIRN=${CAIRN:-}
if [ -z "$CAIRN" ]; then
	CAIRN=$(mktemp -d /tmp/cairn-bin.XXXXXX)/cairn
	go build -o "$CAIRN" ./cmd/cairn
fi
PID=""
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	if [ "$KEEP" = 0 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

rm -rf "$DIR"
"$CAIRN" server --data-dir "$DIR" --listen-http 127.0.0.1:$HTTP_PORT --listen-resp 127.0.0.1:$RESP_PORT \
	--listen-peer 127.0.0.1:$PEER_PORT --enable-pprof --log-level warn ${SERVER_FLAGS:-} >"$DIR.log" 2>&1 &
PID=$!
for _ in $(seq 200); do
	curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
	sleep 0.05
done
curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null

keylen=$(printf 'key:%010d' 0 | wc -c)
raw=$((KEYS * (keylen + VSIZE)))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

report() { # label
	local rss hwm heap
	rss=$(awk '/^VmRSS/ { print $2 * 1024 }' /proc/$PID/status)
	hwm=$(awk '/^VmHWM/ { print $2 * 1024 }' /proc/$PID/status)
	# runtime.MemStats as printed at the end of the debug=1 heap profile
	heap=$(curl -sf "http://127.0.0.1:$HTTP_PORT/debug/pprof/heap?debug=1" |
		awk '$2=="HeapAlloc"{a=$4} $2=="HeapInuse"{i=$4} $2=="HeapSys"{s=$4} $2=="Sys"{y=$4} $2=="NumGC"{g=$4}
			END { printf "heap_alloc=%.1fMiB heap_inuse=%.1fMiB heap_sys=%.1fMiB go_sys=%.1fMiB gcs=%d", a/1048576, i/1048576, s/1048576, y/1048576, g }')
	local du
	# du races with compactions deleting files: retry once, never fail the run.
	du=$(du -sb "$DIR" 2>/dev/null | cut -f1 || true); alloc=$(du -sk "$DIR" 2>/dev/null | cut -f1 || true)
	[ -n "$du" ] || du=$(du -sb "$DIR" 2>/dev/null | cut -f1 || echo 0)
	[ -n "$alloc" ] || alloc=$(du -sk "$DIR" 2>/dev/null | cut -f1 || echo 0)
	printf '%-22s rss=%sMiB hwm=%sMiB rss/raw=%s hwm/raw=%s %s datadir=%sMiB (allocated %sMiB)\n' "$1" "$(mib "$rss")" "$(mib "$hwm")" \
		"$(awk -v a="$rss" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="$hwm" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')" "$heap" "$(mib "$du")" "$(mib $((alloc * 1024)))"
}

echo "keys=$KEYS value=${VSIZE}B key=${keylen}B raw=$(mib $raw)MiB (target rss < $(mib $((2 * raw)))MiB) pid=$PID"
report "idle, empty"
t0=$(date +%s.%N)
"$CAIRN" bench --target resp --addr 127.0.0.1:$RESP_PORT --workload get --keys "$KEYS" --value-size "$VSIZE" \
	--clients 16 --pipeline 64 --ops 1 --warmup 0s --timeout 60s 2>&1 | grep -E 'preloaded|errors' | sed 's/^/  bench: /'
t1=$(date +%s.%N)
echo "  loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
n=$(redis-cli -p "$RESP_PORT" dbsize)
echo "  DBSIZE=$n"
[ "$n" = "$KEYS" ] || { echo "DBSIZE $n != $KEYS" >&2; exit 1; }
report "after load"
sleep "$SETTLE"
report "after ${SETTLE}s idle"
"$CAIRN" bench --target resp --addr 127.0.0.1:$RESP_PORT --workload get --keys "$KEYS" --preload=false \
	--clients 16 --pipeline 16 --duration "${READSECS}s" --warmup 0s 2>&1 | grep -E 'throughput|errors' | sed 's/^/  bench: /'
report "after ${READSECS}s GETs"
curl -sf -o "$DIR.heap.pb.gz" "http://127.0.0.1:$HTTP_PORT/debug/pprof/heap"
echo "heap profile: $DIR.heap.pb.gz (go tool pprof -top -sample_index=inuse_space $CAIRN $DIR.heap.pb.gz)"
kill -TERM "$PID"
wait "$PID" 2>/dev/null || true
PID=""
echo "data dir after clean stop: $(mib "$(du -sb "$DIR" | cut -f1)")MiB in $DIR"
