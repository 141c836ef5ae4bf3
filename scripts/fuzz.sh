#!/usr/bin/env bash
# fuzz.sh — run every `go test -fuzz` target for FUZZTIME (default 10s).
# New findings are written under the package's testdata/fuzz and fail the
# run; commit them as regression inputs once fixed.
#
#   bash scripts/fuzz.sh                 # every target, 10 s each
#   FUZZTIME=5m bash scripts/fuzz.sh resp   # targets in packages matching "resp"
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
FUZZTIME=${FUZZTIME:-10s}
filter=${1:-}
grep -rH --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . |
	sed -E 's#^\./(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' | sort |
	while read -r pkg target; do
		[ -n "$filter" ] && [[ $pkg != *$filter* ]] && continue
		echo "== fuzz $pkg $target ($FUZZTIME)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "./$pkg" 2>&1 | tail -3
	done
