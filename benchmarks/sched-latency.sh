#!/usr/bin/env bash
# What SCHED_BATCH costs in latency: nginx on the shipped nginx/ files
# (tktgate-upstream.conf, tktgate-auth.conf, tktgate-location.conf) in
# front of one tktgate, both on one CPU, loaded at a fixed rate by
# benchmarks/loadgen from the other CPU with a browser's page view, and
# tktgate started in turn with cpu_scheduling = "batch" and "other".
# Each pair runs twice: alone on the CPU, and beside a CPU-bound
# neighbour (a busy shell loop on the same CPU), where SCHED_BATCH's
# price would show: a woken tktgate no longer preempts the neighbour, it
# waits for its time slice to end.
#
#   benchmarks/sched-latency.sh [ROUNDS]    3 rounds by default, ~25 s each
#
# Environment: RATE (requests per second, default 3000), SECS (measured
# seconds per run, default 4). Prints a Markdown table: for each setup the
# median over the rounds of loadgen's p50, p90, p99, p99.9 and max, and
# the worst generator lag (loadgen's own lateness, included in its
# figures). Needs go, nginx (nginx-light), taskset and python3; runs as
# any user, on a machine with at least two CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=${1:-3}
rate=${RATE:-3000}
secs=${SECS:-4}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "sched-latency: nginx is missing (apt-get install nginx-light)" >&2; exit 3; }
[[ $(nproc) -ge 2 ]] || { echo "sched-latency: needs two CPUs (servers on one, loadgen on the other)" >&2; exit 3; }

dir=$(mktemp -d /tmp/tktgate-schedlat.XXXXXX)
chmod 755 "$dir"
gate= hog=
cleanup() {
	for p in $gate $hog; do kill "$p" 2>/dev/null || true; done
	if [[ -f $dir/nginx.pid ]]; then
		np=$(cat "$dir/nginx.pid")
		kill -QUIT "$np" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$np" 2>/dev/null || break; sleep 0.1; done
	fi
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/tktgate" .
go build -o "$dir/loadgen" ./benchmarks/loadgen

free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
gport=$(free_port)
nport=$(free_port)
while [[ $nport == "$gport" ]]; do nport=$(free_port); done

mkdir -p "$dir/www" "$dir/logs"
head -c 612 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
sed "s/127.0.0.1:9180/127.0.0.1:$gport/" nginx/tktgate-upstream.conf >"$dir/tktgate-upstream.conf"
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
error_log $dir/logs/error.log;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    include $dir/tktgate-upstream.conf;
    server {
        listen 127.0.0.1:$nport;
        root $dir/www;
        include $root/nginx/tktgate-auth.conf;
        location / {
            auth_request /_tktgate/auth;
            include $root/nginx/tktgate-location.conf;
        }
    }
}
CONF
# nginx and the neighbour under SCHED_OTHER whatever this script runs
# under: only tktgate's policy changes between the runs.
taskset -c 1 chrt -o 0 "$nginx" -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log"

config() {
	cat <<CONF
listen = "127.0.0.1:$gport"
log_level = "info"
cpu_scheduling = "$1"

[ticket]
secret = "sched-latency-secret"
timeout = "2h"

[redirect]
login_url = "/login"
CONF
}
config batch >"$dir/batch.toml"
config other >"$dir/other.toml"
ticket=$("$dir/tktgate" ticket -config "$dir/batch.toml" -uid alice -ip 127.0.0.1)
# What Chrome sends with a page view (internal/pageview), the ticket
# among a site's usual cookies.
headers=(
	-H 'sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'
	-H 'sec-ch-ua-mobile: ?0'
	-H 'sec-ch-ua-platform: "Windows"'
	-H 'Upgrade-Insecure-Requests: 1'
	-H 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
	-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
	-H 'Sec-Fetch-Site: same-origin'
	-H 'Sec-Fetch-Mode: navigate'
	-H 'Sec-Fetch-User: ?1'
	-H 'Sec-Fetch-Dest: document'
	-H 'Referer: https://intranet.example.com/reports/2026/quarterly?region=emea&view=summary'
	-H 'Accept-Encoding: gzip, deflate, br, zstd'
	-H 'Accept-Language: en-GB,en-US;q=0.9,en;q=0.8,de;q=0.7'
	-H "Cookie: _ga=GA1.1.1283746519.1733312345; _gid=GA1.2.918273645.1733312345; SESSIONID=Zk3q9VbX2mP7tR1wY8nC4dL6hJ0sA5eG; auth_tkt=$ticket; theme=dark"
)

