#!/usr/bin/env bash
# Soak: load tktgate with wrk for a few minutes and sample its goroutines
# and resident memory from /metrics, to show both stay flat.
#
#   benchmarks/soak.sh [minutes]      default 3
#
# Prints a table and fails if, after the first minute of warm-up, RSS grew
# by more than 25% or the goroutine count by more than 16.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-3}
command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/tktgate" .
port=19181
cat >"$dir/config.toml" <<CONF
listen = "127.0.0.1:$port"
log_level = "warn"
[ticket]
secret = "soak-secret"
timeout = "2h"
[redirect]
login_url = "/login"
CONF
"$dir/tktgate" -config "$dir/config.toml" 2>"$dir/stderr" &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
tkt=$("$dir/tktgate" ticket -config "$dir/config.toml" -uid soak -tokens a,b -data "Soak User")
# Alternate valid and invalid tickets, so both paths are soaked.
cat >"$dir/mix.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local c = (n % 4 == 0) and "auth_tkt=invalid-invalid-invalid-invalid-invalid" or "auth_tkt=$tkt"
  return wrk.format("GET", "/auth", { ["Cookie"] = "_ga=GA1.2.3; " .. c .. "; lang=en", ["X-Real-IP"] = "127.0.0.1", ["X-Original-URL"] = "https://app.test/p?x=1" })
end
LUA
wrk -t1 -c64 -d"${minutes}m" -s "$dir/mix.lua" "http://127.0.0.1:$port/auth" >"$dir/wrk.txt" &
sample() {
	curl -sf "http://127.0.0.1:$port/metrics" | awk '
		/^go_goroutines / { g = $2 }
		/^process_resident_memory_bytes / { r = $2 }
		/^tktgate_auth_requests_total/ { n += $2 }
		END { printf "%d %d %d\n", g, r, n }'
}
echo "| elapsed | goroutines | RSS (MiB) | answers |"
echo "|---|---|---|---|"
base_g="" base_r="" last=""
for ((s = 0; s <= minutes * 60; s += 15)); do
	read -r g r n < <(sample)
	printf '| %ds | %d | %.1f | %d |\n' "$s" "$g" "$(awk -v r="$r" 'BEGIN { print r / 1048576 }')" "$n"
	if ((s == 60)) || { ((minutes * 60 < 60)) && ((s == 0)); }; then base_g=$g base_r=$r; fi
	last="$g $r"
	sleep 15
done
wait %2 2>/dev/null || true
read -r g r <<<"$last"
echo
grep -E "Requests/sec|requests in" "$dir/wrk.txt" || true
if [[ -n "$base_r" ]] && ((r > base_r * 125 / 100 || g > base_g + 16)); then
	echo "soak: FAIL: after warm-up RSS went $base_r -> $r bytes, goroutines $base_g -> $g"
	exit 1
fi
echo "soak: ok (after warm-up: RSS $base_r -> $r bytes, goroutines $base_g -> $g)"
