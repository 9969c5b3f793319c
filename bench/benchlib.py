"""What several benchmarks share: hull in a network namespace of its own, timed.

hull's bridge, nft table and taps then stay private to the benchmark (and are gone with the
namespace), so a benchmark on a user network cannot disturb, or be disturbed by, the host's.
"""
import os
import subprocess
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HULL = os.path.join(ROOT, "build", "cmd", "hull", "hull")
GUEST = os.path.join(ROOT, "assets", "guest")
BUSYBOX = os.path.join(ROOT, "assets", "busybox-rootfs")


class NetnsHull:
    """`hull` run through nsenter into a namespace held by a sleeping process; call close()."""

    def __init__(self, root, timeout=120):
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c",
                                        "ip link set lo up && echo ready && exec sleep 1d"],
                                       stdout=subprocess.PIPE, text=True)
        self.holder.stdout.readline()
        self.pre = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net"]
        self.env = dict(os.environ, HULL_ROOT=root, HULL_GUEST_DIR=GUEST)
        self.timeout = timeout

    def __call__(self, *args):
        """Run hull ARGS; returns (seconds, stdout); a failure ends the benchmark with its stderr."""
        t0 = time.monotonic()
        p = subprocess.run(self.pre + [HULL, *args], capture_output=True, text=True, env=self.env,
                           timeout=self.timeout)
        if p.returncode != 0:
            raise SystemExit(f"hull {' '.join(args)} failed ({p.returncode}): {p.stderr[-500:]}")
        return time.monotonic() - t0, p.stdout.strip()

    def import_busybox(self, tmp, name="bb"):
        """The busybox rootfs of the test assets as image NAME (through a tarball in TMP)."""
        tar = os.path.join(tmp, name + ".tar")
        with tarfile.open(tar, "w") as t:
            t.add(BUSYBOX, arcname=".")
        self("import", tar, name)

    def try_run(self, *args):
        """Run hull ARGS for cleaning up: no timing, failures ignored; returns stdout."""
        return subprocess.run(self.pre + [HULL, *args], capture_output=True, text=True, env=self.env).stdout

    def close(self):
        """Remove every VM and container the benchmark left (a failed or interrupted run), then
        the namespace: a monitor or a VMM must not outlive the benchmark."""
        self.try_run("vm", "rm", "-f", *self.try_run("vm", "ls", "-a", "-q").split())
        self.try_run("rm", "-f", *self.try_run("ps", "-a", "-q").split())
        self.holder.kill()
        self.holder.wait()
