"""Parallel imports of one image, and SIGKILL at any moment: the store ends up with either no
image or a complete one, and what a killed import left is collected afterwards."""
import hashlib
import json
import os
import random
import signal
import subprocess
import time

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull, registry_basic, registry_http, registry_https, registry_token  # noqa: F401

pytestmark = ROOT_ONLY


def docker_archive(path, layers, tag):
    """A docker-archive with the given layer tars (bytes), bottom first."""
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids},
                      "history": [{"created_by": "layer %d" % i} for i in range(len(layers))]}).encode()
    entries = [(iu.tarinfo(f"{d[7:]}/layer.tar"), l) for d, l in zip(diff_ids, layers)]
    entries.append((iu.tarinfo("config.json"), cfg))
    entries.append((iu.tarinfo("manifest.json"), json.dumps(
        [{"Config": "config.json", "RepoTags": [tag], "Layers": [f"{d[7:]}/layer.tar" for d in diff_ids]}]).encode()))
    iu.write_tar(path, entries)
    return "sha256:" + hashlib.sha256(cfg).hexdigest()


def data_layer(tmp_path, mib):
    p = str(tmp_path / "data.tar")
    iu.write_tar(p, [(iu.tarinfo("data/blob%d" % i), os.urandom(1 << 20)) for i in range(mib)])
    return open(p, "rb").read()


def check_store(hull, want_id):
    """Either nothing, or the complete image: every layer unpacked and every blob intact."""
    imgs = hull.images()
    if not imgs:
        return False
    assert [i["Id"] for i in imgs] == [want_id[7:]]
    info = json.loads(hull.run("inspect", want_id[7:]).out)[0]
    for l in info["Layers"]:
        assert os.path.isdir(l["Path"]), l
    # save re-reads and verifies every blob against its digest.
    hull.run("save", "-o", "/dev/null", want_id[7:])
    return True


def test_parallel_loads(hull, tmp_path):
    bb = open(iu.busybox_tar(str(tmp_path / "bb.tar")), "rb").read()
    arch = str(tmp_path / "a.tar")
    want = docker_archive(arch, [bb, data_layer(tmp_path, 8)], "par/img:1")
    procs = [subprocess.Popen([iu.HULL, "--root", hull.root, "load", "-q", "-i", arch], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert check_store(hull, want)
    assert len(os.listdir(os.path.join(hull.root, "image/layers"))) == 2
    hull.run("image", "prune")
    assert check_store(hull, want)
    assert os.listdir(os.path.join(hull.root, "image/tmp")) == []


def test_parallel_pulls(hull, busybox, registry_http):
    reg = registry_http
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/par/bb:1")
    hull.run("rmi", "bb:1")
    procs = [subprocess.Popen([iu.HULL, "--root", hull.root, "pull", "-q", *reg.opts(), f"{reg.host}/par/bb:1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.decode().strip() == busybox
    assert [i["Id"] for i in hull.images()] == [busybox]


def test_kill_9_at_any_moment(hull, tmp_path):
    bb = open(iu.busybox_tar(str(tmp_path / "bb.tar")), "rb").read()
    arch = str(tmp_path / "a.tar")
    want = docker_archive(arch, [bb, data_layer(tmp_path, 24)], "kill/img:1")
    # How long an undisturbed load takes, to spread the kills over it.
    t0 = time.monotonic()
    hull.run("load", "-q", "-i", arch)
    full = time.monotonic() - t0
    hull.run("rmi", "kill/img:1")
    rnd = random.Random(1234)
    seen = {True: 0, False: 0}
    for i in range(12):
        p = subprocess.Popen([iu.HULL, "--root", hull.root, "load", "-q", "-i", arch], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, full * 1.1))
        p.send_signal(signal.SIGKILL)
        p.wait()
        present = check_store(hull, want)
        seen[present] += 1
        if present:
            hull.run("rmi", "kill/img:1")
    # The next store open that is alone collects what the killed loads left behind.
    hull.run("image", "prune")
    assert hull.images() == []
    leftovers = [f for f in hull.store_files() if "/blobs/" in f or "/layers/" in f or "/tmp/" in f]
    assert leftovers == [], leftovers
    assert seen[False] > 0, "no kill interrupted a load: the test proved nothing"
