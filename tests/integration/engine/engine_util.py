"""Helpers for the engine tests: hull with a private --root, images made from busybox-static
and from the debootstrap'ed Debian rootfs (assets/), and waiting helpers.

Every store lives in the test's tmp_path under a directory named with the test's tag, so that
the leak check (tests/integration/hulltest.py) attributes the container mounts to this test.
"""
import json
import os
import subprocess
import sys
import tarfile
import time

for _d in ("..", os.path.join("..", "net")):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), _d))
from netlab import Netns  # noqa: E402  (an anonymous network namespace held by a sleeping process)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("HULL_BUILD", os.path.join(ROOT, "build"))
ASSETS = os.path.join(ROOT, "assets")
HULL = os.path.join(BUILD, "cmd", "hull", "hull")
BUSYBOX_ROOTFS = os.path.join(ASSETS, "busybox-rootfs")
DEBIAN_TAR = os.path.join(ASSETS, "debian-rootfs.tar")


class Hull:
    """hull with --root set to a private store, run in a private network namespace: the node's
    networks (the default bridge "hull0" and its nftables table) are per namespace, so each store gets
    its own, and parallel test runs on this shared machine never meet."""

    def __init__(self, root, netns=None):
        """netns: a namespace to use (with enter()), None for a new one, False for the machine's own
        (for tests that reach services on its loopback; their containers must not use a network)."""
        self.root = root
        self.own_netns = netns is None
        self.netns = Netns() if netns is None else netns

    def enter(self):
        return self.netns.enter() if self.netns else []

    def cmd(self, *args):
        return [*self.enter(), HULL, "--root", self.root] + [str(a) for a in args]

    def sh(self, *args, check=True, timeout=30):
        """A command on the store's host namespace (ip, nft, python3 peers)."""
        p = subprocess.run([*self.enter(), *map(str, args)], capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def close(self):
        if self.own_netns:
            self.netns.close()

    def run(self, *args, check=True, input=None, env=None, timeout=120):
        e = dict(os.environ)
        e.pop("HULL_ROOT", None)
        if env:
            e.update(env)
        p = subprocess.run(self.cmd(*args), capture_output=True, input=input, env=e, timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))} failed ({p.returncode}):\n{p.err}")
        return p

    def fail(self, *args, code=125, **kw):
        """Run, expect the exit status and exactly one line on stderr, starting with 'hull'."""
        p = self.run(*args, check=False, **kw)
        assert p.returncode == code, f"expected {code}, got {p.returncode}: {p.err}"
        lines = [l for l in p.err.splitlines() if l.strip()]
        assert len(lines) == 1, f"expected one line of error, got:\n{p.err}"
        assert lines[0].startswith("hull"), lines[0]
        return lines[0]

    def ps(self, *args):
        return json.loads(self.run("ps", "-a", "--format", "json", *args).out)

    def inspect(self, name):
        return json.loads(self.run("container", "inspect", name).out)[0]

    def state(self, name):
        return self.inspect(name)["State"]["Status"]

    def wait_for(self, name, predicate, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.inspect(name)
            if predicate(c):
                return c
            time.sleep(0.05)
        raise AssertionError(f"container {name}: timed out waiting for {what}; last: {json.dumps(c['State'])}")

    def cleanup(self):
        """Remove every container and volume of the store (teardown)."""
        self.run("rm", "-a", "-f", check=False, timeout=120)
        self.run("volume", "prune", check=False)
        if self.netns:  # never the machine's own table: other stores' rules may be there
            self.run("network", "prune", check=False)

    def files_of_containers(self):
        d = os.path.join(self.root, "containers")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


def busybox_tar(path):
    """The busybox rootfs of scripts/prepare-assets as a tarball."""
    if not os.path.exists(path):
        with tarfile.open(path, "w") as t:
            t.add(BUSYBOX_ROOTFS, arcname=".")
    return path


def proc_status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def cap_names(mask_hex):
    """Capability names of a /proc/PID/status Cap* mask (numbers as in linux/capability.h)."""
    names = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
             "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
             "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
             "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
             "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
             "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]
    m = int(mask_hex, 16)
    return {n for i, n in enumerate(names) if m & (1 << i)}


def pids_of(name, root):
    """Processes whose executable is named `name` and whose command line mentions root."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and os.path.basename(cmd[0]) == name.encode() and any(root.encode() in a for a in cmd):
            out.append(int(d))
    return out


def monitors_of(root):
    """pids of the hull-monitor processes of the store at root."""
    return pids_of("hull-monitor", root)
