"""The root disk of a VM-isolated container made by hull-runtime itself (no engine: podman's path):
a qcow2 overlay on a base from the runtime's cache <root>/.vm-disks (docs/agent.md, "Disks").
The VMM is QEMU under TCG on this project's hosts, so each create boots a VM: the test boots
three and checks the cache and the overlay on them."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import hulltest as top  # noqa: E402
from engine_fixtures import ROOT_ONLY  # noqa: E402

pytestmark = ROOT_ONLY


@pytest.fixture(autouse=True)
def need_debugfs():
    if not shutil.which("debugfs"):
        pytest.skip("debugfs (e2fsprogs) is not installed")


class Runtime:
    def __init__(self, root):
        self.root = root
        self.path = top.binary("hull-runtime")

    def __call__(self, *args, check=True):
        # Files, not pipes: the shim that `create` leaves running inherits them.
        with tempfile.TemporaryFile() as err:
            p = subprocess.run([self.path, "--root", self.root, *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, timeout=180)
            err.seek(0)
            msg = err.read().decode(errors="replace")
        assert not check or p.returncode == 0, f"hull-runtime {' '.join(args)}: {p.returncode}\n{msg}"
        return p


@pytest.fixture
def rt(tmp_path, leak_check):
    root = str(tmp_path / "state")
    os.mkdir(root)
    leak_check.watch_dir(root)
    r = Runtime(root)
    yield r
    for cid in os.listdir(root):
        if not cid.startswith("."):
            r("delete", "--force", cid, check=False)


def bundle(tmp_path, *args):
    path = tmp_path / "bundle"
    src = os.path.join(top.ASSETS, "busybox-rootfs")
    if not os.path.isdir(src):
        pytest.skip("assets/busybox-rootfs missing: run scripts/prepare-assets")
    path.mkdir()
    subprocess.run(["cp", "-a", src, str(path / "rootfs")], check=True)
    subprocess.run([top.binary("hull-runtime"), "spec", "--bundle", str(path)], check=True)
    with open(path / "config.json") as f:
        c = json.load(f)
    c["process"].update(terminal=False, args=list(args))
    c["root"]["readonly"] = False
    c["annotations"] = {"io.hull.isolation": "vm"}
    with open(path / "config.json", "w") as f:
        json.dump(c, f)
    return str(path)


def entries(rt):
    d = os.path.join(rt.root, ".vm-disks")
    return sorted(os.path.join(d, n) for n in os.listdir(d)) if os.path.isdir(d) else []


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def in_image(image, path):
    p = subprocess.run(["debugfs", "-R", f"stat {path}", image], capture_output=True, text=True)
    return "File not found" not in p.stderr + p.stdout


def test_root_disk_cache_and_overlay(rt, tmp_path, tag):
    b = bundle(tmp_path, "sh", "-c", "echo data > /written; test -e /etc/passwd")
    # A miss: the base is made, the guest's write goes to the overlay, never into the base.
    rt("run", "--bundle", b, f"{tag}a")
    [base] = entries(rt)
    assert base.endswith(".ext4") and os.stat(base).st_nlink == 1
    assert in_image(base, "/etc/passwd") and not in_image(base, "/written")
    digest = sha256(base)

    # An unchanged tree hits: the container's disk is an overlay holding the same base by a link.
    rt("create", "--bundle", b, f"{tag}b")
    state = os.path.join(rt.root, f"{tag}b")
    assert entries(rt) == [base] and os.stat(base).st_nlink == 2
    assert os.path.samefile(os.path.join(state, "rootfs.qcow2.base"), base)
    if shutil.which("qemu-img"):
        info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output", "json",
                                          os.path.join(state, "rootfs.qcow2")],
                                         capture_output=True, text=True, check=True).stdout)
        assert info["format"] == "qcow2" and info["backing-filename"] == "rootfs.qcow2.base"
        assert info["backing-filename-format"] == "raw"
    rt("delete", "--force", f"{tag}b")
    assert not os.path.exists(state) and os.stat(base).st_nlink == 1

    # A changed tree misses: a second entry, the first one untouched.
    with open(os.path.join(b, "rootfs", "etc", "motd"), "w") as f:
        f.write("changed\n")
    rt("run", "--bundle", b, f"{tag}c")
    assert len(entries(rt)) == 2 and base in entries(rt)
    assert sha256(base) == digest
    assert all(os.stat(e).st_nlink == 1 for e in entries(rt))
    assert [n for n in os.listdir(rt.root) if not n.startswith(".")] == []
