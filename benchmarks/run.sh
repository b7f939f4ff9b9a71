#!/usr/bin/env bash
# tktgate's end-to-end benchmarks: builds everything, runs wrk and the
# fixed-rate load generator on loopback, prints the results table.
#
#   benchmarks/run.sh quick   CI smoke: every scenario for a second or so,
#                             under a minute; fails only when something is
#                             broken (a server does not start, an answer is
#                             not the valid-ticket 200), never on numbers.
#                             Results: benchmarks/out/results-quick.md
#   benchmarks/run.sh full    the table (about 10 minutes): rewrites
#                             benchmarks/results.md, the results section of
#                             benchmarks/README.md and benchmarks/old.txt
#                             (verifier micro-benchmarks).
#
# Environment: BENCH_MICRO=0|1 and BENCH_PROFILE=0|1 turn the verifier
# micro-benchmarks and the profiles (full mode only by default) off or on.
# BENCH_ONLY=audit runs comparisons 1, 2 and 7 (the audit log's cost)
# alone and writes benchmarks/out/results-audit.md, leaving the table;
# BENCH_ONLY=web runs comparisons 3 and 6 (nginx's and Apache's setups,
# a few minutes) alone into benchmarks/out/results-web.md.
# TKTGATE_REQUIRE_E2E=1 fails instead of skipping the nginx and Apache
# rows when they are not installed.
#
# Needs: go, wrk, taskset (util-linux); nginx-light, apache2 and
# libapache2-mod-auth-tkt for comparison 3, libnginx-mod-http-lua for the
# Lua row of comparison 6; perf for the live profile.
set -euo pipefail
mode=${1:-quick}
case $mode in
quick | full) ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 2
	;;
esac
bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
out=$bench/out
bin=$out/bin
mkdir -p "$bin"

for tool in go wrk taskset; do
	command -v "$tool" >/dev/null || {
		echo "run.sh: $tool is not installed" >&2
		exit 1
	}
done

echo "== building into $bin" >&2
cd "$root"
go build -o "$bin/tktgate" .
go build -o "$bin/ceiling" ./benchmarks/ceiling
go build -o "$bin/nethttp" ./benchmarks/nethttp
go build -o "$bin/loadgen" ./benchmarks/loadgen
go build -o "$bin/harness" ./benchmarks/harness
if [[ ${BENCH_PROFILE:-} == 1 || ($mode == full && ${BENCH_PROFILE:-} != 0) ]]; then
	go test -c -o "$bin/tktgate.test" .
fi

if [[ $mode == full ]]; then
	exec "$bin/harness" -mode full -root "$root" -bin "$bin" -out "$out" \
		-results "$bench/results.md" -readme "$bench/README.md"
fi
exec "$bin/harness" -mode quick -root "$root" -bin "$bin" -out "$out" \
	-results "$out/results-quick.md"
