#!/usr/bin/python3
"""VM lifecycle timings of `hull vm run --rm` (informational), rounds alternated A/B/C:

  qemu-direct  qemu-system-x86_64 q35 with the same kernel and the guest assets' busybox
               initramfs, to that init's power-off: what the VMM alone costs
  hull-kernel  `hull vm run --rm --kernel ... --initrd ...` of the same guest: the VMM plus
               hull (create, monitor, launch, console relay, status, removal)
  hull-image   `hull vm run --rm IMAGE true` of busybox: plus hull's initramfs, the root overlay,
               the config disk, hull-init and the command (the image's ext4 disk is cached by
               a first, unmeasured run)

The VMs run with --network none (a network's attach is measured by bench/vm-net.py), so that
the figures stay comparable with those before VMs had networks.
The backend is whatever hull picks on this host (QEMU with TCG on PVM hosts; `--vmm` to force).
Prints medians and ratios; the machine is shared, so only medians of alternated rounds count.

Usage: bench/vm.py [--rounds N] [--vmm hull|qemu]
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
GUEST = os.path.join(ROOT, "assets", "guest")
BUSYBOX = os.path.join(ROOT, "assets", "busybox-rootfs")


def timed(cmd, env):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode()[-500:]}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--vmm", choices=["hull", "qemu"])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hull-vm-bench-")
    env = dict(os.environ, HULL_ROOT=os.path.join(tmp, "root"), HULL_GUEST_DIR=GUEST)
    try:
        tar = os.path.join(tmp, "bb.tar")
        with tarfile.open(tar, "w") as t:
            t.add(BUSYBOX, arcname=".")
        subprocess.run([HULL, "import", tar, "bb"], check=True, capture_output=True, env=env)
        vmm = ["--vmm", a.vmm] if a.vmm else []
        kernel, initrd = os.path.join(GUEST, "vmlinuz"), os.path.join(GUEST, "initramfs.cpio.gz")
        cases = {
            "qemu-direct": ["qemu-system-x86_64", "-M", "q35", "-accel", "tcg", "-m", "512M", "-nodefaults",
                            "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio",
                            "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1"],
            "hull-kernel": [HULL, "vm", "run", "--rm", "--network", "none"] + vmm + ["--kernel", kernel, "--initrd", initrd],
            "hull-image": [HULL, "vm", "run", "--rm", "--network", "none"] + vmm + ["bb", "true"],
        }
        timed(cases["hull-image"], env)  # makes the image's disk and hull's initramfs
        res = {k: [] for k in cases}
        names = list(cases)
        for r in range(a.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for k in order:
                res[k].append(timed(cases[k], env))
        base = statistics.median(res["qemu-direct"])
        print(f"{'case':<12} {'median s':>9} {'min s':>7} {'max s':>7} {'vs qemu-direct':>15}")
        for k in names:
            m = statistics.median(res[k])
            print(f"{k:<12} {m:9.3f} {min(res[k]):7.3f} {max(res[k]):7.3f} {m / base:14.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
