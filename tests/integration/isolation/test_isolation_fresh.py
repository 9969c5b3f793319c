"""What a VM-isolated container's guest takes from the host at CREATE (docs/agent.md, "Templates"):
the wall clock and 64 bytes for the kernel's random pool (protocol 3), and disks mounted once they
have a capacity. Here the VMM is QEMU under TCG, which boots every VM cold (templates are
hull-vmm's: their restore is tested in the nested host, tests/nested/isolation/template); the
agent takes the same path either way, so this shows the fields accepted and applied on every
boot. Needs an agent of protocol 3: HULL_AGENT_INITRD, or assets/guest/agent.cpio made from this
tree."""
import os
import sys
import time

import pytest

for _d in ("engine", "clients"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", _d))
import engine_util as eu  # noqa: E402
from engine_fixtures import ROOT_ONLY  # noqa: E402
from test_isolation_engine import hull  # noqa: E402,F401  (a private store with busybox as bb)

pytestmark = ROOT_ONLY
VM = ["--isolation", "vm"]
# A message only the agent of protocol 3 carries (guest/agent/fresh.c).
V3_MARK = b"cannot reseed the kernel's random generator"


@pytest.fixture(autouse=True)
def need_agent_v3():
    agent = os.environ.get("HULL_AGENT_INITRD") or os.path.join(eu.ASSETS, "guest", "agent.cpio")
    with open(agent, "rb") as f:
        if V3_MARK not in f.read():
            pytest.skip(f"{agent} holds an agent older than protocol 3 (scripts/agent-initramfs, or set "
                        "HULL_AGENT_INITRD)")


def test_guest_clock_and_random_from_host_cold(hull):
    host_before = time.time()
    script = ("date +%s; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; "
              "cat /sys/block/vda/size; echo $(grep ' / ' /proc/mounts | cut -d' ' -f1,3)")
    outs = []
    for _ in range(2):
        p = hull.run("run", "--rm", *VM, "bb", "sh", "-c", script, timeout=180)
        outs.append(p.out.split("\n"))
    host_after = time.time()
    for out in outs:
        guest = float(out[0])
        # the host's clock, set at CREATE (a guest run in the past or future would show here)
        assert host_before - 1 <= guest <= host_after + 1, (host_before, guest, host_after)
        # the root disk mounted with its capacity
        assert int(out[2]) > 0 and out[3] == "/dev/vda ext4", out
    # two guests, two random streams
    assert len(outs[0][1]) == 64 and outs[0][1] != outs[1][1], outs


def test_template_note_says_qemu_boots_cold(hull):
    hull.run("run", "-d", "--name", "c1", *VM, "bb", "sleep", "1000", timeout=180)
    cid = hull.inspect("c1")["Id"]
    with open(os.path.join(hull.root, "runtime", cid, "template")) as f:
        note = f.read()
    assert note.startswith("cold: templates are hull-vmm's"), note
    # no template cache for a backend that makes none
    assert not os.path.exists(os.path.join(hull.root, "runtime", ".vm-templates"))
    hull.run("rm", "-f", "c1", timeout=60)
