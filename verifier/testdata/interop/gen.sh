#!/bin/sh
# Regenerate vectors.json from the real auth_tkt generators:
#   perl    Apache::AuthTkt (libapache2-mod-auth-tkt; gen.pl)
#   python  paste.auth.auth_tkt and pyramid (python3-paste, python3-pyramid,
#           visible to /usr/bin/python3 only; gen.py)
#   node    passport-authtkt, pinned by package.json + package-lock.json,
#           installed here into a temporary directory (gen.js)
# vectors.py holds the fixed inputs and the expectations, runs the three
# generators and writes vectors.json. Output is deterministic.
#
# Usage: verifier/testdata/interop/gen.sh   (needs perl, /usr/bin/python3,
#        node, npm and access to the npm registry)
set -eu
cd "$(dirname "$0")"

for bin in perl /usr/bin/python3 node npm; do
	command -v "$bin" >/dev/null 2>&1 || { echo "gen.sh: $bin not found" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

NODE_PATH="$tmp/node_modules" /usr/bin/python3 vectors.py
