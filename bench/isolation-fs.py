#!/usr/bin/python3
"""A VM-isolated container's volume through virtio-fs against the ext4 copy (informational),
rounds alternated A/B:

  share  `hull run --rm --isolation vm --network none -v DIR:/data bb sh -c SCRIPT`: DIR shared
         live through virtiofsd (docs/agent.md, "Shared directories")
  copy   the same with HULL_VIRTIOFSD= (no virtiofsd): DIR becomes an ext4 disk at create and
         is copied back (debugfs rdump) after the VM has powered off

SCRIPT writes a file of --mib MiB to /data with dd (and syncs), drops the guest's page cache,
reads it back with dd; each is timed by the guest's /proc/uptime (10 ms resolution). The wall time of the whole `hull run` includes
making and copying back the disk (copy) or starting and reaping virtiofsd (share). DIR starts
empty each run. On this project's hosts the VMM is QEMU under TCG (docs/agent.md): the guest's
CPU is emulated, so throughputs are low for both and the ratio is what matters.
hull runs in a network namespace of its own (unshare -n).

Usage: bench/isolation-fs.py [--rounds N] [--mib M]   ($HULL_AGENT_INITRD: an agent initramfs to use)
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
BUSYBOX = os.path.join(ROOT, "assets", "busybox-rootfs")
STAMP = re.compile(r"^T ([0-9.]+)$", re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=32)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hull-isolation-fs-bench-")
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 1d"],
                              stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    pre = ["nsenter", f"--net=/proc/{holder.pid}/ns/net"]
    base_env = dict(os.environ, HULL_ROOT=os.path.join(tmp, "root"))
    data = os.path.join(tmp, "data")
    # Guest uptime stamps (10 ms resolution) around each dd; the write includes its sync.
    up = "echo T $(cut -d' ' -f1 /proc/uptime)"
    script = (f"{up}; dd if=/dev/zero of=/data/f bs=1M count={a.mib} 2>/dev/null && sync; {up}; "
              f"echo 3 > /proc/sys/vm/drop_caches; {up}; dd if=/data/f of=/dev/null bs=1M 2>/dev/null; {up}")

    def hull(*args, env=None):
        t0 = time.monotonic()
        p = subprocess.run(pre + [HULL, *args], capture_output=True, text=True, env=env or base_env, timeout=600)
        if p.returncode != 0:
            raise SystemExit(f"hull {' '.join(args)} failed ({p.returncode}): {p.stderr[-500:]}")
        return time.monotonic() - t0, p.stdout

    try:
        tar = os.path.join(tmp, "bb.tar")
        with tarfile.open(tar, "w") as t:
            t.add(BUSYBOX, arcname=".")
        hull("import", tar, "bb")
        # A first, unmeasured run makes the image's root disk.
        hull("run", "--rm", "--isolation", "vm", "--network", "none", "bb", "true")
        cases = {"share": base_env, "copy": dict(base_env, HULL_VIRTIOFSD="")}
        res = {k: {"wall": [], "write": [], "read": []} for k in cases}
        for i in range(a.rounds):
            order = list(cases) if i % 2 == 0 else list(reversed(cases))
            for k in order:
                shutil.rmtree(data, ignore_errors=True)
                os.mkdir(data)
                wall, out = hull("run", "--rm", "--isolation", "vm", "--network", "none", "-v", f"{data}:/data",
                                 "bb", "sh", "-c", script, env=cases[k])
                t = [float(x) for x in STAMP.findall(out)]
                secs = [t[1] - t[0], t[3] - t[2]] if len(t) == 4 else []
                if len(secs) != 2 or os.path.getsize(os.path.join(data, "f")) != a.mib << 20:
                    raise SystemExit(f"{k}: unexpected output or file: {out!r}")
                res[k]["wall"].append(wall)
                res[k]["write"].append(a.mib / secs[0] if secs[0] else float("inf"))
                res[k]["read"].append(a.mib / secs[1] if secs[1] else float("inf"))
        print(f"{a.rounds} rounds, {a.mib} MiB, medians (min-max)")
        for k, r in res.items():
            w, wr, rd = r["wall"], r["write"], r["read"]
            print(f"{k:6s} run {statistics.median(w) * 1000:6.0f} ms ({min(w) * 1000:.0f}-{max(w) * 1000:.0f})"
                  f"  write {statistics.median(wr):6.1f} MiB/s ({min(wr):.1f}-{max(wr):.1f})"
                  f"  read {statistics.median(rd):6.1f} MiB/s ({min(rd):.1f}-{max(rd):.1f})")
        s, c = res["share"], res["copy"]
        print(f"share/copy: run {statistics.median(s['wall']) / statistics.median(c['wall']):.2f}, "
              f"write {statistics.median(s['write']) / statistics.median(c['write']):.2f}, "
              f"read {statistics.median(s['read']) / statistics.median(c['read']):.2f}")
    finally:
        subprocess.run(pre + [HULL, "rm", "-a", "-f"], capture_output=True, env=base_env)
        subprocess.run(pre + [HULL, "network", "prune"], capture_output=True, env=base_env)
        holder.kill()
        holder.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
