"""Fixtures of the engine tests: a private hull store per test with busybox imported, and the
Debian image (one store per module: importing 200 MB per test would dominate the suite).

Test modules import them by name (a conftest.py here would shadow tests/integration/conftest.py).
Teardown removes every container and volume the test left, and the leak check then verifies
that no mount, cgroup, process or container file remains.
"""
import os
import shutil
import threading
import time

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


def _empty(d):
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            return not f.read().strip()
    except OSError:
        return False  # gone meanwhile


class _IdWatch:
    """The ids of the containers a store has had: its containers/ directory, looked at every 50 ms
    while the test runs (the names of container cgroups carry the id, not the test's tag)."""

    def __init__(self, root):
        self.dir = os.path.join(root, "containers")
        self.ids = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            try:
                self.ids.update(os.listdir(self.dir))
            except OSError:
                pass

    def stop(self):
        self._stop.set()
        self._thread.join()


def _check_cgroups(before, ids):
    """The leak check counts cgroups only in strict mode (their names carry no test tag): count ours here.
    Containers that other stores run meanwhile (parallel test runs, other users' hull) are not ours and
    must not be touched: a cgroup counts as left behind only when it is new, named after a container
    of this store, and stays empty for 2 s. (CI runs alone, in strict mode: every cgroup counts there.)"""
    suspects = {d for d in _hull_cgroups() - before
                if _empty(d) and os.path.basename(d)[len("hull-"):] in ids}
    deadline = time.monotonic() + 2
    while suspects and time.monotonic() < deadline:
        time.sleep(0.1)
        suspects = {d for d in suspects if _empty(d)}
    left = sorted(suspects)
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
    watch = _IdWatch(str(root))
    yield h
    h.cleanup()
    h.close()
    watch.stop()
    _check_cgroups(before, watch.ids)


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
    watch = _IdWatch(debian_store.root)
    yield debian_store
    debian_store.cleanup()
    watch.stop()
    _check_cgroups(before, watch.ids)
