#!/usr/bin/python3
"""The memory a VM-isolated container's VMM takes beside its guest's (docs/agent.md, "Resources"):
the figure hull-runtime subtracts from linux.resources.memory.limit to size the guest.

hull-runtime runs a busybox bundle with io.hull.isolation=vm, a 512 MiB guest and a 2 GiB limit
(so that nothing is reclaimed); the guest fills its /dev/shm (half its memory) and prints how much
of its memory it has used (MemTotal - MemFree). The cgroup's peak (memory.max_usage_in_bytes on
v1, memory.peak on v2 from Linux 5.19) minus the guest's memory as the host saw it touched is the
VMM's share. Pages the guest touched and freed still count on the host: the guest's side is
MemTotal - MemFree at the end plus the memory the kernel keeps for itself, an upper bound of what
the guest touched, so the VMM's share printed is a lower bound.

Usage: bench/isolation-vmm-overhead.py [RUNS [VCPUS]]   (root; HULL_AGENT_INITRD: the agent's initramfs)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = os.path.join(ROOT, "build", "cmd", "hull-runtime", "hull-runtime")
GUEST_MIB = 512
VCPUS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
SCRIPT = ("dd if=/dev/zero of=/dev/shm/fill bs=1M count=1024 2>/dev/null; "
          "awk '/^MemTotal/ {t=$2} /^MemFree/ {f=$2} END {print t, f}' /proc/meminfo")


def peak(cg):
    for f in ("memory.max_usage_in_bytes", "memory.peak"):
        for base in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
            p = os.path.join(base, cg.lstrip("/"), f)
            if os.path.exists(p):
                with open(p) as fh:
                    return int(fh.read())
    raise SystemExit("no memory peak file for the cgroup")


def one(tmp, i):
    bundle = os.path.join(tmp, "b")
    if not os.path.exists(bundle):
        os.makedirs(bundle)
        shutil.copytree(os.path.join(ROOT, "assets", "busybox-rootfs"), os.path.join(bundle, "rootfs"),
                        symlinks=True)
    if os.path.exists(os.path.join(bundle, "config.json")):
        os.unlink(os.path.join(bundle, "config.json"))
    subprocess.run([RUNTIME, "spec"], cwd=bundle, check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        c = json.load(f)
    cg = f"/hull-bench-overhead-{os.getpid()}-{i}"
    c["process"].update(terminal=False, args=["sh", "-c", SCRIPT + "; sleep 3"])
    c["annotations"] = {"io.hull.isolation": "vm", "io.hull.isolation.memory": str(GUEST_MIB),
                        "io.hull.isolation.cpus": str(VCPUS)}
    c["linux"]["resources"] = {"memory": {"limit": 2048 << 20}}
    c["linux"]["cgroupsPath"] = cg
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(c, f)
    state = os.path.join(tmp, "state")
    p = subprocess.Popen([RUNTIME, "--root", state, "run", "-b", bundle, f"ovh{i}"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # the peak is read while the guest sleeps after its report, before the VM goes
    line = p.stdout.readline().split()
    top = peak(cg)
    out, err = p.communicate(timeout=300)
    if len(line) != 2 or p.returncode:
        raise SystemExit(f"run failed ({p.returncode}): {line} {err}")
    total_kib, free_kib = int(line[0]), int(line[1])
    guest_touched = GUEST_MIB - free_kib / 1024  # what the guest's kernel does not list as free
    return top / 2**20, guest_touched, top / 2**20 - guest_touched, total_kib / 1024


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        res = [one(tmp, i) for i in range(runs)]
    print(f"guest {GUEST_MIB} MiB (MemTotal {res[0][3]:.0f} MiB), {VCPUS} vCPUs, {runs} runs, medians:")
    print(f"  cgroup peak            {statistics.median(r[0] for r in res):7.1f} MiB")
    print(f"  guest memory not free  {statistics.median(r[1] for r in res):7.1f} MiB")
    print(f"  the VMM's share        {statistics.median(r[2] for r in res):7.1f} MiB "
          f"(min {min(r[2] for r in res):.1f}, max {max(r[2] for r in res):.1f})")


if __name__ == "__main__":
    main()
