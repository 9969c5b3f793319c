#!/usr/bin/python3
"""What the OCI runtime costs a real client: wall time of `podman run --rm IMAGE true` and of
`ctr run --rm IMAGE ID true` with hull-runtime and with runc, alternated A/B, medians.

The clients run with the private set-up of the integration tests (tests/integration/clients):
podman with its own storage (vfs) and containers.conf, containerd started here on its own socket.
Usage (as root, after scripts/build release and scripts/prepare-assets):
    bench/clients-bench.py [--rounds N] [--peer /usr/sbin/runc] [--only podman|containerd]
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"),  # hulltest
                os.path.join(ROOT, "tests", "integration", "clients")]  # clienttest
# The fixtures' classes (tests/integration/clients/conftest.py), used without pytest.
_spec = importlib.util.spec_from_file_location(
    "clients_conftest", os.path.join(ROOT, "tests", "integration", "clients", "conftest.py"))
clients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(clients)


def timed(cmd, env=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return dt


def report(what, samples):
    a, b = (statistics.median(samples[k]) * 1000 for k in ("hull", "peer"))
    print(f"{what}: hull-runtime {a:.0f} ms, peer {b:.0f} ms, hull/peer {a / b:.2f} "
          f"({len(samples['hull'])} runs each)", flush=True)


def bench_podman(rounds, peer, tars):
    base = tempfile.mkdtemp(prefix="hbench-podman-", dir="/tmp")
    p = clients.Podman(base, "hbench")
    try:
        p("import", "--change", "CMD=/bin/sh", tars[0], p.IMAGE, timeout=120)
        runtimes = {"hull": p.runtime, "peer": peer}
        samples = {"hull": [], "peer": []}
        for r in range(rounds + 1):
            for k in (("hull", "peer") if r % 2 else ("peer", "hull")):
                cmd = p.cmd("run", "--rm", *p.run_opts(), p.IMAGE, "true")
                cmd[cmd.index("--runtime") + 1] = runtimes[k]
                dt = timed(cmd, env=p.env)
                if r:  # the first round warms caches and is not counted
                    samples[k].append(dt)
        report("podman run --rm IMAGE true", samples)
    finally:
        p.teardown()


def bench_containerd(rounds, peer, tars):
    base = tempfile.mkdtemp(prefix="hbench-ctrd-", dir="/tmp")
    c = clients.Containerd(base, "hbench")
    try:
        c.start()
        c("images", "import", tars[1], timeout=120)
        samples = {"hull": [], "peer": []}
        for r in range(rounds + 1):
            for k in (("hull", "peer") if r % 2 else ("peer", "hull")):
                cid = f"b{r}{k}"
                opts = c.run_opts(cid)
                if k == "peer":
                    opts[opts.index("--runc-binary") + 1] = peer
                    opts[opts.index("--runc-root") + 1] = os.path.join(base, "peer-root")
                dt = timed(c.cmd("run", "--rm", *opts, c.IMAGE, cid, "true"))
                if r:
                    samples[k].append(dt)
        report("ctr run --rm IMAGE ID true", samples)
    finally:
        c.teardown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--peer", default="/usr/sbin/runc")
    ap.add_argument("--only", choices=["podman", "containerd"])
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="hbench-img-", dir="/tmp")
    tars = clients.build_busybox_tars(d)
    try:
        if a.only in (None, "podman"):
            bench_podman(a.rounds, a.peer, tars)
        if a.only in (None, "containerd"):
            bench_containerd(a.rounds, a.peer, tars)
    finally:
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
