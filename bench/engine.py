#!/usr/bin/python3
"""hull against podman, side by side in one run, with the same busybox image in both stores.

  run      `run --rm IMAGE /bin/true`, rounds alternated A/B (B/A on odd rounds): wall time,
           CPU time and peak RSS of the CLI process (getrusage of the waited child)
  ps       `ps` with N running containers in each store (`run -d IMAGE sleep`), alternated
  monitor  resident memory of the per-container monitors: hull-monitor of the N idle containers,
           of one that wrote 20 MB of output, of one running a health check every 100 ms; conmon
           of podman's containers for scale

Both run with --network none (bench/engine-net.py measures the default networks); podman with a
private --root/--runroot, --cgroup-manager=cgroupfs --events-backend=file, and --ulimit nofile=20000:20000 --ulimit nproc=32768:32768
(this machine's root cannot raise its limits; see ../shared/MACHINE.md). Its runtime is runc
by default: crun 1.8.1 refuses this machine's hybrid cgroup layout unless hugetlb is a v1
hierarchy (bench/runtime.py --mount-hugetlb does that, when no cgroup2 child uses hugetlb);
--podman-runtime crun where crun runs.

Usage: bench/engine.py [--rounds N] [--containers N] [--podman-runtime runc|crun]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "engine"))
import engine_util as eu  # noqa: E402  (pids_of: processes of one store)
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
BUSYBOX = os.path.join(ROOT, "assets", "busybox-rootfs")
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def peak_rss(tool, cmd):
    """Peak RSS (KiB) of cmd, measured by bench/peak-rss (a spawner of a few pages: Python's own
    memory would be counted in ru_maxrss of a child it spawned)."""
    out = subprocess.run([tool] + cmd, capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) == 2 and out[0] == "0" else None


def spawn(cmd):
    """Run cmd to completion: wall seconds, CPU seconds (its own and its waited children's), status."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def check(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


class Engine:
    def __init__(self, name, base):
        self.name = name
        self.base = base

    def cmd(self, *args):
        return self.base + list(args)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def median_ms(xs):
    return statistics.median(xs) * 1000


def bench_run(engines, rounds, tool):
    res = {e.name: {"wall": [], "cpu": [], "rss": [], "fail": 0} for e in engines}
    for i in range(rounds):
        order = engines if i % 2 == 0 else list(reversed(engines))
        for e in order:
            extra = ULIMITS + ["--network", "none"] if e.name == "podman" else ["--network", "none"]
            w, c, code = spawn(e.cmd("run", "--rm", *extra, "bb", "/bin/true"))
            if code != 0:
                res[e.name]["fail"] += 1
                continue
            res[e.name]["wall"].append(w)
            res[e.name]["cpu"].append(c)
    for e in engines:
        extra = ULIMITS + ["--network", "none"] if e.name == "podman" else ["--network", "none"]
        for _ in range(5):
            m = peak_rss(tool, e.cmd("run", "--rm", *extra, "bb", "/bin/true"))
            if m:
                res[e.name]["rss"].append(m)
    return res


def bench_ps(engines, rounds):
    res = {e.name: [] for e in engines}
    for i in range(rounds):
        order = engines if i % 2 == 0 else list(reversed(engines))
        for e in order:
            w, _, code = spawn(e.cmd("ps"))
            if code == 0:
                res[e.name].append(w)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--containers", type=int, default=100)
    ap.add_argument("--podman-runtime", default="runc")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/engine.py runs containers: run it as root")
    tmp = tempfile.mkdtemp(prefix="hull-bench-engine-")
    hull = Engine("hull", [HULL, "--root", os.path.join(tmp, "hull")])
    podman = Engine("podman", ["/usr/bin/podman", "--root", os.path.join(tmp, "podman"), "--runroot",
                               os.path.join(tmp, "podman-run"), "--cgroup-manager=cgroupfs",
                               "--events-backend=file", "--runtime", a.podman_runtime])
    engines = [hull, podman]
    try:
        tar = os.path.join(tmp, "bb.tar")
        with tarfile.open(tar, "w") as t:
            t.add(BUSYBOX, arcname=".")
        for e in engines:
            check(e.cmd("import", tar, "bb"))
            for _ in range(3):  # warm caches (seccomp cache, page cache) before measuring
                spawn(e.cmd("run", "--rm", *(ULIMITS if e.name == "podman" else []), "--network", "none",
                            "bb", "/bin/true"))
        print(f"# bench/engine.py --rounds {a.rounds} --containers {a.containers} --podman-runtime {a.podman_runtime}")
        print(f"# load average before: {os.getloadavg()[0]:.2f}")
        tool = os.path.join(tmp, "peak-rss")
        check(["cc", "-nostdlib", "-static", "-O2", "-fno-stack-protector", "-o", tool,
               os.path.join(ROOT, "bench", "peak-rss.c")])
        res = bench_run(engines, a.rounds, tool)
        print(f"\n`run --rm bb /bin/true`, {a.rounds} rounds alternated, medians")
        print("| engine | wall | CPU | peak RSS of the CLI | failures |\n|---|---:|---:|---:|---:|")
        for e in engines:
            r = res[e.name]
            print(f"| {e.name} | {median_ms(r['wall']):.1f} ms | {median_ms(r['cpu']):.1f} ms | "
                  f"{statistics.median(r['rss']) / 1024:.1f} MiB | {r['fail']} |")
        ratio = median_ms(res["hull"]["wall"]) / median_ms(res["podman"]["wall"])
        print(f"\nhull/podman wall: {ratio:.3f}")

        for e in engines:
            for i in range(a.containers):
                extra = ULIMITS + ["--network", "none"] if e.name == "podman" else ["--network", "none"]
                check(e.cmd("run", "-d", *extra, "bb", "sleep", "3600"))
        time.sleep(1)
        pres = bench_ps(engines, a.rounds)
        print(f"\n`ps` with {a.containers} running containers, {a.rounds} rounds alternated, medians")
        print("| engine | wall |\n|---|---:|")
        for e in engines:
            print(f"| {e.name} | {median_ms(pres[e.name]):.1f} ms |")
        print(f"\nhull/podman ps: {median_ms(pres['hull']) / median_ms(pres['podman']):.3f}")

        mons = eu.pids_of("hull-monitor", os.path.join(tmp, "hull"))
        conmons = eu.pids_of("conmon", os.path.join(tmp, "podman"))
        mon_rss = [x for x in (rss_kib(p) for p in mons) if x]
        conmon_rss = [x for x in (rss_kib(p) for p in conmons) if x]
        check(hull.cmd("run", "-d", "--name", "chatty", "--network", "none", "bb", "sh", "-c",
                       "head -c 20000000 /dev/zero | tr '\\0' 'x' | fold -w 100; sleep 3600"))
        check(hull.cmd("run", "-d", "--name", "healthy", "--network", "none", "--health-cmd", "true",
                       "--health-interval", "100ms", "bb", "sleep", "3600"))
        time.sleep(4)
        chatty = [rss_kib(p) for p in eu.pids_of("hull-monitor", os.path.join(tmp, "hull")) if p not in mons]
        print("\nResident memory of the per-container monitor (VmRSS)")
        print("| process | median | max |\n|---|---:|---:|")
        print(f"| hull-monitor, {len(mon_rss)} idle containers | {statistics.median(mon_rss)} KiB | {max(mon_rss)} KiB |")
        print(f"| hull-monitor after 20 MB of output / with a 100 ms health check | "
              f"{' / '.join(f'{x} KiB' for x in chatty if x)} | |")
        if conmon_rss:
            print(f"| conmon (podman), {len(conmon_rss)} containers | {statistics.median(conmon_rss)} KiB | "
                  f"{max(conmon_rss)} KiB |")
    finally:
        for e in engines:
            subprocess.run(e.cmd("rm", "-a", "-f"), capture_output=True)
        subprocess.run(podman.cmd("system", "reset", "-f"), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
