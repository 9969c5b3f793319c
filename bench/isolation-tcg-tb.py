#!/usr/bin/python3
"""The cost of bounding QEMU's TCG translation cache for VM-isolated containers (docs/agent.md,
"Resources"): hull-runtime boots QEMU under TCG with -accel tcg,tb-size=64 so that the VMM's share
of the container's memory limit is known. This boots the guest kernel with the agent's initramfs
and hull.agent=off (the agent sets the guest up and powers off: the microVM alone) with QEMU's
default cache and with tb-size=64, alternated, and reports median wall time and peak RSS of each.

Usage: bench/isolation-tcg-tb.py [RUNS]   (HULL_AGENT_INITRD: the agent's initramfs to boot)
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(ROOT, "assets", "guest", "vmlinuz")
INITRD = os.environ.get("HULL_AGENT_INITRD") or os.path.join(ROOT, "assets", "guest", "agent.cpio")


def boot(accel):
    argv = ["qemu-system-x86_64", "-M", "q35", "-accel", accel, "-m", "256", "-smp", "1", "-nodefaults",
            "-no-user-config", "-nographic", "-no-reboot", "-serial", "null", "-kernel", KERNEL,
            "-initrd", INITRD, "-append", "console=ttyS0 panic=-1 hull.agent=off quiet"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except BaseException:
        p.kill()
        raise
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"qemu exited with {p.returncode} ({accel})")
    return time.monotonic() - t0, ru.ru_maxrss / 1024


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    kinds = {"tcg (default cache)": "tcg", "tcg,tb-size=64": "tcg,tb-size=64"}
    res = {k: [] for k in kinds}
    for i in range(runs):
        order = list(kinds) if i % 2 == 0 else list(reversed(kinds))
        for k in order:
            res[k].append(boot(kinds[k]))
    print(f"{'accel':22} {'median s':>9} {'min s':>7} {'max s':>7} {'median peak RSS MiB':>20}")
    for k, v in res.items():
        t = [x[0] for x in v]
        m = [x[1] for x in v]
        print(f"{k:22} {statistics.median(t):9.2f} {min(t):7.2f} {max(t):7.2f} {statistics.median(m):20.1f}")


if __name__ == "__main__":
    main()
