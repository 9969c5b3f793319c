"""Shared volumes of VM-isolated containers through virtio-fs (docs/agent.md, "Shared directories"):
each directory mounted into the container is served live by a virtiofsd that the container's shim
owns. On this project's hosts the VMM is QEMU under TCG (slow boots): one VM checks everything it
can. Run with HULL_AGENT_INITRD set to an initramfs of this tree's agent (it loads fuse and
virtiofs); the shared assets/guest/agent.cpio may be older."""
import os
import signal
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
VIRTIOFSD = os.environ.get("HULL_VIRTIOFSD", "/usr/lib/qemu/virtiofsd")


@pytest.fixture(autouse=True)
def need_virtiofsd():
    """The guest and a VMM: conftest.py's need_guest."""
    if not os.access(VIRTIOFSD, os.X_OK):
        pytest.skip(f"no virtiofsd at {VIRTIOFSD} (Debian's qemu-system-common)")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(k) for k in f.read().split()]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def daemons_serving(path):
    """virtiofsd processes whose command line names path (their -o source=)."""
    return eu.pids_of("virtiofsd", path)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_vm_shares_volume_live_with_a_container_ro_owner_and_kill_9(hull, tmp_path):
    hull.run("volume", "create", "shared")
    mnt = hull.run("volume", "inspect", "--format", "{{.Mountpoint}}", "shared").out.strip()
    assert os.path.isdir(mnt), mnt
    os.chmod(mnt, 0o777)  # the VM's process is not root
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "given.txt").write_text("read only\n")
    # The VM-isolated container writes as uid 1234, refuses to write to its ro volume, then
    # answers each file that the ordinary container writes while both run.
    hull.run("run", "-d", "--name", "v", *VM, "--network", "none", "-u", "1234:2345",
             "-v", "shared:/data", "-v", f"{ro}:/ro:ro", "bb", "sh", "-c",
             "cat /ro/given.txt; touch /ro/nope 2>/dev/null && echo ro-WRITABLE || echo ro-refused; "
             "grep -q ' /ro virtiofs ro' /proc/mounts && echo ro-mounted; "
             "echo from-vm > /data/vm.txt; mkdir /data/dir; echo ready; "
             "while ! test -e /data/ctr.txt; do sleep 0.1; done; echo saw $(cat /data/ctr.txt); "
             "while :; do sleep 1; done")
    hull.wait_for("v", lambda c: "ready" in hull.run("logs", "v").out, timeout=120, what="the VM's writes")
    logs = hull.run("logs", "v").out
    assert "read only" in logs and "ro-refused" in logs and "ro-mounted" in logs, logs
    assert not (ro / "nope").exists()
    # live: on the host, and in an ordinary container, while the VM runs
    st = os.stat(os.path.join(mnt, "vm.txt"))
    assert (st.st_uid, st.st_gid) == (1234, 2345)
    assert os.stat(os.path.join(mnt, "dir")).st_uid == 1234
    p = hull.run("run", "--rm", "--network", "none", "-v", "shared:/data", "bb", "sh", "-c",
                 "cat /data/vm.txt; echo from-ctr > /data/ctr.txt")
    assert p.out == "from-vm\n", p.err
    hull.wait_for("v", lambda c: "saw from-ctr" in hull.run("logs", "v").out, timeout=30,
                  what="the container's write seen in the VM")
    # exec sees the share too, and a write there is at once on the host
    hull.run("exec", "v", "sh", "-c", "echo exec > /data/exec.txt")
    assert open(os.path.join(mnt, "exec.txt")).read() == "exec\n"

    # one virtiofsd per directory, children of the shim next to the VMM
    shim = hull.inspect("v")["State"]["Pid"]
    kids = children(shim)
    daemons = [k for k in kids if comm(k) == "virtiofsd"]
    [vmm] = [k for k in kids if comm(k) != "virtiofsd"]
    assert len(daemons) == 2, [comm(k) for k in kids]
    assert daemons_serving(str(ro))
    # kill -9 of the VMM: the container fails with 137 and no virtiofsd is left
    os.kill(vmm, signal.SIGKILL)
    c = hull.wait_for("v", lambda c: c["State"]["Status"] == "exited", timeout=30, what="the container's end")
    assert c["State"]["ExitCode"] == 137
    wait_until(lambda: not daemons_serving(str(ro)) and not daemons_serving(mnt), 10, "virtiofsd to go")
    for d in daemons:
        assert not os.path.exists(f"/proc/{d}")
    hull.run("rm", "v")
    assert hull.files_of_containers() == []


def test_vm_without_virtiofsd_copies_volumes_in_and_out(hull, tmp_path):
    """No virtiofsd (HULL_VIRTIOFSD set empty): the volume is an ext4 disk, copied back at the end."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in.txt").write_text("in\n")
    p = hull.run("run", "--rm", *VM, "--network", "none", "-v", f"{vol}:/data", "bb", "sh", "-c",
                 "grep -o ' /data [a-z0-9]* ' /proc/mounts; cat /data/in.txt; echo out > /data/out.txt",
                 env={"HULL_VIRTIOFSD": ""})
    assert p.out == " /data ext4 \nin\n", p.err
    assert sorted(os.listdir(vol)) == ["in.txt", "out.txt"] and (vol / "out.txt").read_text() == "out\n"
    assert hull.files_of_containers() == []


def test_vm_kill_9_of_the_shim_takes_its_virtiofsd(hull, tmp_path):
    """SIGKILL of the container's process (hull-runtime's shim): the VMM and every virtiofsd go too
    (PR_SET_PDEATHSIG), nothing is left of the share."""
    d = tmp_path / "d"
    d.mkdir()
    hull.run("run", "-d", "--name", "s", *VM, "--network", "none", "-v", f"{d}:/data", "bb", "sh", "-c",
             "echo up > /data/up; while :; do sleep 1; done")
    wait_until(lambda: (d / "up").exists(), 120, "the VM's write")
    shim = hull.inspect("s")["State"]["Pid"]
    assert daemons_serving(str(d))
    os.kill(shim, signal.SIGKILL)
    hull.wait_for("s", lambda c: c["State"]["Status"] == "exited", timeout=30, what="the container's end")
    wait_until(lambda: not daemons_serving(str(d)), 10, "virtiofsd to go")
    hull.run("rm", "s")
    assert hull.files_of_containers() == []
