"""hull run --isolation vm: containers in a microVM of their own (docs/agent.md), driven through the
engine, its monitor and hull-runtime like ordinary containers. On this project's hosts the VMM is
QEMU under TCG (their /dev/kvm is PVM and cannot run Linux), so a boot costs seconds: each test
boots as few VMs as it can and checks several behaviours on each."""
import os
import signal
import subprocess
import sys

import pytest

for _d in ("engine", "clients"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", _d))
import engine_util as eu  # noqa: E402
from clienttest import run_in_pty  # noqa: E402
from engine_fixtures import ROOT_ONLY, _need_binaries  # noqa: E402

pytestmark = ROOT_ONLY
VM = ["--isolation", "vm"]


@pytest.fixture
def hull(tmp_path, tag, leak_check):
    """A private store with busybox imported as bb. Unlike the engine tests' fixture this one does
    not count hull-* cgroups: a VM-isolated container makes none, and counting them would catch
    other test runs sharing the machine."""
    _need_binaries()
    root = tmp_path / f"root-{tag}"
    h = eu.Hull(str(root))
    h.run("import", "--change", 'CMD ["/bin/sh"]', eu.busybox_tar(str(tmp_path / "bb.tar")), "bb")
    leak_check.watch_dir(str(root / "containers"))
    yield h
    h.cleanup()
    h.close()


def vmm_of(hull, name):
    """The VMM process: the only child of the container's process (hull-runtime's shim)."""
    pid = hull.inspect(name)["State"]["Pid"]
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        kids = f.read().split()
    assert len(kids) == 1, kids
    return int(kids[0])


def test_vm_run_foreground_stdio_exit_code_and_terminal(hull):
    p = hull.run("run", "--rm", "-i", "-w", "/made/here", *VM, "bb", "sh", "-c",
                 "read x; echo got $x $(pwd); echo err >&2; uname -r; echo $(ls /sys/class/net); touch /written; exit 3",
                 input=b"hello\n",
                 check=False)
    assert p.returncode == 3, p.err
    lines = p.out.splitlines()
    assert lines[0] == "got hello /made/here"
    # the guest's kernel, not the host's
    assert lines[1] != os.uname().release and lines[1].endswith("-cloud-amd64")
    # the default network: the guest has the namespace's eth0 (docs/agent.md, "Networks")
    assert lines[2] == "eth0 lo"
    assert p.err == "err\n"
    # the image's root disk is made once, the base of each container's overlay; what a container
    # wrote stays in its overlay, which went with it
    [base] = os.listdir(os.path.join(hull.root, "vm-cache", "images"))
    assert base.endswith(".isolation.ext4")
    base = os.path.join(hull.root, "vm-cache", "images", base)
    assert os.stat(base).st_nlink == 1
    stat = subprocess.run(["debugfs", "-R", "stat /written", base], capture_output=True, text=True)
    assert "File not found" in stat.stderr + stat.stdout
    status, out = run_in_pty(hull.cmd("run", "--rm", "-t", "--network", "none", *VM, "bb", "sh", "-c",
                                      "test -t 0 && ! test -e /written && stty size && echo nics $(ls /sys/class/net) "
                                      "&& exit 5"), size=(33, 101), timeout=120)
    assert status == 5 and "33 101" in out, out
    # --network none: loopback only
    assert "nics lo\r" in out, out
    assert "No such file" in hull.fail("run", "--rm", *VM, "bb", "/no/such/file", code=127)
    assert hull.ps() == [] and hull.files_of_containers() == []


def test_vm_detached_exec_env_user_workdir_volume_signal_logs_stop_restart(hull, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in.txt").write_text("from host\n")
    hull.run("run", "-d", "--name", "v", *VM, "-e", "FOO=bar", "-u", "65534:65534", "-w", "/tmp",
             "-v", f"{vol}:/data", "bb", "sh", "-c",
             "echo started; trap 'echo usr1' USR1; trap 'echo stopping; exit 3' TERM; "
             "while :; do sleep 0.1; done")
    [row] = hull.ps()
    assert row["Isolation"] == "vm" and row["State"] == "running"
    assert "ISOLATION" in hull.run("ps").out
    hull.wait_for("v", lambda c: "started" in hull.run("logs", "v").out, what="started in the log")

    assert hull.run("exec", "v", "sh", "-c", "echo $FOO $(pwd) $(id -u)").out == "bar /tmp 65534\n"
    p = hull.run("exec", "-u", "0", "-w", "/data", "v", "sh", "-c", "cat in.txt; echo new > out.txt; rm in.txt")
    assert p.out == "from host\n"
    assert hull.run("exec", "v", "sh", "-c", "exit 4", check=False).returncode == 4
    assert hull.run("exec", "-i", "v", "cat", input=b"piped\n").out == "piped\n"
    assert hull.run("exec", "v", "/no/such/program", check=False).returncode == 127

    hull.run("exec", "v", "sh", "-c", "echo kept > /tmp/persist")
    hull.run("kill", "-s", "USR1", "v")
    hull.wait_for("v", lambda c: "usr1" in hull.run("logs", "v").out, what="the trap's output")
    hull.run("stop", "-t", "20", "v", timeout=60)
    st = hull.inspect("v")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 3
    assert hull.run("logs", "v").out == "started\nusr1\nstopping\n"
    # the volume's content came back from the VM's disk
    assert sorted(os.listdir(vol)) == ["out.txt"] and (vol / "out.txt").read_text() == "new\n"
    # the container's root disk is kept with it: what it wrote is there after a restart
    hull.run("start", "v")
    assert hull.run("exec", "v", "cat", "/tmp/persist").out == "kept\n"
    hull.run("rm", "-f", "v")


def test_vm_kill_9_of_the_vmm_is_a_failure_with_restart(hull):
    hull.run("run", "-d", "--name", "k", "--restart", "on-failure:1", *VM, "bb", "sh", "-c",
             "echo up; while :; do sleep 0.1; done")
    hull.wait_for("k", lambda c: "up" in hull.run("logs", "k").out, what="the container's output")
    first = vmm_of(hull, "k")
    os.kill(first, signal.SIGKILL)
    # the monitor sees the container fail (137) and the policy starts it again, in a new VM
    c = hull.wait_for("k", lambda c: c["RestartCount"] == 1 and c["State"]["Status"] == "running", timeout=60,
                      what="a restart")
    hull.wait_for("k", lambda c: hull.run("logs", "k").out.count("up") == 2, timeout=60, what="the second boot")
    assert vmm_of(hull, "k") != first
    assert "the VM ended before the container's process" in hull.run("logs", "k").err + hull.run("logs", "k").out
    hull.run("rm", "-f", "k")
    assert hull.files_of_containers() == []
