"""Helpers of the VM tests: hull with a private --root holding busybox as an image, the guest
assets, and waiting for a VM's state. Every VM test here runs under QEMU with TCG on this
host (its /dev/kvm is PVM, which does not run Linux: MACHINE.md); hull-vmm runs VMs in the
nested test host (tests/nested/vm).
"""
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("HULL_BUILD", os.path.join(ROOT, "build"))
ASSETS = os.path.join(ROOT, "assets")
HULL = os.path.join(BUILD, "cmd", "hull", "hull")
GUEST = os.path.join(ASSETS, "guest")
BUSYBOX_ROOTFS = os.path.join(ASSETS, "busybox-rootfs")
BOOT_TIMEOUT = 120


def need_vm_host():
    if os.geteuid() != 0:
        pytest.skip("VMs are run as root")
    for b in (HULL, os.path.join(BUILD, "guest", "hull-init")):
        if not os.path.exists(b):
            pytest.skip(f"{b} is not built: run scripts/build release")
    if not os.path.exists(os.path.join(GUEST, "vmlinuz")):
        pytest.skip("assets/guest is missing: run scripts/guest-assets")
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is missing (Debian package qemu-system-x86)")
    if not shutil.which("mkfs.ext4"):
        pytest.skip("mkfs.ext4 is missing (Debian package e2fsprogs)")


class Hull:
    """hull with --root set to a private store."""

    def __init__(self, root, netns=None):
        self.root = root
        self.netns = netns

    def cmd(self, *args):
        args = [str(a) for a in args]
        # A VM goes on hull's default network unless told otherwise. Outside a test's own network
        # namespace (netns) that would be the machine's, shared with other test runs: there the VMs
        # of these tests take --network none unless a test names a network.
        if (not self.netns and args[:1] == ["vm"] and args[1:2] in (["run"], ["create"])
                and not any(a.startswith("--network") for a in args)):
            args[2:2] = ["--network", "none"]
        pre = ["nsenter", f"--net={self.netns}"] if self.netns else []
        return pre + [HULL, "--root", self.root] + args

    def env(self):
        e = dict(os.environ)
        e.pop("HULL_ROOT", None)
        e["HULL_GUEST_DIR"] = GUEST
        return e

    def run(self, *args, check=True, input=None, timeout=BOOT_TIMEOUT):
        p = subprocess.run(self.cmd(*args), capture_output=True, input=input, env=self.env(), timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))} failed ({p.returncode}):\n{p.err}")
        return p

    def inspect(self, name):
        return json.loads(self.run("vm", "inspect", name).out)[0]

    def wait_state(self, name, pred, timeout=BOOT_TIMEOUT):
        end = time.time() + timeout
        while True:
            i = self.inspect(name)
            if pred(i):
                return i
            if time.time() > end:
                raise AssertionError(f"vm {name}: state never matched: {json.dumps(i['State'])}")
            time.sleep(0.2)

    def wait_log(self, name, text, timeout=BOOT_TIMEOUT):
        end = time.time() + timeout
        while text not in self.run("vm", "logs", name).out:
            if time.time() > end:
                raise AssertionError(f"vm {name}: '{text}' never appeared on the console")
            time.sleep(0.2)

    def cleanup(self):
        p = self.run("vm", "ls", "-a", "-q", check=False)
        for vid in p.out.split():
            self.run("vm", "rm", "-f", vid, check=False)


def busybox_tar(path):
    with tarfile.open(path, "w") as t:
        t.add(BUSYBOX_ROOTFS, arcname=".")
    return path


def descendants_named(name):
    """Pids of live processes below this one whose comm is name."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if comm.startswith(name) and fields[0] != "Z":
            out.append(int(d))
    return out


def wait_gone(name, marker, timeout):
    """True once no live process named name has marker in its command line (within timeout s)."""
    end = time.time() + timeout
    while True:
        left = []
        for p in descendants_named(name):
            try:
                with open(f"/proc/{p}/cmdline") as f:
                    if marker in f.read():
                        left.append(p)
            except OSError:
                pass
        if not left:
            return True
        if time.time() > end:
            return False
        time.sleep(0.1)
