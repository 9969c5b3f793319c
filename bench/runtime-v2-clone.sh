#!/bin/sh
# hull-runtime on cgroup v2, inside the nested test VM (tests/nested/l1-run; its kernel mounts
# cgroup2 alone): `run` of /bin/true with the container process moved into its cgroup after
# clone (HULL_CGROUP_NO_CLONE_INTO=1) against created in it by clone3(CLONE_INTO_CGROUP),
# alternated with crun (when installed), medians; then cgroup-tool spawn-bench (the placement
# alone, 200 of each).
# The payload is tests/nested/runtime-v2 in its benchmark mode. Results: docs/cgroups.md.
#
# Usage: bench/runtime-v2-clone.sh [RUNS]      (default 21 runs of each)
#        HULL_RUNTIME=PATH bench/runtime-v2-clone.sh ...   another hull-runtime binary
# Under TCG every instruction is emulated: the figures compare the two ways, they are not the
# speed of hull-runtime on hardware.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-21}
rt=${HULL_RUNTIME:-$ROOT/build/cmd/hull-runtime/hull-runtime}
tool=$ROOT/build/tests/integration/runtime/cgroup-tool
[ -x "$rt" ] && [ -x "$tool" ] || { echo "runtime-v2-clone: run scripts/build release first" >&2; exit 1; }
work=$(mktemp -d /tmp/hull-v2-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
p=$work/payload
mkdir -p "$p"
cp "$ROOT/tests/nested/runtime-v2/run" "$p/run"
cc -static -O2 -Wall -Wextra -Werror -o "$p/probe" "$ROOT/tests/nested/runtime-v2/probe.c"
ln -s "$rt" "$p/hull-runtime"
ln -s "$tool" "$p/cgroup-tool"
# the peer on the same bundle, when installed (Debian's crun 1.8.1 here)
! command -v crun >/dev/null || ln -s "$(command -v crun)" "$p/crun"
echo "$runs" >"$p/bench-runs"
if ! "$ROOT/tests/nested/l1-run" --timeout 1200 "$p" >"$work/log" 2>&1; then
	tail -n 40 "$work/log"
	exit 1
fi
grep -E '^(HULL-BENCH|l1-run:)' "$work/log"
