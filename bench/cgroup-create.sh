#!/bin/sh
# Cost of a container cgroup on the critical path of `run`: create (mkdir in every hierarchy,
# cpuset copy on v1), apply (the writes of linux.resources, device rules included), destroy
# (rmdir everywhere). Runs cgroup-tool's bench loop for an empty config and a typical one,
# alternating the two, ROUNDS times; prints each run's per-step medians (µs) as JSON lines.
# Usage: bench/cgroup-create.sh [ITERATIONS] [ROUNDS]   (as root, after scripts/build release)
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000}
rounds=${2:-5}
tool=build/tests/integration/runtime/cgroup-tool
typical="--memory 268435456 --memory-swap 536870912 --pids 1024 --cpu-shares 512 --cpu-quota 50000
 --cpu-period 100000 --device allow:c:10:200:rwm"
for r in $(seq "$rounds"); do
	printf 'round %s empty   ' "$r"; $tool bench "$n" --id "bench$$"
	# shellcheck disable=SC2086
	printf 'round %s typical ' "$r"; $tool bench "$n" --id "bench$$" $typical
done
