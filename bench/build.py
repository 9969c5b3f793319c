#!/usr/bin/python3
"""hull build against buildah bud, side by side on one multi-stage Dockerfile (Debian + busybox).

Both tools start from the same two base images (assets/debian-rootfs.tar and assets/busybox-rootfs
imported into hull, saved as oci-archives and pulled into buildah's private store) and build the
same context. Scenarios, each run alternately A/B round by round:

  cold         nothing cached: each round starts from a copy of a store that holds the bases only
  warm         an unchanged rebuild (everything cached)
  incremental  one source file changed: the stages that copy it run again

Reported per tool: median wall time, median CPU time (user+sys of the tool and every process it
waited for), and the ratio hull/buildah. buildah runs with a private --root/--runroot, the
overlay storage driver, --layers (its cache), --network host (hull's RUN uses the host's network),
--pull=never, and --isolation chroot or oci (runc).

Usage: bench/build.py [--rounds N] [--isolation chroot,oci] [--scenarios cold,warm,incremental]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
ASSETS = os.path.join(ROOT, "assets")

DOCKERFILE = """\
FROM localhost/bench-debian:12 AS deps
RUN mkdir -p /opt/data && for i in $(seq 1 400); do head -c 8192 /dev/urandom > /opt/data/blob$i; done \\
    && dpkg-query -W > /opt/pkgs.txt

FROM localhost/bench-debian:12 AS build
COPY --from=deps /opt/data /opt/data
COPY src/ /src/
RUN cd /src && tar -czf /opt/app.tgz . /opt/data && sha256sum /opt/app.tgz > /opt/app.sha

FROM localhost/bench-busybox:1
COPY --from=build /opt/app.tgz /opt/app.sha /app/
RUN cd /app && tar -xzf app.tgz && find . -type f | wc -l > /app/count
ENV APP_HOME=/app
WORKDIR /app
CMD ["sh", "-c", "cat /app/count"]
"""


def sh(*argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)


def timed(argv):
    """Run argv; (wall seconds, cpu seconds of it and its waited-for descendants)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}):\n{err[-3000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def umount_under(path):
    with open("/proc/self/mountinfo") as f:
        mps = [l.split()[4] for l in f if l.split()[4].startswith(path + "/") or l.split()[4] == path]
    for mp in sorted(mps, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def remove(path):
    umount_under(path)
    shutil.rmtree(path, ignore_errors=True)


class Hull:
    name = "hull"

    def __init__(self, base):
        self.pristine = os.path.join(base, "hull-pristine")
        self.root = os.path.join(base, "hull-root")
        sh(HULL, "--root", self.pristine, "import", "-q", os.path.join(ASSETS, "debian-rootfs.tar"),
           "localhost/bench-debian:12")
        tar = os.path.join(base, "busybox.tar")
        sh("tar", "--numeric-owner", "-C", os.path.join(ASSETS, "busybox-rootfs"), "-cf", tar, ".")
        sh(HULL, "--root", self.pristine, "import", "-q", "--change", 'CMD ["/bin/sh"]', tar,
           "localhost/bench-busybox:1")

    def save(self, name, path):
        sh(HULL, "--root", self.pristine, "save", "-q", "--format", "oci-archive", "-o", path, name)

    def fresh(self):
        remove(self.root)
        sh("cp", "-a", "--reflink=auto", self.pristine, self.root)

    def build(self, ctx):
        return timed([HULL, "--root", self.root, "build", "-q", "-t", "bench-app", ctx])

    def close(self):
        remove(self.root)
        remove(self.pristine)


class Buildah:
    def __init__(self, base, isolation, archives):
        self.name = f"buildah-{isolation}"
        self.isolation = isolation
        self.pristine = os.path.join(base, f"{self.name}-pristine")
        self.root = os.path.join(base, f"{self.name}-root")
        for a in archives:
            sh(*self.cmd(self.pristine), "pull", "-q", "oci-archive:" + a)

    def cmd(self, root):
        return ["buildah", "--root", os.path.join(root, "storage"), "--runroot", os.path.join(root, "run"),
                "--storage-driver", "overlay"]

    def fresh(self):
        remove(self.root)
        sh("cp", "-a", "--reflink=auto", self.pristine, self.root)

    def build(self, ctx):
        # crun (buildah's default OCI runtime here) refuses this machine's hybrid cgroups: runc it is.
        rt = ["--runtime", shutil.which("runc")] if self.isolation == "oci" else []
        return timed(self.cmd(self.root) + ["bud", "-q", "--pull=never", "--layers", "--network", "host",
                                            "--isolation", self.isolation] + rt + ["-t", "bench-app", ctx])

    def close(self):
        remove(self.root)
        remove(self.pristine)


def make_context(base):
    ctx = os.path.join(base, "ctx")
    os.makedirs(os.path.join(ctx, "src", "lib"))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    for i in range(200):
        with open(os.path.join(ctx, "src", "lib", f"mod{i}.c"), "w") as f:
            f.write(f"/* module {i} */\n" + "int x%d;\n" % i * 200)
    with open(os.path.join(ctx, "src", "main.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    return ctx


def touch_source(ctx, n):
    with open(os.path.join(ctx, "src", "main.c"), "w") as f:
        f.write(f"int main(void) {{ return {n % 100}; }}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--isolation", default="chroot,oci")
    ap.add_argument("--scenarios", default="cold,warm,incremental")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/build.py runs as root")
    if not shutil.which("buildah"):
        sys.exit("buildah is not installed (scripts/install-deps)")
    if not os.path.exists(os.path.join(ASSETS, "debian-rootfs.tar")):
        sys.exit("assets/debian-rootfs.tar is missing: scripts/image-assets")
    base = tempfile.mkdtemp(prefix="hull-bench-build-", dir="/var/tmp")
    tools = []
    try:
        h = Hull(base)
        tools.append(h)
        archives = [os.path.join(base, "debian.tar"), os.path.join(base, "busybox-oci.tar")]
        h.save("localhost/bench-debian:12", archives[0])
        h.save("localhost/bench-busybox:1", archives[1])
        for iso in a.isolation.split(","):
            tools.append(Buildah(base, iso, archives))
        ctx = make_context(base)
        results = {}
        for scenario in a.scenarios.split(","):
            res = {t.name: ([], []) for t in tools}
            if scenario != "cold":
                for t in tools:  # a store with everything cached
                    t.fresh()
                    t.build(ctx)
            for i in range(a.rounds):
                order = tools if i % 2 == 0 else list(reversed(tools))
                for t in order:
                    if scenario == "cold":
                        t.fresh()
                    elif scenario == "incremental":
                        touch_source(ctx, i * 10 + tools.index(t) + 1)
                    wall, cpu = t.build(ctx)
                    res[t.name][0].append(wall)
                    res[t.name][1].append(cpu)
            results[scenario] = res
            touch_source(ctx, 0)
        print(f"{a.rounds} rounds per scenario, tools alternated; medians in seconds")
        print(f"{'scenario':<12} {'tool':<16} {'wall':>8} {'cpu':>8} {'hull/tool wall':>15}")
        for scenario, res in results.items():
            hw = statistics.median(res["hull"][0])
            for name, (walls, cpus) in res.items():
                w = statistics.median(walls)
                ratio = "" if name == "hull" else f"{hw / w:.2f}"
                print(f"{scenario:<12} {name:<16} {w:8.2f} {statistics.median(cpus):8.2f} {ratio:>15}")
    finally:
        for t in tools:
            t.close()
        remove(base)


if __name__ == "__main__":
    main()
