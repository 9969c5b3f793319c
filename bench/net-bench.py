#!/usr/bin/python3
"""hull's network library against podman's default networking (CNI bridge, podman 4.3).

Three measurements, each side in its own anonymous "host" network namespace (unshare -n), so
that neither touches the machine's own links and rules and both start from the same empty
state; sides alternate A/B, --runs rounds, medians reported.

  setup   What networking adds to a container start and removal.
          hull: the library calls the engine makes around `run --rm` (net-tool bench: attach a
          fresh container named by its pid with a name for DNS and one published port; detach
          it after it died), in-process, state under a tmpfs run directory as /run/hull.
          podman: `podman run --rm IMAGE /bin/true` on its default network minus the same with
          --network none (podman's own figure for its network setup and teardown).
  c2c     iperf3 TCP throughput between two containers of one network (10 s per run).
  port    iperf3 TCP throughput from another host (a client namespace over a veth link) to a
          container through a published port (host 15201 -> container 5201).
  scale   hull only: the attach cost with 0 and with --standing containers already attached,
          each with a published port (does the cost grow with the node's containers?).

podman runs with --runtime runc (crun 1.8.1 refuses this machine's hybrid cgroup layout) and
--rootfs (no registry here): busybox for `setup`, a directory with iperf3 and its libraries
for iperf3. Both sides run the same iperf3 binary.

Usage: bench/net-bench.py [setup|c2c|port|scale ...] [--runs N] [--iterations N] [--seconds S]
                          [--standing N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET_TOOL = os.path.join(ROOT, "build", "tests", "integration", "net", "net-tool")
HULL_DNS = os.path.join(ROOT, "build", "cmd", "hull-dns", "hull-dns")
BUSYBOX_ROOTFS = os.path.join(ROOT, "assets", "busybox-rootfs")
PODMAN = ["podman", "--cgroup-manager=cgroupfs", "--events-backend=file", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def sh(*args, check=True, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def retried(fn, *args, tries=3):
    """Run one measurement, again after a failure (another run on this shared machine may
    disturb a podman container); the last failure is raised."""
    for i in range(tries):
        try:
            return fn(*args)
        except RuntimeError as e:
            if i == tries - 1:
                raise
            print(f"retrying after: {e}", file=sys.stderr)


class Netns:
    def __init__(self):
        self.p = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 1d"],
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready"
        self.pid = self.p.pid
        self.enter = ["nsenter", f"--net=/proc/{self.pid}/ns/net"]

    def run(self, *args, **kw):
        return sh(*self.enter, *args, **kw)

    def close(self):
        self.p.kill()
        self.p.communicate()


class Lan:
    """A host namespace and a client namespace linked by a veth (198.51.100.1 / .2)."""

    def __init__(self):
        self.host, self.client = Netns(), Netns()
        self.host.run("ip", "link", "add", "hbu0", "type", "veth", "peer", "name", "hbu1", "netns", self.client.pid)
        self.host.run("ip", "addr", "add", "198.51.100.1/24", "dev", "hbu0")
        self.host.run("ip", "link", "set", "hbu0", "up")
        self.client.run("ip", "addr", "add", "198.51.100.2/24", "dev", "hbu1")
        self.client.run("ip", "link", "set", "hbu1", "up")

    def close(self):
        self.host.close()
        self.client.close()


def iperf_rootfs(work):
    """A root file system with iperf3 and the libraries it links to."""
    root = os.path.join(work, "iperf-rootfs")
    exe = shutil.which("iperf3")
    os.makedirs(os.path.join(root, "tmp"))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    libs = [l.split("=>")[-1].split()[0] for l in sh("ldd", exe).stdout.splitlines() if "/" in l]
    for f in [exe] + libs:
        dst = os.path.join(root, f.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(f, dst)
    for d in ("proc", "sys", "dev", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\n")
    return root, exe


def iperf_gbps(out):
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


# ------------------------------------------------------------------ hull side

class Hull:
    def __init__(self, work, lan=None):
        self.work = tempfile.mkdtemp(prefix="hull-net-bench.", dir=work)
        self.run_dir = tempfile.mkdtemp(prefix="hull-net-bench.", dir="/dev/shm")
        self.lan = lan or Lan()
        self.tool = [*self.lan.host.enter, NET_TOOL, "--root", self.work, "--run", self.run_dir, "--dns-helper",
                     HULL_DNS]
        sh(*self.tool, "create", "bn", "--subnet", "10.89.192.0/20")

    def net(self, *args):
        return sh(*self.tool, *args).stdout

    def close(self):
        sh(*self.tool, "rm", "--force", "bn", check=False)
        self.lan.close()
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def hull_setup(work, iterations):
    h = Hull(work)
    try:
        r = json.loads(h.net("bench", iterations, "bn", "-p", "18080:80"))
        return r["attach_us"]["median"] / 1000, r["detach_us"]["median"] / 1000, r["attach_cpu_us"]["median"] / 1000
    finally:
        h.close()


def hull_scale(work, iterations, standing):
    """attach medians (wall, CPU) with `standing` containers attached, each with a published port."""
    h = Hull(work)
    holders = []
    try:
        for i in range(standing):
            ns = Netns()
            holders.append(ns)
            h.net("attach", "bn", f"s{i}", "--netns", f"/proc/{ns.pid}/ns/net", "-p", f"{30000 + i}:80")
        r = json.loads(h.net("bench", iterations, "bn", "-p", "18080:80"))
        return r["attach_us"]["median"] / 1000, r["attach_cpu_us"]["median"] / 1000
    finally:
        for ns in holders:
            ns.close()
        h.close()


def hull_iperf(work, seconds, through_port):
    h = Hull(work)
    srv, cli = Netns(), Netns()
    try:
        ip = json.loads(h.net("attach", "bn", "srv", "--netns", f"/proc/{srv.pid}/ns/net", "-p", "15201:5201"))
        ip = ip["ipv4"].split("/")[0]
        h.net("attach", "bn", "cli", "--netns", f"/proc/{cli.pid}/ns/net")
        server = subprocess.Popen([*srv.enter, "iperf3", "-s", "-1"], stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        if through_port:
            out = h.lan.client.run("iperf3", "-c", "198.51.100.1", "-p", "15201", "-t", seconds, "-J").stdout
        else:
            out = cli.run("iperf3", "-c", ip, "-t", seconds, "-J").stdout
        server.wait(timeout=30)
        return iperf_gbps(out)
    finally:
        srv.close()
        cli.close()
        h.close()


# ------------------------------------------------------------------ podman side

def podman(ns, *args, check=True):
    return ns.run(*PODMAN, *args, check=check)


def podman_setup_once(work):
    """One `run --rm` on the default network and one with --network none, in a fresh namespace."""
    ns = Netns()
    try:
        times = []
        for net in ([], ["--network", "none"]):
            t0 = time.monotonic()
            podman(ns, "run", "--rm", *ULIMITS, *net, "--rootfs", BUSYBOX_ROOTFS, "/bin/true")
            times.append(time.monotonic() - t0)
        return times
    finally:
        ns.close()


def podman_iperf(rootfs, seconds, through_port):
    lan = Lan()
    name = f"hbench-iperf-{os.getpid()}"
    try:
        podman(lan.host, "run", "-d", "--name", name, *ULIMITS, "-p", "15201:5201", "--rootfs", rootfs,
               "/usr/bin/iperf3", "-s", "-1")
        ip = podman(lan.host, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()
        time.sleep(0.5)
        if through_port:
            out = lan.client.run("iperf3", "-c", "198.51.100.1", "-p", "15201", "-t", seconds, "-J").stdout
        else:
            out = podman(lan.host, "run", "--rm", *ULIMITS, "--rootfs", rootfs, "/usr/bin/iperf3", "-c", ip, "-t",
                         seconds, "-J").stdout
        return iperf_gbps(out)
    finally:
        podman(lan.host, "rm", "-f", name, check=False)
        lan.close()


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="*", default=["setup", "scale", "c2c", "port"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=200, help="hull attach/detach pairs per run")
    ap.add_argument("--seconds", type=int, default=10, help="iperf3 duration per run")
    ap.add_argument("--standing", type=int, default=300, help="containers attached for `scale`")
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    for need in (NET_TOOL, HULL_DNS):
        if not os.path.exists(need):
            sys.exit("net-bench: build first (scripts/build release)")
    if os.geteuid() != 0:
        sys.exit("net-bench: needs root")
    work = tempfile.mkdtemp(prefix="hull-net-bench.", dir=a.dir)
    have_podman = shutil.which("podman") is not None
    try:
        if "scale" in a.what:
            res = {0: [], a.standing: []}
            for _ in range(a.runs):
                for n in res:
                    res[n].append(hull_scale(work, a.iterations, n))
            for n, v in res.items():
                print(f"scale: {n} containers attached: attach median {statistics.median(x for x, _ in v):.2f} ms, "
                      f"CPU {statistics.median(c for _, c in v):.2f} ms ({a.runs} runs x {a.iterations})")
        if "setup" in a.what:
            att, det, cpu, p_net, p_none = [], [], [], [], []
            for _ in range(a.runs):
                x, y, z = hull_setup(work, a.iterations)
                att.append(x)
                det.append(y)
                cpu.append(z)
                if have_podman and os.path.isdir(BUSYBOX_ROOTFS):
                    t_net, t_none = retried(podman_setup_once, work)
                    p_net.append(t_net * 1000)
                    p_none.append(t_none * 1000)
            print(f"setup: hull attach median {statistics.median(att):.2f} ms (CPU {statistics.median(cpu):.2f} ms), "
                  f"detach {statistics.median(det):.2f} ms, total {statistics.median(att) + statistics.median(det):.2f} ms "
                  f"({a.runs} runs x {a.iterations} containers; per-run attach medians "
                  f"{sorted(round(v, 2) for v in att)})")
            if p_net:
                print(f"setup: podman run --rm default network {statistics.median(p_net):.0f} ms, --network none "
                      f"{statistics.median(p_none):.0f} ms, network adds "
                      f"{statistics.median(p_net) - statistics.median(p_none):.0f} ms ({a.runs} runs)")
        for kind in ("c2c", "port"):
            if kind not in a.what:
                continue
            rootfs, _ = iperf_rootfs(tempfile.mkdtemp(prefix="iperf.", dir=work))
            h, p = [], []
            for _ in range(a.runs):
                h.append(retried(hull_iperf, work, a.seconds, kind == "port"))
                if have_podman:
                    p.append(retried(podman_iperf, rootfs, a.seconds, kind == "port"))
            line = f"{kind}: hull {statistics.median(h):.2f} Gbit/s"
            if p:
                line += f", podman {statistics.median(p):.2f} Gbit/s, hull/podman {statistics.median(h) / statistics.median(p):.2f}"
            print(line + f" ({a.runs} runs of {a.seconds} s; hull {[round(v, 2) for v in h]}, podman {[round(v, 2) for v in p]})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
