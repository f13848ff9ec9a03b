#!/usr/bin/env bash
# Run the whole test suite, as CI does. Extra arguments go to Maven, e.g. scripts/test.sh -Psoak for the long runs.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp verify "$@"
# The member image, where a Docker daemon runs (it says so and succeeds where none does).
scripts/docker-image.sh
