#!/usr/bin/python3
"""What a network costs a VM-isolated container, end to end (informational), rounds alternated A/B:

  none     `hull run --rm --isolation vm --network none bb true`: loopback only
  network  the same on a user network with a published port: the engine's veth, address, DNS
           name and rules, then hull-runtime's tap and tc redirects in the container's namespace,
           the tap's fd to the VMM, virtio_net loaded in the guest and the NIC configured by the
           agent, and everything removed by --rm

On this project's hosts the VMM is QEMU under TCG (docs/agent.md): the figures are dominated by
the guest's boot; the difference of the medians is what the network adds.
hull runs in a network namespace of its own (unshare -n): its bridge and table are private.

Usage: bench/isolation-net.py [--rounds N]   ($HULL_AGENT_INITRD: an agent initramfs to use)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
BUSYBOX = os.path.join(ROOT, "assets", "busybox-rootfs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hull-isolation-net-bench-")
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 1d"],
                              stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    pre = ["nsenter", f"--net=/proc/{holder.pid}/ns/net"]
    env = dict(os.environ, HULL_ROOT=os.path.join(tmp, "root"))

    def hull(*args):
        t0 = time.monotonic()
        p = subprocess.run(pre + [HULL, *args], capture_output=True, text=True, env=env, timeout=180)
        if p.returncode != 0:
            raise SystemExit(f"hull {' '.join(args)} failed ({p.returncode}): {p.stderr[-500:]}")
        return time.monotonic() - t0

    try:
        tar = os.path.join(tmp, "bb.tar")
        with tarfile.open(tar, "w") as t:
            t.add(BUSYBOX, arcname=".")
        hull("import", tar, "bb")
        hull("network", "create", "--subnet", "10.97.0.0/24", "benchnet")
        cases = {"none": ["--network", "none"], "network": ["--network", "benchnet", "-p", "18080:80"]}
        # A first, unmeasured run makes the image's root disk.
        hull("run", "--rm", "--isolation", "vm", "--network", "none", "bb", "true")
        res = {k: [] for k in cases}
        for i in range(a.rounds):
            order = list(cases) if i % 2 == 0 else list(reversed(cases))
            for k in order:
                res[k].append(hull("run", "--rm", "--isolation", "vm", *cases[k], "bb", "true"))
        for k, v in res.items():
            print(f"{k:8} median {1000 * statistics.median(v):7.0f} ms  min {1000 * min(v):7.0f}  "
                  f"max {1000 * max(v):7.0f}  (n={len(v)})")
        diff = statistics.median(res["network"]) - statistics.median(res["none"])
        ratio = statistics.median(res["network"]) / statistics.median(res["none"])
        per_round = statistics.median(n - z for n, z in zip(res["network"], res["none"]))
        print(f"network - none: {1000 * diff:.0f} ms (medians), {1000 * per_round:.0f} ms (per-round median); "
              f"ratio {ratio:.2f}")
    finally:
        subprocess.run(pre + [HULL, "rm", "-a", "-f"], env=env, capture_output=True)
        subprocess.run(pre + [HULL, "network", "rm", "-f", "benchnet"], env=env, capture_output=True)
        holder.kill()
        holder.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
