"""podman with `--runtime hull-runtime --annotation io.hull.isolation=vm`: each container runs in
a microVM of its own (docs/agent.md). On this project's hosts the VM is QEMU under TCG (their
/dev/kvm is PVM), so one boot costs seconds: each test boots one VM and checks several things."""
import json
import os
import subprocess
import sys

import pytest

from clienttest import run_in_pty, wait_for

HULL_DEFAULT_ROOT = "/run/hull-runtime"
VM = ["--annotation", "io.hull.isolation=vm"]


def need_guest():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "assets", "guest")
    for f in ("vmlinuz", "agent.cpio"):
        if not os.path.exists(os.path.join(root, f)):
            pytest.skip(f"assets/guest/{f} is missing (scripts/guest-assets, scripts/agent-initramfs)")
    if not os.path.exists("/usr/bin/qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")


def test_vm_run_stdio_exit_code_terminal(podman):
    need_guest()
    p = podman("run", "--rm", "-i", *VM, *podman.run_opts(), "-e", "FOO=bar", "-w", "/tmp", "-u", "65534:65534",
               podman.IMAGE, "sh", "-c",
               "read x; echo got $x $FOO $(pwd) $(id -u); echo err >&2; uname -r; exit 7",
               input="hello\n", check=False, timeout=120)
    lines = p.stdout.splitlines()
    assert p.returncode == 7, p.stderr
    assert lines[0] == "got hello bar /tmp 65534"
    # the guest kernel, not the host's: the container runs in its own VM
    assert lines[1] != os.uname().release and lines[1].endswith("-cloud-amd64")
    assert p.stderr == "err\n"
    status, out = run_in_pty(podman.cmd("run", "--rm", "-t", *VM, *podman.run_opts(), podman.IMAGE, "sh", "-c",
                                        "test -t 0 && stty size && exit 5"), env=podman.env, size=(33, 101),
                             timeout=120)
    assert status == 5 and "33 101" in out, out
    assert podman("ps", "--all", "--quiet").stdout == ""


def test_vm_detached_exec_stop_logs(podman):
    need_guest()
    name = podman.tag + "-vm"
    p = podman("run", "-d", "--name", name, "-m", "300m", "--cpus", "2", *VM, *podman.run_opts(), podman.IMAGE,
               "sh", "-c", "echo started; trap 'echo stopping; exit 3' TERM; while :; do sleep 0.1; done",
               timeout=120)
    cid = p.stdout.strip()
    with open(os.path.join(HULL_DEFAULT_ROOT, cid, "vmm")) as f:
        assert f.read().startswith(("qemu", "hull"))
    # podman's limits size the VM and bound its VMM (docs/agent.md, "Resources")
    with open(os.path.join(HULL_DEFAULT_ROOT, cid, "isolation.json")) as f:
        size = json.load(f)
    assert size["cpus"] == 2 and size["memoryMiB"] < 300, size
    assert wait_for(lambda: "started" in podman("logs", name).stdout, timeout=30)
    [st] = json.loads(podman("stats", "--no-stream", "--format", "json", name).stdout)
    # the VM's memory as the host sees it, under -m 300m (314.6 MB)
    assert st["mem_usage"].endswith(" / 314.6MB") and not st["mem_usage"].startswith("0B"), st
    podman("pause", name)
    assert json.loads(podman("inspect", name).stdout)[0]["State"]["Status"] == "paused"
    podman("unpause", name)
    p = podman("exec", "-e", "FOO=bar", "-w", "/tmp", name, "sh", "-c", "echo $FOO $(pwd); exit 4", check=False)
    assert (p.returncode, p.stdout) == (4, "bar /tmp\n")
    assert podman("exec", "-i", name, "cat", input="piped\n").stdout == "piped\n"
    p = podman("exec", name, "/no/such/program", check=False)
    assert p.returncode == 127 and "/no/such/program" in p.stderr
    podman("stop", "-t", "20", name, timeout=60)
    info = json.loads(podman("inspect", name).stdout)[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 3
    assert podman("logs", name).stdout == "started\nstopping\n"
    assert not os.path.exists(os.path.join(HULL_DEFAULT_ROOT, cid))
    podman("rm", name)


def test_vm_on_podmans_default_network_reaches_the_host(podman):
    """podman's default network (CNI bridge plugin here: the namespace, veth, address and routes are
    podman's) taken over by the guest. podman runs in a namespace of its own so that its bridge
    (cni-podman0) and iptables rules go with it instead of staying on the machine."""
    need_guest()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
    from netlab import Netns
    opts = podman.run_opts()
    assert opts[:2] == ["--network", "none"]
    # conmon does not pass the environment down to the runtime: an agent under test goes by annotation.
    initrd = os.environ.get("HULL_AGENT_INITRD")
    vm = VM + (["--annotation", f"io.hull.isolation.initrd={initrd}"] if initrd else [])
    ns = Netns()
    try:
        p = subprocess.run([*ns.enter(), *podman.cmd("run", "--rm", *vm, *opts[2:], podman.IMAGE, "sh", "-c",
                                                     "uname -r; ip -o -4 addr show eth0; ip route; "
                                                     "ping -c 1 -W 10 10.88.0.1 >/dev/null && echo reached")],
                           env=podman.env, capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stderr
        out = p.stdout
        assert out.splitlines()[0].endswith("-cloud-amd64"), out  # the guest, not the host
        assert "inet 10.88." in out and "default via 10.88.0.1 dev eth0" in out, out
        assert out.endswith("reached\n"), out
    finally:
        ns.close()
