#!/usr/bin/env bash
# govulncheck without vuln.go.dev: CI reaches only the package registries,
# so build the vulnerability database from the golang.org/x/vulndb module
# (its data/osv files) with that module's own indexdb, then point
# govulncheck at it. With vuln.go.dev reachable, plain
# `go run golang.org/x/vuln/cmd/govulncheck@latest ./...` does the same.
set -euo pipefail
version=${1:-v1.9.0}
vulndb=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
dir=$(go mod download -json "golang.org/x/vulndb@$vulndb" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
(cd "$dir" && GOFLAGS=-mod=mod go run ./cmd/indexdb -vulns data/osv -out "$db")
echo "vulnerability database: golang.org/x/vulndb@$vulndb ($(ls "$db/ID" | wc -l) entries)"
go run "golang.org/x/vuln/cmd/govulncheck@$version" -db "file://$db" ./...
