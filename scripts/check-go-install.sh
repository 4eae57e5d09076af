#!/usr/bin/env bash
# Checks that "go install github.com/onecse/onecse/cmd/onecse@<version>"
# works for this checkout, the way a user installs onecse: the module is
# served from a local module proxy (a directory, GOPROXY=file://...) as
# version v0.0.0-check, and go install refuses modules with replace or
# exclude directives, a wrong module path or a main package elsewhere.
# Dependencies come from the usual proxy (or the module cache).
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/onecse/onecse
ver=v0.0.0-check
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
dir="$tmp/proxy/$mod/@v"
mkdir -p "$dir" "$tmp/src/$mod@$ver"
# The files git knows (tracked and new, not ignored), as in a release.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  mkdir -p "$tmp/src/$mod@$ver/$(dirname "$f")"
  cp "$f" "$tmp/src/$mod@$ver/$f"
done
(cd "$tmp/src" && zip -qr "$dir/$ver.zip" "$mod@$ver")
cp go.mod "$dir/$ver.mod"
printf '{"Version":"%s","Time":"2026-01-01T00:00:00Z"}\n' "$ver" >"$dir/$ver.info"
echo "$ver" >"$dir/list"
export GOBIN="$tmp/bin" GOFLAGS= GONOSUMDB="$mod"
export GOPROXY="file://$tmp/proxy,$(go env GOPROXY)"
go install "$mod/cmd/onecse@$ver"
"$GOBIN/onecse" --version
echo "go install $mod/cmd/onecse@$ver: ok"
