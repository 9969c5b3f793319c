#!/usr/bin/python3
"""NIC hot-plug of a running VM (docs/vm.md "Networks"), rounds alternated A/B:

  boot    what the PCIe root ports every QEMU VM now gets cost its boot: QEMU (q35, TCG) boots the
          guest assets' kernel and initramfs to its init marker and powers off, as hull's VMs did
          before (`plain`: the NIC on the root bus) and as they do now (`ports`: the NIC behind a
          root port of its own, 4 spare root ports); the time to the marker and to QEMU's exit.
  connect `hull network connect NET VM` of a running VM (QEMU/TCG, hull-init), then `hull network
          disconnect`; for reference the same of a running container (`ctr`, on the default
          network, the connected one its second). The command's wall
          time: the attach, QMP netdev_add + device_add, the guest configuring the NIC through the
          exec channel (connect); the guest taking it down, device_del until DEVICE_DELETED, the
          detach (disconnect).

hull runs in a network namespace of its own (unshare -n): its bridge and table are private.

Usage: bench/vm-hotplug.py [--rounds N] [--only boot|connect]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import GUEST, NetnsHull


def stats(xs):
    xs = sorted(xs)
    return f"{statistics.median(xs) * 1000:.0f} ms ({xs[0] * 1000:.0f}-{xs[-1] * 1000:.0f})"


def boot_once(tmp, ports):
    tap_less = ["-netdev", "user,id=n0"]  # no tap needed: the guest's view of the PCI layout is what counts
    if ports:
        dev = [a for i in range(4) for a in ("-device", f"pcie-root-port,id=hp{i},bus=pcie.0,addr=0x{4 + i:x},"
                                                         f"chassis={16 + i}")]
        dev += ["-device", "pcie-root-port,id=np0,bus=pcie.0,addr=0x8,chassis=1",
                "-device", "virtio-net-pci,netdev=n0,bus=np0"]
    else:
        dev = ["-device", "virtio-net-pci,netdev=n0,addr=0x8"]
    argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-M", "q35", "-accel",
            "tcg", "-m", "256M", "-no-reboot", "-kernel", os.path.join(GUEST, "vmlinuz"), "-initrd",
            os.path.join(GUEST, "initramfs.cpio.gz"), "-append", "console=ttyS0 panic=-1", "-serial", "stdio",
            *tap_less, *dev]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp)
    marker = None
    for line in p.stdout:
        if marker is None and b"HULL-GUEST-INIT-OK" in line:
            marker = time.monotonic() - t0
    p.wait(timeout=120)
    if marker is None:
        raise SystemExit("the guest never printed its init marker")
    return marker, time.monotonic() - t0


def bench_boot(tmp, rounds):
    res = {"plain": ([], []), "ports": ([], [])}
    boot_once(tmp, True)  # warm the page cache
    for r in range(rounds):
        for k in (("plain", "ports") if r % 2 == 0 else ("ports", "plain")):
            m, e = boot_once(tmp, k == "ports")
            res[k][0].append(m)
            res[k][1].append(e)
    print("| layout | to the init marker | to QEMU's exit |")
    print("|---|---|---|")
    for k, (m, e) in res.items():
        print(f"| {k} | {stats(m)} | {stats(e)} |")
    ratio = statistics.median(res["ports"][0]) / statistics.median(res["plain"][0])
    print(f"ports/plain to the marker: {ratio:.2f}")


def bench_connect(tmp, rounds):
    hull = NetnsHull(os.path.join(tmp, "root"), timeout=180)
    try:
        hull.import_busybox(tmp)
        hull("network", "create", "--subnet", "10.98.0.0/24", "benchnet")
        _, vid = hull("vm", "run", "-d", "--network", "none", "--memory", "256M", "bb", "sleep", "1d")
        # A container on no network cannot be connected (it has no bridged namespace): it starts on the
        # default network and gets a second one.
        _, cid = hull("run", "-d", "bb", "sleep", "1d")
        hull("vm", "exec", vid, "true")  # the guest is up
        res = {k: {"connect": [], "disconnect": []} for k in ("vm", "ctr")}
        for r in range(rounds):
            for k in (("vm", "ctr") if r % 2 == 0 else ("ctr", "vm")):
                target = vid if k == "vm" else cid
                res[k]["connect"].append(hull("network", "connect", "benchnet", target)[0])
                res[k]["disconnect"].append(hull("network", "disconnect", "benchnet", target)[0])
        print("| workload | `network connect` | `network disconnect` |")
        print("|---|---|---|")
        for k, v in res.items():
            print(f"| {k} | {stats(v['connect'])} | {stats(v['disconnect'])} |")
        hull("vm", "rm", "-f", vid)
        hull("rm", "-f", cid)
        hull("network", "rm", "benchnet")
    finally:
        hull.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", choices=("boot", "connect"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hull-vm-hotplug-bench-")
    try:
        if a.only != "connect":
            bench_boot(tmp, a.rounds)
        if a.only != "boot":
            bench_connect(tmp, a.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
