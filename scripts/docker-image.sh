#!/usr/bin/env bash
# Build the member image (grid-member:VERSION) from the server distribution, if a Docker daemon is available;
# otherwise say so and succeed. Run scripts/build.sh (or mvn package) first.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "docker-image: no Docker daemon here; the member image is not built (skipped)"
  exit 0
fi
tarball="$(ls -t grid-dist/target/grid-*.tar.gz | head -1)"
version="$(basename "$tarball" .tar.gz)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
docker build -t "grid-member:${version#grid-}" "$work/$version"
