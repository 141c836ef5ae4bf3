#!/usr/bin/env bash
# compare-redis.sh — the same redis-benchmark runs, in one sitting, against
# Cairn (1 node and 3 nodes, durable: fsync before ack) and Redis 7
# (appendfsync always, and no persistence). Prints a markdown table.
#
#   bash scripts/compare-redis.sh            # N=100000 C=50
#   N=20000 bash scripts/compare-redis.sh    # quicker
#
# Needs redis-server and redis-benchmark (Debian redis-server, redis-tools).
# Loopback only; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
N=${N:-100000}
C=${C:-50}
TMP=$(mktemp -d /tmp/cairn-compare.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/cairn" ./cmd/cairn

wait_port() { # host port
	for _ in $(seq 100); do
		redis-cli -h "$1" -p "$2" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "server on $1:$2 did not come up" >&2
	return 1
}

# bench LABEL PORT: SET and GET, without and with -P 16.
wait_ready() { # http-port: a Cairn node that has a leader and is caught up
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "cairn on :$1 not ready" >&2
	return 1
}

bench() {
	local label=$1 port=$2 P
	for P in 1 16; do
		local pipe=()
		[ "$P" -gt 1 ] && pipe=(-P "$P")
		redis-benchmark -h 127.0.0.1 -p "$port" -q -t set,get -n "$N" -c "$C" "${pipe[@]}" --csv |
			awk -F, -v l="$label" -v P="$P" 'NR>1 { gsub(/"/, ""); printf "| %s | %s | %s | %.0f | %s | %s |\n", l, $1, P, $2, $5, $7 }'
	done
}

echo "| target | op | pipeline | ops/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"

# Cairn, one node.
"$TMP/cairn" server --data-dir "$TMP/one" --listen-peer 127.0.0.1:27380 --listen-http 127.0.0.1:27379 \
	--listen-resp 127.0.0.1:26380 --log-level warn >"$TMP/one.log" 2>&1 &
PIDS+=($!)
wait_ready 27379
bench "cairn 1 node" 26380
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# Cairn, three nodes; the benchmark talks to the leader's RESP port.
IC=n1=127.0.0.1:27381,n2=127.0.0.1:27382,n3=127.0.0.1:27383
for i in 1 2 3; do
	"$TMP/cairn" server --name n$i --data-dir "$TMP/n$i" --listen-peer 127.0.0.1:2738$i \
		--listen-http 127.0.0.1:2737$i --listen-resp 127.0.0.1:2638$i --initial-cluster $IC \
		--log-level warn >"$TMP/n$i.log" 2>&1 &
	PIDS+=($!)
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
bench "cairn 3 nodes" "${leader:-26381}"
for i in 1 2 3; do kill "${PIDS[-$i]}" 2>/dev/null || true; done

# Redis 7, fsync on every write, then without persistence.
redis-server --port 26399 --bind 127.0.0.1 --dir "$TMP" --appendonly yes --appendfsync always \
	--save '' --daemonize no >"$TMP/redis-aof.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 26399
bench "redis appendfsync always" 26399
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

redis-server --port 26398 --bind 127.0.0.1 --dir "$TMP" --appendonly no --save '' --daemonize no \
	>"$TMP/redis-mem.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 26398
bench "redis no persistence" 26398
