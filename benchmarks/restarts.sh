#!/usr/bin/env bash
# Restarts under load: real nginx on the shipped nginx/ files with
# nginx/tktgate-upstream-replicas.conf in front of two tktgates, a steady
# load from wrk (64 connections, a valid ticket, one request in four a
# POST with a body), and in each phase one event in the middle of the load:
#
#   steady        nothing (the baseline)
#   term-a        SIGTERM the first tktgate, start it again
#   term-b        the same for the second
#   term-ab       both, one right after the other (the first is not back
#                 in nginx's rotation yet when the second stops)
#   hup           SIGHUP both
#   config        rewrite both config files (tktgate notices within 1.3 s)
#   kill-a        kill -9 the first tktgate, start it again a fifth of the
#                 phase later (nginx meanwhile probes it and is refused)
#
# Every answer must be nginx's 200 from the application: the script counts
# the others itself (wrk's own "Non-2xx or 3xx" lets a 302 to the login
# page pass), and wrk's socket errors. It fails when any phase has one, or
# when a restarted tktgate is not back in nginx's rotation (answering
# subrequests again) before its phase ends.
#
#   benchmarks/restarts.sh [quick|full]    quick: 6 s per phase (CI), full: 10 s
#
# Environment: TKTGATE_BIN, a built tktgate (default: go build); KEEP=1
# keeps the work directory (configs, logs). Needs nginx (nginx-light) and
# wrk; runs as any user (as root, nginx's workers run as root too).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
case $mode in
quick) secs=6 ;;
full) secs=10 ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 2
	;;
esac
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "restarts: nginx is missing (apt-get install nginx-light)" >&2; exit 3; }
command -v wrk >/dev/null || { echo "restarts: wrk is missing (apt-get install wrk)" >&2; exit 3; }

