#!/usr/bin/env bash
# Fails when a module, built alone (GOWORK=off), would compile other
# dependency versions than the workspace selects for it. Aligned versions
# keep builds reproducible between `go build` in the workspace and in a
# module, and let the standalone checks reuse the build cache.
# Fix: go work sync && make tidy
set -euo pipefail
deps() { go list -deps -test -f '{{with .Module}}{{if not .Replace}}{{.Path}}@{{.Version}}{{end}}{{end}}' ./... | grep -v '^github.com/fluxcd/flux-mirror/' | sort -u; }
status=0
for m in "$@"; do
	if ! diff=$(cd "$m" && diff <(deps) <(GOWORK=off deps)); then
		echo "$m: GOWORK=off resolves other versions than the workspace (< workspace, > alone):"
		echo "$diff" | grep '^[<>]'
		status=1
	fi
done
if [ $status -ne 0 ]; then echo "fix: go work sync && make tidy"; fi
exit $status
