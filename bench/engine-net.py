#!/usr/bin/python3
"""Container networking through the `hull` CLI against podman, side by side in one run.

  setup   `run --rm IMAGE /bin/true` on the default network and with --network none, hull and
          podman, the four variants rotated in every round; medians, and the time the default
          network adds over none (each engine's own network setup and teardown).
  c2c     iperf3 TCP throughput between two containers of one network (a server `run -d` and a
          client `run --rm`), hull's default network against podman's.
  port    iperf3 TCP throughput from another host (a client namespace over a veth link) to a
          container through a published port (host 15201 -> container 5201).

Each engine runs in its own anonymous "host" network namespace (unshare -n; linked to a client
namespace for `port`), so that neither touches the machine's links and rules, and with a private
store. podman: --cgroup-manager=cgroupfs --events-backend=file --runtime runc (crun 1.8.1 refuses
this machine's hybrid cgroup layout), --ulimit nofile/nproc (root here cannot raise them), the
busybox rootfs and a rootfs with iperf3 and its libraries as --rootfs; hull: the same two
directories imported as images. Both run the same iperf3 binary.

Usage: bench/engine-net.py [setup|c2c|port ...] [--rounds N] [--runs N] [--seconds S]
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
BUSYBOX = os.path.realpath(os.path.join(ROOT, "assets", "busybox-rootfs"))

_spec = importlib.util.spec_from_file_location("net_bench", os.path.join(ROOT, "bench", "net-bench.py"))
nb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb)
ULIMITS, PODMAN = nb.ULIMITS, nb.PODMAN


def spawn(cmd, env=None):
    """Run cmd to completion with /dev/null as stdin and stdout: wall seconds and exit status."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        print(f"failed ({p.returncode}): {' '.join(cmd[-6:])}: {p.stderr.strip()[-300:]}", file=sys.stderr)
    return wall, p.returncode


def tar_of(d, path):
    with tarfile.open(path, "w") as t:
        t.add(d, arcname=".")
    return path


class HullSide:
    def __init__(self, work, ns):
        self.ns = ns
        self.root = tempfile.mkdtemp(prefix="hull.", dir=work)
        # The network state on a tmpfs, where the default root keeps it (/run/hull): with a --root of
        # its own hull puts it in <root>/run, here on disk.
        self.run_root = tempfile.mkdtemp(prefix="hull-run.", dir="/dev/shm")
        self.env = dict(os.environ, HULL_RUNROOT=self.run_root)

    def cmd(self, *args):
        return [*self.ns.enter, HULL, "--root", self.root, *map(str, args)]

    def run(self, *args, check=True):
        return nb.sh(*self.cmd(*args), check=check, env=self.env)

    def close(self):
        self.run("rm", "-a", "-f", check=False)
        shutil.rmtree(self.run_root, ignore_errors=True)


class PodmanSide:
    def __init__(self, work, ns):
        self.ns = ns
        # podman refuses a runroot longer than 50 characters.
        self.base = [*PODMAN, "--root", tempfile.mkdtemp(prefix="podman.", dir=work), "--runroot",
                     tempfile.mkdtemp(prefix="hbp.", dir="/tmp")]
        self.env = None

    def cmd(self, *args):
        return [*self.ns.enter, *self.base, *map(str, args)]

    def run(self, *args, check=True):
        return nb.sh(*self.cmd(*args), check=check)

    def close(self):
        self.run("rm", "-a", "-f", check=False)
        self.run("system", "reset", "-f", check=False)
        shutil.rmtree(self.base[-1], ignore_errors=True)


