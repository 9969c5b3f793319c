"""Shared helpers for hull's integration tests (run as root, against the real binaries).

Every test gets a leak check: before and after it, the fixture takes a snapshot of
mounts, cgroups, network links, named network namespaces, nftables tables, the
processes below this pytest process (which is made a child subreaper, so orphaned
container processes are reparented here) and the files under every state directory
the test registered. Anything new afterwards fails the test and is cleaned up, so
one leak does not cascade into the next test.

HULL_LEAK_STRICT=1 (CI) treats every new mount, cgroup, link, netns and nft table as
a leak. Without it only entries carrying this session's tag count, so that several
test runs on one machine do not blame each other.
"""
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HULL_BUILD", os.path.join(ROOT, "build"))
ASSETS = os.path.join(ROOT, "assets")
SESSION_TAG = "h" + secrets.token_hex(2)
STRICT = os.environ.get("HULL_LEAK_STRICT") == "1"
_counter = [0]

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def binary(name):
    """Path of a hull binary from the release build."""
    for sub in ("cmd/" + name, name):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name} not built in {BUILD}")


def have_cmd(name):
    return shutil.which(name) is not None


# ---------------------------------------------------------------- snapshots

def _mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            out.append(f"{parts[4]} {parts[sep + 1]} {parts[sep + 2]}")
    return out


def _cgroups():
    dirs = set()
    base = "/sys/fs/cgroup"
    if not os.path.isdir(base):
        return dirs
    for entry in os.listdir(base):
        top = os.path.join(base, entry)
        if os.path.islink(top) or not os.path.isdir(top):
            continue
        for dirpath, dirnames, _ in os.walk(top):
            for d in dirnames:
                dirs.add(os.path.join(dirpath, d))
    # cgroup2 mounted at /sys/fs/cgroup itself: the walk above already covered its children.
    return dirs


def _links():
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


def _netns():
    try:
        return set(os.listdir("/run/netns"))
    except OSError:
        return set()


def _nft_tables():
    if not have_cmd("nft"):
        return set()
    p = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
    return set(l.strip() for l in p.stdout.splitlines() if l.strip())


def _descendants():
    """pid -> (ppid, cmdline) for every live process below this one."""
    me = os.getpid()
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            state = stat[stat.rindex(")") + 2:].split()[0]
            if state == "Z":
                continue
            parents[int(d)] = ppid
        except (OSError, ValueError):
            continue
    out = {}
    for pid in parents:
        p, hops = pid, 0
        while p in parents and hops < 64:
            p = parents[p]
            hops += 1
            if p == me:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = "?"
                out[pid] = cmd
                break
    return out


# hull-runtime's caches in its state directory (compiled seccomp filters, the cgroup lines of
# mountinfo, the root disks and microVM templates of VM-isolated containers): kept between
# containers by design, so not leaks.
RUNTIME_CACHES = {".seccomp-cache", ".cgroup-layout", ".vm-disks", ".vm-templates"}


def _files_under(dirs):
    found = []
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            # a template half made (hull-vmm's DIR.tmp-<pid>) or half removed is a leak
            if os.path.basename(dirpath) == ".vm-templates":
                found += [os.path.join(dirpath, n) for n in dirnames + filenames if ".tmp-" in n]
                dirnames[:] = []
                continue
            dirnames[:] = [n for n in dirnames if n not in RUNTIME_CACHES or n == ".vm-templates"]
            for n in dirnames + filenames:
                if n not in RUNTIME_CACHES:
                    found.append(os.path.join(dirpath, n))
    return found


class LeakCheck:
    def __init__(self, tag):
        self.tag = tag
        self.state_dirs = []
        self.ignore = []  # substrings of entries a test declares as expected to persist

    def watch_dir(self, path):
        """Register a state directory that must be empty (or absent) after the test."""
        self.state_dirs.append(path)
        return path

    def snapshot(self):
        return {
            "mount": _mounts(),
            "cgroup": _cgroups(),
            "link": _links(),
            "netns": _netns(),
            "nft": _nft_tables(),
        }

    def _relevant(self, entry):
        if any(i in entry for i in self.ignore):
            return False
        return STRICT or SESSION_TAG in entry

    def diff(self, before, after):
        leaks = []
        b_mounts = list(before["mount"])
        for m in after["mount"]:
            if m in b_mounts:
                b_mounts.remove(m)
            elif self._relevant(m):
                leaks.append(("mount", m))
        for kind in ("cgroup", "link", "netns", "nft"):
            for e in sorted(after[kind] - before[kind]):
                if self._relevant(e):
                    leaks.append((kind, e))
        return leaks


def _wait_descendants_gone(timeout=2.0):
    deadline = time.monotonic() + timeout
    while True:
        # Reap what was reparented to us.
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        d = _descendants()
        if not d or time.monotonic() > deadline:
            return d
        time.sleep(0.02)


def _cleanup(leaks, procs):
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _wait_descendants_gone(1.0)
    for kind, e in leaks:
        try:
            if kind == "mount":
                subprocess.run(["umount", "-l", e.split()[0]], capture_output=True)
            elif kind == "cgroup":
                for d in sorted([e], key=len, reverse=True):
                    subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"],
                                   capture_output=True)
            elif kind == "link":
                subprocess.run(["ip", "link", "del", e], capture_output=True)
            elif kind == "netns":
                subprocess.run(["ip", "netns", "del", e], capture_output=True)
            elif kind == "nft":
                subprocess.run(["nft", "delete", "table"] + e.split()[1:], capture_output=True)
        except OSError:
            pass


