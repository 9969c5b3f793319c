#!/usr/bin/python3
"""hull-runtime against crun and runc, side by side on one busybox bundle.

Measures, alternating the runtimes round by round:
  run      `RUNTIME run ID` of /bin/true: wall time, CPU time (user+sys of the runtime and what it
           reaped), peak RSS of the runtime process (ru_maxrss from wait4)
  cycle    create + start + wait for the process to exit (pidfd) + delete
  batch    N containers, P at a time (`run` of /bin/true each): total time and failures

crun 1.8.1 refuses this machine's hybrid cgroup layout unless hugetlb is a v1 hierarchy; with
--mount-hugetlb the benchmark mounts it (and unmounts it at the end) so that crun can run. All
runtimes then see the same layout.

Usage: bench/runtime.py [--rounds N] [--batch N --parallel P] [--runtimes hull,crun,runc]
"""
import argparse
import concurrent.futures
import json
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull-runtime", "hull-runtime")
PEAK_RSS = os.path.join(ROOT, "build", "bench", "peak-rss")


def runtime_cmd(name, state):
    exe = {"hull": HULL, "crun": shutil.which("crun"), "runc": shutil.which("runc")}[name]
    return [exe, "--root", state]


def spawn(argv, stdout=subprocess.DEVNULL):
    """Run argv, return (exit status, wall seconds, cpu seconds, maxrss KiB)."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                                       (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def make_bundle(base):
    b = os.path.join(base, "bundle")
    os.makedirs(b)
    subprocess.run(["cp", "-a", os.path.join(ROOT, "assets", "busybox-rootfs"), os.path.join(b, "rootfs")],
                   check=True)
    subprocess.run([shutil.which("runc"), "spec"], cwd=b, check=True)
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["process"]["args"] = ["/bin/true"]
    c["process"]["terminal"] = False
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    return b


def peak_rss(argv):
    """Peak RSS (KiB) of argv, measured by bench/peak-rss.c: Python's own RSS would be counted
    by ru_maxrss if Python spawned the runtime itself (Linux folds the pre-exec mm into it)."""
    out = subprocess.run([PEAK_RSS] + argv, capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) == 2 and out[0] == "0" else None


def bench_run(rts, bundle, states, rounds):
    res = {r: {"wall": [], "cpu": [], "rss": []} for r in rts}
    fails = {r: 0 for r in rts}
    for i in range(rounds):
        for r in (rts if i % 2 == 0 else list(reversed(rts))):
            code, wall, cpu, _ = spawn(runtime_cmd(r, states[r]) + ["run", "--bundle", bundle, f"b{i}"])
            if code != 0:
                fails[r] += 1
                continue
            res[r]["wall"].append(wall)
            res[r]["cpu"].append(cpu)
            rss = peak_rss(runtime_cmd(r, states[r]) + ["run", "--bundle", bundle, f"m{i}"])
            if rss:
                res[r]["rss"].append(rss)
    return res, fails


def bench_cycle(rts, bundle, states, rounds, tmp):
    res = {r: [] for r in rts}
    fails = {r: 0 for r in rts}
    for i in range(rounds):
        for r in (rts if i % 2 == 0 else list(reversed(rts))):
            cid = f"c{i}"
            pidfile = os.path.join(tmp, f"{r}-{cid}.pid")
            base = runtime_cmd(r, states[r])
            t0 = time.perf_counter()
            ok = spawn(base + ["create", "--bundle", bundle, "--pid-file", pidfile, cid])[0] == 0
            if ok:
                pid = int(open(pidfile).read())
                fd = os.pidfd_open(pid)
                ok = spawn(base + ["start", cid])[0] == 0
                select.select([fd], [], [], 10)
                os.close(fd)
                ok = spawn(base + ["delete", cid])[0] == 0 and ok
            t = time.perf_counter() - t0
            if ok:
                res[r].append(t)
            else:
                fails[r] += 1
                subprocess.run(base + ["delete", "--force", cid], capture_output=True)
    return res, fails


def bench_batch(r, bundle, state, n, parallel):
    base = runtime_cmd(r, state)
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        codes = list(ex.map(lambda i: spawn(base + ["run", "--bundle", bundle, f"p{i}"])[0], range(n)))
    return time.perf_counter() - t0, sum(1 for c in codes if c != 0)


def restore_hugetlb():
    """Give hugetlb back to cgroup v2. The v1 hierarchy outlives its mount while it has child
    cgroups (other programs may have made some meanwhile): remove those, then it goes away."""
    subprocess.run(["umount", "/sys/fs/cgroup/hugetlb"])
    try:
        os.rmdir("/sys/fs/cgroup/hugetlb")
    except OSError:
        pass  # it held files before the benchmark mounted over it
    tmp = tempfile.mkdtemp(prefix="hull-hugetlb-")
    if subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", tmp]).returncode == 0:
        for dirpath, dirnames, _ in sorted(os.walk(tmp), key=lambda w: -len(w[0])):
            if dirpath != tmp:
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    print(f"warning: cannot remove {dirpath}: {e}; hugetlb stays a v1 hierarchy", file=sys.stderr)
        subprocess.run(["umount", tmp])
    os.rmdir(tmp)


def ms(x):
    return f"{x * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--runtimes", default="hull,crun,runc")
    ap.add_argument("--mount-hugetlb", action="store_true")
    a = ap.parse_args()
    rts = a.runtimes.split(",")
    mounted = False
    if a.mount_hugetlb and not os.path.ismount("/sys/fs/cgroup/hugetlb"):
        os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
        if subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", "/sys/fs/cgroup/hugetlb"]).returncode:
            os.rmdir("/sys/fs/cgroup/hugetlb")
            print("cannot make hugetlb a v1 hierarchy (cgroup v2 cgroups use it?): crun will fail here",
                  file=sys.stderr)
        else:
            mounted = True
    tmp = tempfile.mkdtemp(prefix="hull-bench-")
    try:
        bundle = make_bundle(tmp)
        states = {r: os.path.join(tmp, f"state-{r}") for r in rts}
        for r in rts:
            spawn(runtime_cmd(r, states[r]) + ["run", "--bundle", bundle, "warmup"])
        res, fails = bench_run(rts, bundle, states, a.rounds)
        print(f"run of /bin/true, {a.rounds} rounds alternated (medians):")
        print(f"  {'runtime':8} {'wall':>10} {'cpu':>10} {'peak RSS':>10} {'fails':>6}")
        med = {}
        for r in rts:
            w = res[r]["wall"]
            if not w:
                print(f"  {r:8} all failed")
                continue
            med[r] = statistics.median(w)
            print(f"  {r:8} {ms(med[r]):>10} {ms(statistics.median(res[r]['cpu'])):>10} "
                  f"{statistics.median(res[r]['rss']) / 1024:>7.1f} MiB {fails[r]:>6}")
        for r in rts[1:]:
            if r in med and "hull" in med:
                print(f"  ratio hull/{r}: wall {med['hull'] / med[r]:.2f}")
        cyc, cfails = bench_cycle(rts, bundle, states, a.rounds, tmp)
        print(f"create + start + wait + delete, {a.rounds} rounds alternated (medians):")
        cmed = {r: statistics.median(v) for r, v in cyc.items() if v}
        for r in rts:
            if r in cmed:
                print(f"  {r:8} {ms(cmed[r]):>10} fails {cfails[r]}")
        for r in rts[1:]:
            if r in cmed and "hull" in cmed:
                print(f"  ratio hull/{r}: {cmed['hull'] / cmed[r]:.2f}")
        if a.batch:
            print(f"{a.batch} containers, {a.parallel} at a time:")
            tot = {}
            for r in rts:
                t, f = bench_batch(r, bundle, states[r], a.batch, a.parallel)
                tot[r] = t
                print(f"  {r:8} total {t:.2f} s, failures {f}")
            for r in rts[1:]:
                print(f"  ratio hull/{r}: {tot['hull'] / tot[r]:.2f}")
    finally:
        for r in rts:
            if os.path.isdir(states.get(r, "")):
                for cid in os.listdir(states[r]):
                    subprocess.run(runtime_cmd(r, states[r]) + ["delete", "--force", cid], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if mounted:
            restore_hugetlb()


if __name__ == "__main__":
    sys.exit(main())
