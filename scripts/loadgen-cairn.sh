#!/usr/bin/env bash
# loadgen-cairn.sh — Cairn (1 node, then 3 nodes) measured with the shared
# load generator (../shared/bench/loadgen), the tool anchors.sh measures
# etcd and Redis with, so the figures compare as ratios when taken in the
# same sitting:
#
#   bash ../shared/bench/anchors.sh etcd1 etcd3 && bash scripts/loadgen-cairn.sh
#   REPS=1 N=50000 C=64 bash scripts/loadgen-cairn.sh
#   SHAPES=3 OPS=set CAIRN=/tmp/cairn-b bash scripts/loadgen-cairn.sh   # one shape, one op, a given binary
#
# For each cluster: SET (durable) and linearizable GET over RESP with C
# clients, 256-byte values, 10k keys (loadgen's defaults, as anchors.sh),
# each point REPS times. The 3-node points talk to the leader's RESP port
# (as redis-benchmark and loadgen can only use one address). RESULT lines
# carry server_us_op (server CPU per op) and other_cores (CPU used by
# other work on the machine during the point). Ports 2737x/2738x/2638x:
# below the ephemeral range (32768-60999), so no client connection holds one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
N=${N:-100000}
C=${C:-64}
REPS=${REPS:-2}
SHAPES=${SHAPES:-"1 3"}
OPS=${OPS:-"set get"}
DUR=${DUR:-30s}
LG=${LG:-../shared/bench/loadgen/loadgen}
[ -x "$LG" ] || (cd "$(dirname "$LG")" && go build -o loadgen .)
TMP=$(mktemp -d /tmp/cairn-loadgen.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
CAIRN=${CAIRN:-$TMP/cairn}
[ -x "$CAIRN" ] || go build -o "$CAIRN" ./cmd/cairn

wait_ready() {
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "cairn on :$1 not ready" >&2
	return 1
}

points() { # LABEL RESP-PORT PIDS
	local r op
	"$LG" -target resp -addr "127.0.0.1:$2" -op set -preload yes -n 1 -c "$C" -warmup 0 >/dev/null
	for op in $OPS; do
		for r in $(seq "$REPS"); do
			"$LG" -label "$1" -target resp -addr "127.0.0.1:$2" -op "$op" -preload no -c "$C" -size 256 \
				-n "$N" -duration "$DUR" -server-pids "$3"
		done
	done
}

if [[ " $SHAPES " == *" 1 "* ]]; then
"$CAIRN" server --data-dir "$TMP/one" --listen-peer 127.0.0.1:27380 --listen-http 127.0.0.1:27379 \
	--listen-resp 127.0.0.1:26380 --log-level warn >"$TMP/one.log" 2>&1 &
PIDS+=($!)
wait_ready 27379
points cairn-1node 26380 "${PIDS[-1]}"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
fi
[[ " $SHAPES " == *" 3 "* ]] || exit 0

IC=n1=127.0.0.1:27381,n2=127.0.0.1:27382,n3=127.0.0.1:27383
P3=()
for i in 1 2 3; do
	"$CAIRN" server --name n$i --data-dir "$TMP/n$i" --listen-peer 127.0.0.1:2738$i \
		--listen-http 127.0.0.1:2737$i --listen-resp 127.0.0.1:2638$i --initial-cluster $IC \
		--log-level warn >"$TMP/n$i.log" 2>&1 &
	PIDS+=($!)
	P3+=($!)
done
for i in 1 2 3; do wait_ready 2737$i; done
leader=""
for _ in $(seq 50); do
	for i in 1 2 3; do
		if redis-cli -p 2638$i info replication 2>/dev/null | grep -q "role:master"; then leader=2638$i; fi
	done
	[ -n "$leader" ] && break
	sleep 0.2
done
points cairn-3node "${leader:-26381}" "$(IFS=,; echo "${P3[*]}")"
