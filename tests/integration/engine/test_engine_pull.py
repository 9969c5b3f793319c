"""run and create pull a missing image through the hull-image helper, with the registry options of
hull pull; --pull never does not, and a failed pull leaves nothing behind."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "image"))

from engine_fixtures import ROOT_ONLY, hull_hostnet  # noqa: F401,E402
from image_fixtures import registry_basic, registry_http  # noqa: F401,E402

pytestmark = ROOT_ONLY


# The registry listens on the machine's loopback: hull runs in its namespace, containers on none.
def test_run_pulls_missing_image(hull_hostnet, registry_http, tag):
    hull, reg = hull_hostnet, registry_http
    ref = f"{reg.host}/engine/bb-{tag}:1"
    hull.run("push", *reg.opts(), "bb", ref)
    hull.run("rmi", "bb")
    assert hull.run("images", "-q").out.strip() == ""
    line = hull.fail("run", "--rm", "--network", "none", "--pull", "never", ref, "true")
    assert ref in line
    # Without --tls-verify=false the helper refuses plain HTTP: one line, nothing left.
    line = hull.fail("run", "--rm", "--network", "none", ref, "true")
    assert "pulling it failed" in line
    assert hull.ps() == [] and hull.run("images", "-q").out.strip() == ""
    p = hull.run("run", "--rm", "--network", "none", "--tls-verify=false", ref, "echo", "pulled")
    assert p.out == "pulled\n"
    assert len(hull.run("images", "-q").out.split()) == 1
    # Present now: no registry needed any more.
    reg.close()
    assert hull.run("run", "--rm", "--network", "none", ref, "echo", "again").out == "again\n"


def test_create_pulls_with_credentials(hull_hostnet, registry_basic, tag):
    hull, reg = hull_hostnet, registry_basic
    if not reg.creds:
        pytest.skip("registry without credentials")
    ref = f"{reg.host}/engine/bb-{tag}:1"
    hull.run("push", *reg.opts(), "bb", ref)
    hull.run("rmi", "bb")
    line = hull.fail("create", "--network", "none", "--cert-dir", reg.cert_dir, ref)
    assert "pulling it failed" in line
    cid = hull.run("create", "--network", "none", *reg.opts(), "--name", tag, ref).out.strip()
    assert len(cid) == 64
    assert hull.run("start", "-a", tag).returncode == 0
