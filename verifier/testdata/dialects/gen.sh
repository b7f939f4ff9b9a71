#!/bin/sh
# Regenerate vectors.json from the real dialect libraries:
#   node    passport-authtkt 0.0.2 behind cookie-parser 1.4.7, pinned by
#           package.json + package-lock.json, installed here into a
#           temporary directory (gen.js)
#   python  Pyramid 2.0 and WebOb 1.8 from Debian (python3-pyramid, visible
#           to /usr/bin/python3 only; gen.py)
# vectors.py holds the fixed inputs, runs both and writes vectors.json. The
# expectations are the libraries' own verdicts; vectors.py stops if one
# disagrees with what it was told to expect. Output is deterministic.
#
# Usage: verifier/testdata/dialects/gen.sh   (needs /usr/bin/python3 with
#        python3-pyramid, node, npm and access to the npm registry)
set -eu
cd "$(dirname "$0")"

for bin in /usr/bin/python3 node npm; do
	command -v "$bin" >/dev/null 2>&1 || { echo "gen.sh: $bin not found" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

NODE_PATH="$tmp/node_modules" /usr/bin/python3 vectors.py
