#!/usr/bin/env bash
# Builds the release archives with plain go build, named and laid out as
# Flux's plugin catalog and GoReleaser (.goreleaser.yaml) name them:
#   dist/flux-mirror_<version>_<os>_<arch>.tar.gz (.zip for windows),
# the binary at the archive root beside README.md and LICENSE (if present),
# and dist/flux-mirror_<version>_checksums.txt (sha256, sha256sum format).
# Usage: VERSION=v1.2.3 hack/dist.sh linux/amd64 darwin/arm64 ...
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
version=${VERSION:-dev}
version=${version#v}
out=dist
rm -rf "$out" && mkdir -p "$out"
ldflags="-s -w -X github.com/fluxcd/flux-mirror/cli/app.version=${VERSION:-dev}"
extras=(README.md)
[ -f LICENSE ] && extras+=(LICENSE)
for platform in "$@"; do
	os=${platform%/*} arch=${platform#*/}
	name="flux-mirror_${version}_${os}_${arch}"
	stage="$out/.stage/$name"
	mkdir -p "$stage"
	bin=flux-mirror
	[ "$os" = windows ] && bin=flux-mirror.exe
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$stage/$bin" ./cli/cmd/flux-mirror
	cp "${extras[@]}" "$stage/"
	# Reproducible archives: fixed owner, order and timestamps.
	if [ "$os" = windows ]; then
		(cd "$stage" && TZ=UTC touch -t 200001010000 ./* && python3 -c '
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(sys.argv[2:]):
        i = zipfile.ZipInfo(f, (2000, 1, 1, 0, 0, 0))
        i.external_attr = (0o755 if f.endswith(".exe") else 0o644) << 16
        i.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(i, open(f, "rb").read())
' "../../$name.zip" $(ls))
	else
		tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
			-czf "$out/$name.tar.gz" $(ls "$stage")
	fi
	echo "built $out/$name"
done
rm -rf "$out/.stage"
(cd "$out" && shopt -s nullglob && sha256sum -- *.tar.gz *.zip > "flux-mirror_${version}_checksums.txt")
(cd "$out" && sha256sum -c --quiet "flux-mirror_${version}_checksums.txt")
