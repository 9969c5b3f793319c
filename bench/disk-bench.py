#!/usr/bin/python3
"""Sequential throughput of hull's disk backends against `qemu-img bench` on the same files.

For each format (raw, qcow2, vhd dynamic) and each direction, hull (disk-tool bench) and
qemu-img bench take turns (A/B alternated, --runs rounds). Writes go to a freshly created
image every run (so qcow2 and VHD allocate as they go), reads read the image just written.
Two cache modes: "writeback" (the page cache: qemu-img bench -t writeback, hull without
O_DIRECT) and "none" (O_DIRECT: qemu-img bench -t none, hull --direct). One request at a
time (qemu-img -d 1), --bs bytes per request, --size bytes in all. Writes are timed without
a final flush on both sides (hull --no-flush, qemu-img without --flush-interval): qemu-img's
own timer is the only one it prints, and it is not documented to cover a flush. hull
writes its metadata through at once, qemu keeps it in its cache until a flush or close, so
this measures hull's complete cost against qemu's data path. Prints medians in MiB/s and
the ratio hull/qemu.

Usage: bench/disk-bench.py [--size 256M] [--bs 1M] [--runs 5] [--dir /var/tmp]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "build", "tests", "integration", "vmm", "disk-tool")
FORMATS = [("raw", "raw"), ("qcow2", "qcow2"), ("vhd", "vpc")]


def size_arg(s):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(s[:-1]) * units[s[-1].lower()] if s[-1].lower() in units else int(s)


def create(path, fmt, size):
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run([TOOL, "create", fmt, path, str(size)], check=True)


def hull(path, mode, bs, size, cache="writeback"):
    args = [TOOL, "bench", path, mode, "--bs", str(bs), "--total", str(size), "--no-flush"]
    if cache == "none":
        args.append("--direct")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return r["bytes"] / (1 << 20) / r["seconds"]


def qemu(path, qfmt, mode, bs, size, cache):
    args = ["qemu-img", "bench", "-f", qfmt, "-t", cache, "-d", "1", "-s", str(bs),
            "-c", str(size // bs)]
    if mode == "write":
        args.append("-w")
    t0 = time.monotonic()
    out = subprocess.run(args + [path], check=True, capture_output=True, text=True).stdout
    m = re.search(r"Run completed in ([0-9.]+) seconds", out)
    seconds = float(m.group(1)) if m else time.monotonic() - t0
    return size / (1 << 20) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=size_arg, default=256 << 20)
    ap.add_argument("--bs", type=size_arg, default=1 << 20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    if not os.path.exists(TOOL):
        raise SystemExit("disk-bench: build first (scripts/build release)")
    if not shutil.which("qemu-img"):
        raise SystemExit("disk-bench: qemu-img (qemu-utils) is not installed")
    work = tempfile.mkdtemp(prefix="hull-disk-bench.", dir=a.dir)
    try:
        print(f"sequential, {a.size >> 20} MiB in {a.bs >> 10} KiB requests, queue depth 1, "
              f"{a.runs} alternated runs; medians in MiB/s")
        print(f"{'cache':9} {'format':8} {'mode':6} {'hull':>8} {'qemu-img':>9} {'hull/qemu':>10}")
        for cache, fmt, qfmt, mode in [(c, f, q, m) for c in ("writeback", "none") for f, q in FORMATS
                                       for m in ("write", "read")]:
            img = os.path.join(work, f"img.{fmt}")
            h, q = [], []
            for i in range(a.runs):
                for who in (("hull", "qemu") if i % 2 == 0 else ("qemu", "hull")):
                    if mode == "write":
                        create(img, fmt, a.size)
                    elif not os.path.exists(img):
                        create(img, fmt, a.size)
                        hull(img, "write", a.bs, a.size)
                    if who == "hull":
                        h.append(hull(img, mode, a.bs, a.size, cache))
                    else:
                        q.append(qemu(img, qfmt, mode, a.bs, a.size, cache))
            mh, mq = statistics.median(h), statistics.median(q)
            print(f"{cache:9} {fmt:8} {mode:6} {mh:8.0f} {mq:9.0f} {mh / mq:10.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