out=$dir/runs.jsonl
for r in $(seq "$rounds"); do
	for neighbour in none busy; do
		# Alternate the order, so that neither policy always runs first.
		pols=(batch other)
		((r % 2 == 0)) && pols=(other batch)
		for pol in "${pols[@]}"; do
			taskset -c 1 "$dir/tktgate" -config "$dir/$pol.toml" 2>>"$dir/logs/tktgate.log" &
			gate=$!
			ready=0
			for _ in $(seq 100); do
				if "$dir/tktgate" healthcheck -config "$dir/$pol.toml" >/dev/null 2>&1; then
					ready=1
					break
				fi
				sleep 0.05
			done
			if ((!ready)); then
				echo "sched-latency: tktgate ($pol) not ready after 5 s:" >&2
				cat "$dir/logs/tktgate.log" >&2
				exit 1
			fi
			if ! grep -q "\"cpu_policy\":\"$pol\"" "$dir/logs/tktgate.log"; then
				echo "sched-latency: tktgate did not start under $pol (cpu_scheduling not applied?):" >&2
				cat "$dir/logs/tktgate.log" >&2
				exit 1
			fi
			: >"$dir/logs/tktgate.log"
			hog=
			if [[ $neighbour == busy ]]; then
				taskset -c 1 chrt -o 0 bash -c 'while :; do :; done' &
				hog=$!
			fi
			res=$(taskset -c 0 "$dir/loadgen" -url "http://127.0.0.1:$nport/" -rate "$rate" -c 32 -d "${secs}s" -warmup 1s "${headers[@]}" | tr -d '\n')
			[[ -n $hog ]] && { kill "$hog"; wait "$hog" 2>/dev/null || true; }
			kill "$gate" 2>/dev/null || true
			wait "$gate" 2>/dev/null || true
			gate=
			echo "{\"round\": $r, \"neighbour\": \"$neighbour\", \"policy\": \"$pol\", \"result\": $res}" >>"$out"
			echo "sched-latency: round $r, neighbour $neighbour, $pol done" >&2
		done
	done
done

python3 - "$out" "$rate" "$rounds" "$secs" <<'PY'
import json, statistics, sys
path, rate, rounds, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = [json.loads(l) for l in open(path)]
bad = [r for r in runs if r["result"]["ok"] != r["result"]["sent"]]
runs = [r for r in runs if r not in bad]
print(f"nginx + tktgate (shipped files, TCP) at {rate} req/s, 32 connections, {secs} s per run; median of {rounds} rounds (ms)\n")
print("| neighbour on the servers' CPU | cpu_scheduling | p50 | p90 | p99 | p99.9 | max | generator lag p99, worst |")
print("|---|---|---|---|---|---|---|---|")
for nb in ("none", "busy"):
    for pol in ("batch", "other"):
        rs = [r["result"] for r in runs if r["neighbour"] == nb and r["policy"] == pol]
        if not rs:
            continue
        med = lambda k: statistics.median(x[k] for x in rs) / 1000
        lag = max(x["lag_p99_us"] for x in rs) / 1000
        name = "none" if nb == "none" else "a CPU-bound loop"
        print(f"| {name} | {pol} | {med('p50_us'):.2f} | {med('p90_us'):.2f} | {med('p99_us'):.2f} | {med('p999_us'):.2f} | {med('max_us'):.2f} | {lag:.2f} |")
if bad:
    print(f"\n{len(bad)} run(s) had answers other than nginx's 200", file=sys.stderr)
    sys.exit(1)
PY