def bench_setup(work, rounds):
    hns, pns = nb.Netns(), nb.Netns()
    hull, podman = HullSide(work, hns), PodmanSide(work, pns)
    try:
        hull.run("import", tar_of(BUSYBOX, os.path.join(work, "bb.tar")), "bb")
        variants = {
            "hull default network": (hull.cmd("run", "--rm", "bb", "/bin/true"), hull.env),
            "hull --network none": (hull.cmd("run", "--rm", "--network", "none", "bb", "/bin/true"), hull.env),
            "podman default network": (podman.cmd("run", "--rm", *ULIMITS, "--rootfs", BUSYBOX, "/bin/true"), None),
            "podman --network none": (podman.cmd("run", "--rm", *ULIMITS, "--network", "none", "--rootfs", BUSYBOX,
                                                 "/bin/true"), None),
        }
        for cmd, env in variants.values():  # create the default networks, warm the caches
            for _ in range(2):
                spawn(cmd, env)
        res = {k: [] for k in variants}
        fails = {k: 0 for k in variants}
        pairs = {"hull": [], "podman": []}
        names = list(variants)
        for i in range(rounds):
            this = {}
            for k in names[i % 4:] + names[:i % 4]:
                w, code = spawn(*variants[k])
                if code == 0:
                    res[k].append(w * 1000)
                    this[k] = w * 1000
                else:
                    fails[k] += 1
            # Both variants of an engine ran within the same round, a few ms apart: their difference
            # is less exposed to the load drifting on this shared machine than a difference of medians.
            for e in pairs:
                if f"{e} default network" in this and f"{e} --network none" in this:
                    pairs[e].append(this[f"{e} default network"] - this[f"{e} --network none"])
        print(f"\n`run --rm IMAGE /bin/true`, {rounds} rounds, the four variants rotated, medians")
        print("| variant | wall | failures |\n|---|---:|---:|")
        for k in names:
            print(f"| {k} | {statistics.median(res[k]):.1f} ms | {fails[k]} |")
        for e in ("hull", "podman"):
            added = statistics.median(res[f"{e} default network"]) - statistics.median(res[f"{e} --network none"])
            print(f"\n{e}: the default network adds {added:.1f} ms (difference of the medians); "
                  f"{statistics.median(pairs[e]):.1f} ms (median of the {len(pairs[e])} per-round differences)")
    finally:
        hull.close()
        podman.close()
        hns.close()
        pns.close()


def hull_iperf(work, rootfs, seconds, through_port):
    lan = nb.Lan()
    h = HullSide(work, lan.host)
    try:
        h.run("import", tar_of(rootfs, os.path.join(h.root, "iperf.tar")), "iperf")
        h.run("run", "-d", "--name", "srv", "-p", "15201:5201", "iperf", "/usr/bin/iperf3", "-s", "-1")
        ip = h.run("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "srv").stdout.strip()
        time.sleep(0.5)
        if through_port:
            out = lan.client.run("iperf3", "-c", "198.51.100.1", "-p", "15201", "-t", seconds, "-J").stdout
        else:
            out = h.run("run", "--rm", "iperf", "/usr/bin/iperf3", "-c", ip, "-t", seconds, "-J").stdout
        return nb.iperf_gbps(out)
    finally:
        h.close()
        lan.close()


def bench_iperf(work, kind, runs, seconds):
    rootfs, _ = nb.iperf_rootfs(tempfile.mkdtemp(prefix="iperf.", dir=work))
    h, p = [], []
    for i in range(runs):
        sides = [("hull", h, lambda: hull_iperf(work, rootfs, seconds, kind == "port")),
                 ("podman", p, lambda: nb.podman_iperf(rootfs, seconds, kind == "port"))]
        for _, acc, fn in sides if i % 2 == 0 else reversed(sides):
            acc.append(nb.retried(fn))
    what = "container to container" if kind == "c2c" else "another host to a published port"
    print(f"\niperf3 {what}: hull {statistics.median(h):.2f} Gbit/s, podman {statistics.median(p):.2f} Gbit/s, "
          f"hull/podman {statistics.median(h) / statistics.median(p):.2f} ({runs} runs of {seconds} s alternated; "
          f"hull {[round(v, 2) for v in h]}, podman {[round(v, 2) for v in p]})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="*", default=["setup", "c2c", "port"])
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/engine-net.py runs containers: run it as root")
    if shutil.which("podman") is None or shutil.which("iperf3") is None:
        sys.exit("bench/engine-net.py needs podman and iperf3")
    work = tempfile.mkdtemp(prefix="hull-bench-engine-net-")
    print(f"# bench/engine-net.py {' '.join(a.what)} --rounds {a.rounds} --runs {a.runs} --seconds {a.seconds}")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    try:
        for w in a.what:
            if w == "setup":
                bench_setup(work, a.rounds)
            else:
                bench_iperf(work, w, a.runs, a.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
