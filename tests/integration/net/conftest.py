"""The `lab` fixture of tests/integration/net: a private host namespace per test (netlab.py).

Helpers live in netlab.py, not here: with the whole of tests/integration collected, "conftest"
names another directory's module, so tests import from netlab.
"""
import os
import shutil

import pytest

from netlab import HULL_DNS, NET_TOOL, Lab


@pytest.fixture
def lab(tag, leak_check, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network tests need root (network namespaces, nftables)")
    if not os.path.exists(NET_TOOL) or not os.path.exists(HULL_DNS):
        pytest.skip("net-tool or hull-dns is not built (scripts/build release)")
    if shutil.which("nft") is None:
        pytest.skip("nft (nftables) is not installed")
    lab = Lab(tag, leak_check, tmp_path)
    try:
        yield lab
        # Every test removes what it made; whatever a failed step left is reclaimed here so that
        # the check below and the next test start clean.
        names = [n["name"] for n in lab.json("ls") or []]
        for n in names:
            lab.tool("rm", "--force", n, check=False)
        left = lab.leftovers()
        assert not names, f"networks left behind: {names}"
        assert not left, "hull left behind in the host namespace:\n  " + "\n  ".join(left)
    finally:
        lab.close()
