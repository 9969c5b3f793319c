#!/usr/bin/python3
"""What a hull network costs a VM's start and removal (informational), rounds alternated A/B:

  none     `hull vm start` of a VM created with --network none, then `hull vm rm -f`
  network  the same VM on a user network: the start attaches a tap (record, tap on the bridge,
           lease, DNS names, nftables rules of a published port), rm -f detaches it

`vm start` returns once the monitor runs the VMM (the guest's boot is not waited for), so the
difference of the medians is hull's attach; rm -f (1.5 s after the start) kills the VMM and,
with a network, detaches.
hull runs in a network namespace of its own (unshare -n): its bridge and table are private.

Usage: bench/vm-net.py [--rounds N]
"""
import argparse
import os
import shutil
import statistics
import tempfile
import time

from benchlib import NetnsHull


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hull-vm-net-bench-")
    hull = NetnsHull(os.path.join(tmp, "root"))
    try:
        hull.import_busybox(tmp)
        hull("network", "create", "--subnet", "10.98.0.0/24", "benchnet")
        cases = {"none": ["--network", "none"], "network": ["--network", "benchnet", "-p", "18080:8080"]}
        # A first, unmeasured VM makes the cached image disk and initramfs.
        _, vid = hull("vm", "create", "bb", "sleep", "60")
        hull("vm", "start", vid)
        hull("vm", "rm", "-f", vid)
        res = {k: {"start": [], "rm": []} for k in cases}
        for _ in range(a.rounds):
            for k, opts in cases.items():
                _, vid = hull("vm", "create", *opts, "bb", "sleep", "60")
                res[k]["start"].append(hull("vm", "start", vid)[0])
                # The monitor's control connection is up (a VMM killed before it connects keeps the
                # monitor retrying for up to 5 s: that would be measured instead of the removal).
                time.sleep(1.5)
                res[k]["rm"].append(hull("vm", "rm", "-f", vid)[0])
        print(f"{a.rounds} rounds, medians (min-max), ms:")
        for step in ("start", "rm"):
            m = {k: statistics.median(res[k][step]) * 1000 for k in cases}
            for k in cases:
                v = res[k][step]
                print(f"  vm {step:5} {k:8} {m[k]:7.1f} ({min(v) * 1000:.1f}-{max(v) * 1000:.1f})")
            print(f"  vm {step:5} network - none: {m['network'] - m['none']:+.1f} ms, "
                  f"ratio {m['network'] / m['none']:.2f}")
        hull("network", "rm", "benchnet")
        hull("network", "prune")
    finally:
        hull.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
