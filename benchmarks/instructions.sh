#!/usr/bin/env bash
# Instructions per operation of the hot-path micro-benchmarks, counted by
# valgrind (cachegrind, no cache simulation), for a git ref and for the
# work tree side by side.
#
#   benchmarks/instructions.sh [REF]     REF defaults to HEAD
#
# Why: on a shared virtual machine ns/op moves by ±15% from one run to the
# next, which hides a 2% change; an instruction count is the same on every
# run. It is not time (a clock read or a cache miss costs far more than an
# add, MD5's rounds run at a lower IPC than base64), so it complements
# benchstat, it does not replace it. Each figure is the difference between
# runs of 2,000 and 22,000 iterations divided by 20,000, which removes the
# set-up.
#
# Needs: go, git, valgrind.
set -euo pipefail
ref=${1:-HEAD}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || {
	echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/ref" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$root" worktree add -q --detach "$tmp/ref" "$ref"
for side in ref work; do
	src=$root
	[[ $side == ref ]] && src=$tmp/ref
	(cd "$src" && go test -c -o "$tmp/$side.root.test" . && go test -c -o "$tmp/$side.verifier.test" ./verifier/)
done

# instructions BINARY BENCH ITERATIONS
instructions() {
	valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
		"$1" -test.run '^$' -test.bench "$2" -test.benchtime "${3}x" -test.cpu 1 2>&1 |
		awk '/I *refs/ { gsub(",", "", $4); print $4 }'
}
per_op() {
	local a b n=${3:-1}
	a=$(instructions "$1" "$2" $((2000 * n)))
	b=$(instructions "$1" "$2" $((22000 * n)))
	echo $(((b - a) / (20000 * n)))
}

printf '%-28s %12s %12s %8s\n' "benchmark" "$ref" "work tree" "change"
for spec in 'root:^BenchmarkHandler$/^MD5/ok$' 'verifier:^BenchmarkVerify$/^MD5/raw$' 'verifier:^BenchmarkVerify$/^MD5/base64$' 'verifier:^BenchmarkDigestBaseline$/^MD5$'; do
	pkg=${spec%%:*}
	re=${spec#*:}
	old=$(per_op "$tmp/ref.$pkg.test" "$re")
	new=$(per_op "$tmp/work.$pkg.test" "$re")
	name=$(echo "$re" | tr -d '^$' | sed 's/Benchmark//')
	awk -v n="$name" -v a="$old" -v b="$new" 'BEGIN { printf "%-28s %12d %12d %+7.1f%%\n", n, a, b, (b - a) * 100 / a }'
done

# The revocation list's cost: BenchmarkHandlerRevocations of the work
# tree, with 0, 1,000 and 100,000 entries (and 100,000 where the ticket
# shares its second with one of its user's revoked tickets, the one case
# that hashes its signature), against REF's MD5/ok, which has no list.
# Ten times the iterations: building 100,000 entries costs a few million
# instructions more or less from run to run (random hash seeds), which
# 20,000 iterations would turn into +-100 a request.
if "$tmp/work.root.test" -test.list '^BenchmarkHandlerRevocations$' | grep -q .; then
	base=$(per_op "$tmp/ref.root.test" '^BenchmarkHandler$/^MD5/ok$' 10)
	printf '\n%-28s %12s %12s %8s\n' "revocation list" "$ref, none" "work tree" "change"
	for n in 0 1000 100000 100000_same_second; do
		new=$(per_op "$tmp/work.root.test" "^BenchmarkHandlerRevocations\$/^$n\$" 10)
		awk -v n="Handler/MD5/ok, $n" -v a="$base" -v b="$new" 'BEGIN { printf "%-28s %12d %12d %+7.1f%%\n", n, a, b, (b - a) * 100 / a }'
	done
fi
