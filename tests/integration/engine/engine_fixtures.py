"""Fixtures of the engine tests: a private hull store per test with busybox imported, and the
Debian image (one store per module: importing 200 MB per test would dominate the suite).

Test modules import them by name (a conftest.py here would shadow tests/integration/conftest.py).
Teardown removes every container and volume the test left, and the leak check then verifies
that no mount, cgroup, process or container file remains.
"""
import os
import shutil

import pytest

import engine_util as eu

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the engine runs containers as root")


def _need_binaries():
    for b in (eu.HULL, os.path.join(eu.BUILD, "cmd", "hull-monitor", "hull-monitor"),
              os.path.join(eu.BUILD, "cmd", "hull-runtime", "hull-runtime")):
        if not os.path.exists(b):
            pytest.skip(f"{b} is not built: run scripts/build release")
    if not os.path.isdir(eu.BUSYBOX_ROOTFS):
        pytest.skip("assets/busybox-rootfs is missing: run scripts/prepare-assets")


def _hull_cgroups():
    """Container cgroups of hull ("/hull-<id>" in every hierarchy)."""
    out = set()
    for top in os.listdir("/sys/fs/cgroup"):
        d = os.path.join("/sys/fs/cgroup", top)
        if os.path.isdir(d) and not os.path.islink(d):
            out |= {os.path.join(d, e) for e in os.listdir(d) if e.startswith("hull-")}
    return out


def _check_cgroups(before):
    """The leak check counts cgroups only in strict mode (their names carry no test tag): count ours here."""
    left = sorted(_hull_cgroups() - before)
    for d in sorted(left, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass
    assert not left, "container cgroups left behind:\n  " + "\n  ".join(left)


def _hull(tmp_path, tag, leak_check, netns):
    _need_binaries()
    root = tmp_path / f"root-{tag}"
    h = eu.Hull(str(root), netns=netns)
    tar = eu.busybox_tar(str(tmp_path / "bb.tar"))
    h.run("import", "--change", 'CMD ["/bin/sh"]', tar, "bb")
    leak_check.watch_dir(str(root / "containers"))
    before = _hull_cgroups()
    yield h
    h.cleanup()
    h.close()
    _check_cgroups(before)


@pytest.fixture
def hull(tmp_path, tag, leak_check):
    """A private store with busybox imported as bb (CMD ["/bin/sh"]), in its own network namespace."""
    yield from _hull(tmp_path, tag, leak_check, None)


@pytest.fixture
def hull_hostnet(tmp_path, tag, leak_check):
    """The same in the machine's network namespace, to reach services on its loopback (a registry):
    its containers must run with --network none."""
    yield from _hull(tmp_path, tag, leak_check, False)


@pytest.fixture(scope="module")
def debian_store(tmp_path_factory):
    """One store per module with assets/debian-rootfs.tar imported as debian:12."""
    _need_binaries()
    if not os.path.exists(eu.DEBIAN_TAR):
        pytest.skip("assets/debian-rootfs.tar is missing (scripts/image-assets needs debootstrap and a mirror)")
    d = tmp_path_factory.mktemp("debian")
    h = eu.Hull(str(d / "root"))
    h.run("import", "--change", 'CMD ["/bin/bash"]', eu.DEBIAN_TAR, "debian:12", timeout=600)
    yield h
    h.cleanup()
    h.close()
    shutil.rmtree(str(d), ignore_errors=True)


@pytest.fixture
def debian(debian_store, leak_check):
    leak_check.watch_dir(os.path.join(debian_store.root, "containers"))
    before = _hull_cgroups()
    yield debian_store
    debian_store.cleanup()
    _check_cgroups(before)
