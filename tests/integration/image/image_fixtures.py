"""Fixtures of the image tests: a private hull store, registries and images, all per test.

Test modules import them by name (a conftest.py here would shadow tests/integration/conftest.py,
which other areas import as "conftest"), and mark themselves root-only with ROOT_ONLY.
"""
import os
import shutil
import subprocess

import pytest

import image_util as iu


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="image tests run hull as root")


@pytest.fixture
def hull(tmp_path, leak_check):
    if not os.path.exists(iu.HULL):
        pytest.skip(f"hull is not built ({iu.HULL}): run scripts/build release")
    root = tmp_path / "store"
    h = iu.Hull(str(root))
    # A staging directory left behind is an import that did not clean up after itself.
    leak_check.watch_dir(str(root / "image" / "tmp"))
    return h


@pytest.fixture
def busybox(hull, tmp_path):
    """The busybox rootfs imported as docker.io/library/bb:1; returns the image id."""
    tar = iu.busybox_tar(str(tmp_path / "bb.tar"))
    return hull.run("import", "--change", 'CMD ["/bin/sh"]', tar, "bb:1").out.strip()


def _registry(kind, tmp_path):
    if not shutil.which("docker-registry") and not os.path.exists("/usr/bin/docker-registry"):
        pytest.skip("docker-registry is not installed")
    if kind == "basic" and not shutil.which("htpasswd"):
        pytest.skip("htpasswd (apache2-utils) is not installed")
    r = iu.Registry(str(tmp_path / ("registry-" + kind)), kind)
    return r


def _registry_fixture(kind):
    @pytest.fixture
    def fixture(tmp_path):
        r = _registry(kind, tmp_path)
        yield r
        r.close()
    fixture.__name__ = "registry_" + kind
    fixture.__doc__ = f"A docker-registry ({kind}) for this test, stopped at teardown."
    return fixture


registry_http = _registry_fixture("http")
registry_https = _registry_fixture("https")
registry_basic = _registry_fixture("basic")
registry_token = _registry_fixture("token")
