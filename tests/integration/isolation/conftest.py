"""What every VM-isolation test needs: the guest's kernel and the agent's initramfs, and a VMM."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402


@pytest.fixture(autouse=True)
def need_guest():
    for f in ("vmlinuz", "agent.cpio"):
        if not os.path.exists(os.path.join(eu.ASSETS, "guest", f)):
            pytest.skip(f"assets/guest/{f} is missing (scripts/guest-assets, scripts/agent-initramfs)")
    if not os.path.exists("/usr/bin/qemu-system-x86_64") and not os.path.exists("/dev/kvm"):
        pytest.skip("no VMM: qemu-system-x86_64 is not installed and there is no /dev/kvm")