dir=$(mktemp -d /tmp/tktgate-restarts.XXXXXX)
chmod 755 "$dir"
declare -A pid port
cleanup() {
	for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	[[ -f $dir/nginx.pid ]] && kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	if [[ ${KEEP:-0} == 1 ]]; then echo "restarts: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

bin=${TKTGATE_BIN:-}
if [[ -z $bin ]]; then
	bin=$dir/tktgate
	go build -o "$bin" .
fi

# A free loopback port: nothing answers on it now, none of ours, and below
# Linux's ephemeral range (32768 and up), where a client's connection could
# hold it.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		if [[ " ${port[*]} " != *" $p "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
port[a]=$(free_port)
port[b]=$(free_port)
port[nginx]=$(free_port)
port[app]=$(free_port)

# gate_config NAME [EXTRA]: the config of one tktgate; both share the secret
# and the policies, as replicas must.
gate_config() {
	cat <<CONF
listen = "127.0.0.1:${port[$1]}"
log_level = "info"

[ticket]
secret = "restarts-secret"
timeout = "2h"

[client_ip]
header = "X-Real-IP"
trusted_proxies = ["127.0.0.1/32"]

[redirect]
login_url = "/login"

[limits]
shutdown_timeout = "5s"

[policy.admin]
tokens = ["admin"]
${2:-}
CONF
}
for g in a b; do gate_config $g >"$dir/$g.toml"; done

start_gate() {
	"$bin" -config "$dir/$1.toml" >>"$dir/$1.log" 2>&1 &
	pid[$1]=$!
	local i
	for i in $(seq 100); do
		"$bin" healthcheck -config "$dir/$1.toml" >/dev/null 2>&1 && return
		sleep 0.05
	done
	echo "restarts: tktgate $1 not ready after 5 s" >&2
	cat "$dir/$1.log" >&2
	exit 1
}

# metric NAME SELECTOR: the sum of the matching samples of tktgate NAME's
# /metrics (plain bash: no curl needed).
metric() {
	local out
	out=$(exec 3<>"/dev/tcp/127.0.0.1/${port[$1]}" && printf 'GET /metrics HTTP/1.0\r\nHost: m\r\n\r\n' >&3 && cat <&3) || {
		echo 0
		return
	}
	awk -v sel="$2" 'index($0, sel) == 1 { n += $NF } END { printf "%d\n", n }' <<<"$out"
}

# now: microseconds since the epoch.
now() { echo "${EPOCHREALTIME/./}"; }
# since START: the seconds from START (now's) to now.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", (b - a) / 1e6 }'; }

# in_rotation NAME START DEADLINE: wait (until now reaches DEADLINE) for
# nginx to send tktgate NAME subrequests again; sets outcome to how long it
# took from START.
in_rotation() {
	local before
	before=$(metric "$1" tktgate_auth_requests_total)
	while (($(now) < $3)); do
		if (($(metric "$1" tktgate_auth_requests_total) > before)); then
			outcome="$(since "$2") after the signal"
			return
		fi
		sleep 0.05
	done
	outcome="not back before the phase ended"
	return 1
}

# nginx: the shipped files as nginx/README.md installs them, with their
# placeholders replaced, and the application as a server of the same nginx
# (it answers any method, POST included).
mkdir -p "$dir/conf.d" "$dir/snippets" "$dir/sites"
sed -e "s/127\.0\.0\.1:9180/127.0.0.1:${port[a]}/" -e "s/127\.0\.0\.1:9182/127.0.0.1:${port[b]}/" \
	nginx/tktgate-upstream-replicas.conf >"$dir/conf.d/tktgate-upstream-replicas.conf"
cp nginx/tktgate-log.conf "$dir/conf.d/"
cp nginx/tktgate-auth.conf nginx/tktgate-location.conf "$dir/snippets/"
# No access log: a million lines a run, of no use here.
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:${port[app]}/" -e "s/listen 80;/listen 127.0.0.1:${port[nginx]};/" \
	-e "s#access_log /var/log/nginx/access.log tktgate;#access_log off;#" \
	nginx/tktgate.conf >"$dir/sites/tktgate.conf"
grep -q "access_log off;" "$dir/sites/tktgate.conf" || { echo "restarts: tktgate.conf's access_log line changed" >&2; exit 1; }
cat >"$dir/conf.d/app.conf" <<CONF
server {
    listen 127.0.0.1:${port[app]};
    location / { return 200 "ok\n"; }
}
CONF
user=""
[[ $(id -u) == 0 ]] && user="user root;"
cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log notice;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/conf.d/*.conf;
    include $dir/sites/*.conf;
}
CONF

start_gate a
start_gate b
"$nginx" -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf"
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/${port[nginx]}") 2>/dev/null && break
	sleep 0.05
done

tkt=$("$bin" ticket -config "$dir/a.toml" -uid loadtest -tokens admin -data "Load Test")
cat >"$dir/load.lua" <<'LUA'
-- A valid ticket on every request; one in four is a POST with a body
-- (nginx's auth subrequest is a GET whatever the page's method).
-- Every answer but 200 is counted, per status.
local cookie = "auth_tkt=" .. os.getenv("TKT")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() n = 0; bad = 0; codes = "" end
function request()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("POST", "/form", { ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, "x=1")
  end
  return wrk.format("GET", "/page?n=" .. n, { ["Cookie"] = cookie })
end
function response(status)
  if status ~= 200 then
    bad = bad + 1
    if #codes < 60 then codes = codes .. " " .. status end
  end
end
function done()
  local total, codes_all = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    codes_all = codes_all .. t:get("codes")
  end
  io.write(string.format("non-200: %d%s\n", total, codes_all == "" and "" or " (first:" .. codes_all .. ")"))
end
LUA

echo "restarts: $mode, ${secs} s per phase, wrk -t2 -c64, nginx (2 workers) -> tktgate a :${port[a]}, b :${port[b]}; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| phase | event at | requests | req/s | non-200 | socket errors | outcome |"
echo "|---|---|---|---|---|---|---|"
failed=0

# phase NAME EVENT...: wrk for secs seconds, the event a quarter of the way in.
phase() {
	local name=$1 at="—"
	outcome="—"
	shift
	TKT=$tkt wrk -t2 -c64 -d"${secs}s" --timeout 5s -s "$dir/load.lua" "http://127.0.0.1:${port[nginx]}/" >"$dir/wrk-$name.txt" 2>&1 &
	local wrk_pid=$! deadline=$(($(now) + secs * 1000000))
	sleep "$(awk -v s="$secs" 'BEGIN { print s / 4 }')"
	if (($#)); then
		at=$(awk -v s="$secs" 'BEGIN { printf "%.1f s", s / 4 }')
		"$@" "$deadline" || failed=1
	fi
	wait $wrk_pid
	local f=$dir/wrk-$name.txt reqs rps bad sock
	reqs=$(awk '/requests in/ { print $1 }' "$f")
	rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' "$f")
	bad=$(awk '/^non-200:/ { print $2 }' "$f")
	sock=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$f")
	sock=${sock:-0}
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$at" "$reqs" "$rps" "$bad" "$sock" "$outcome"
	if [[ -z $reqs || -z $bad ]]; then
		echo "restarts: wrk failed in phase $name:" >&2
		cat "$f" >&2
		failed=1
	elif ((bad + sock > 0)); then
		failed=1
		grep -E "non-200|Socket errors" "$f" >&2
	fi
}

# The events. Each sets outcome: how long the restarted tktgate took to get
# subrequests from nginx again, or the reloads to happen.
restart() { # SIGNAL NAME DEADLINE
	local start
	start=$(now)
	kill -"$1" "${pid[$2]}"
	wait "${pid[$2]}" 2>/dev/null || true
	# A crashed tktgate stays down a while (systemd's RestartSec).
	[[ $1 == KILL ]] && sleep "$(awk -v s="$secs" 'BEGIN { print s / 5 }')"
	start_gate "$2"
	in_rotation "$2" "$start" "$3"
}
restart_both() { # DEADLINE
	local start g
	start=$(now)
	for g in a b; do
		kill -TERM "${pid[$g]}"
		wait "${pid[$g]}" 2>/dev/null || true
		start_gate $g
	done
	in_rotation a "$start" "$1" && in_rotation b "$start" "$1"
}
hup_both() { # DEADLINE
	local before=$(($(metric a 'tktgate_config_reloads_total{result="success"}') + $(metric b 'tktgate_config_reloads_total{result="success"}')))
	kill -HUP "${pid[a]}" "${pid[b]}"
	reloaded "$before" 2 "$1"
}
edit_both() { # DEADLINE
	local before=$(($(metric a 'tktgate_config_reloads_total{result="success"}') + $(metric b 'tktgate_config_reloads_total{result="success"}')))
	# As an editor saves: a new file renamed over the old one. A new
	# policy, so that the config really changes.
	for g in a b; do
		gate_config $g $'\n[policy.staff]\ntokens = ["staff"]' >"$dir/$g.toml.new"
		mv "$dir/$g.toml.new" "$dir/$g.toml"
	done
	reloaded "$before" 2 "$1"
}
# reloaded BEFORE N DEADLINE: wait until both tktgates count N more
# successful reloads; sets outcome to how long it took.
reloaded() {
	local start
	start=$(now)
	while (($(now) < $3)); do
		if (($(metric a 'tktgate_config_reloads_total{result="success"}') + $(metric b 'tktgate_config_reloads_total{result="success"}') >= $1 + $2)); then
			outcome="both reloaded in $(since "$start")"
			return
		fi
		sleep 0.05
	done
	outcome="not reloaded before the phase ended"
	return 1
}

phase steady
phase term-a restart TERM a
phase term-b restart TERM b
phase term-ab restart_both
phase hup hup_both
phase config edit_both
phase kill-a restart KILL a

# What nginx met and (but for the failures counted above) retried on the
# other tktgate, from its error log, by kind.
echo
echo "nginx's error log, by kind:"
grep -E "\[(warn|error|crit|alert|emerg)\]" "$dir/nginx-error.log" |
	sed -E 's/^[0-9\/: ]+\[([a-z]+)\] [0-9#]+: (\*[0-9]+ )?/[\1] /; s/, client: .*upstream: "([^"]*)".*/ (\1)/; s/, client: .*//' |
	sort | uniq -c | sort -rn | head -12 || true
if ((failed)); then
	echo "restarts: FAIL"
	KEEP=1
	exit 1
fi
echo "restarts: ok: no failed request in any phase"
