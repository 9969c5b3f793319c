#!/bin/sh
# seccomp_prepare() on podman's default profile (containers-common's seccomp.json, evaluated
# for podman's default capabilities): without cache, with a cold cache (compile + write) and
# with a warm cache (read + verify), alternated, medians in ms; then the per-syscall cost of
# the loaded filter against no filter, alternated, medians in ns.
# Usage: bench/seccomp-cache.sh [ROUNDS]   (results: docs/benchmarks.md, docs/seccomp.md)
set -eu
cd "$(dirname "$0")/.."
profile=/usr/share/containers/seccomp.json
[ -r $profile ] || { echo "seccomp-cache: $profile is missing (package containers-common)" >&2; exit 1; }
scripts/build release >/dev/null
dir=$(mktemp -d /tmp/hull-bench-seccomp.XXXXXX)
trap 'rm -rf "$dir"' EXIT
build/tests/integration/runtime/seccomp-tool bench $profile "${1:-101}" "$dir/cache"
