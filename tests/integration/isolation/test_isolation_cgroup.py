"""The cgroup of a VM-isolated container (docs/agent.md, "Resources"): hull-runtime puts its shim
and its VMM in the cgroup an ordinary container would get, applies linux.resources there, sizes the
guest from the limits; pause freezes it (the guest stops), stats read it, rm and a kill -9 of the
VMM or of the shim leave no cgroup. QEMU under TCG here: few boots, several checks each."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

for _d in ("engine", "clients"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", _d))
import engine_util as eu  # noqa: E402
from engine_fixtures import ROOT_ONLY, _hull, _need_binaries  # noqa: E402

pytestmark = ROOT_ONLY
VM = ["--isolation", "vm"]
MEMCG = "/sys/fs/cgroup/memory"
RUNTIME = os.path.join(eu.BUILD, "cmd", "hull-runtime", "hull-runtime")


def _agent_initrd():
    """The agent of this tree (HULL_AGENT_INITRD), else the shared one."""
    return os.environ.get("HULL_AGENT_INITRD") or os.path.join(eu.ASSETS, "guest", "agent.cpio")


@pytest.fixture
def hull(tmp_path, tag, leak_check):
    _need_binaries()
    for f in (os.path.join(eu.ASSETS, "guest", "vmlinuz"), _agent_initrd()):
        if not os.path.exists(f):
            pytest.skip(f"{f} is missing (scripts/guest-assets, scripts/agent-initramfs)")
    if not os.path.exists("/usr/bin/qemu-system-x86_64") and not os.path.exists("/dev/kvm"):
        pytest.skip("no VMM: qemu-system-x86_64 is not installed and there is no /dev/kvm")
    if not os.path.isdir(MEMCG):
        pytest.skip("these checks read cgroup v1 files (/sys/fs/cgroup/memory); v2 runs in tests/nested")
    # the engine tests' store, whose teardown also fails a test that leaves a container cgroup
    yield from _hull(tmp_path, tag, leak_check, None)


def cgroup_dirs(cid):
    """The container's cgroup in every v1 hierarchy that has it."""
    out = []
    for top in os.listdir("/sys/fs/cgroup"):
        d = os.path.join("/sys/fs/cgroup", top, f"hull-{cid}")
        if not os.path.islink(os.path.join("/sys/fs/cgroup", top)) and os.path.isdir(d):
            out.append(d)
    return out


def read(path):
    with open(path) as f:
        return f.read().strip()


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(k) for k in f.read().split()]


def lines(hull, name):
    return hull.run("logs", name).out.splitlines()


def counted(hull, name):
    return [int(x) for x in lines(hull, name) if x.isdigit()]


def test_vm_sized_from_limits_in_its_cgroup_pause_stats_rm(hull):
    hull.run("run", "-d", "--name", "r", "-m", "300m", "--cpus", "2", "--pids-limit", "200", *VM, "bb", "sh",
             "-c",
             "grep MemTotal /proc/meminfo; echo cpus $(grep -c ^processor /proc/cpuinfo); "
             # the guest's memory used up to its tmpfs's share: the VMM must stay within 300m
             "dd if=/dev/zero of=/dev/shm/fill bs=1M count=120 2>/dev/null; echo filled; "
             # traffic on the namespace's interface that the guest's NIC is joined to
             "ping -c 1 -W 2 $(ip route | awk '/^default/ {print $3}') >/dev/null 2>&1; "
             "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done",
             env=dict(os.environ, HULL_AGENT_INITRD=_agent_initrd()))
    c = hull.inspect("r")
    cid, shim = c["Id"], c["State"]["Pid"]
    hull.wait_for("r", lambda _: len(counted(hull, "r")) > 5, timeout=120, what="the counter in the log")
    out = lines(hull, "r")
    # -m 300m --cpus 2 under QEMU TCG: 300 - (112 + 2 x 16) MiB for the VMM = 156 MiB of guest
    # memory, less what the guest kernel reserves; two vCPUs
    mem_kib = int(out[0].split()[1])
    assert 100 * 1024 < mem_kib <= 156 * 1024, out[0]
    assert out[1] == "cpus 2" and out[2] == "filled", out[:3]
    vm = c["VMIsolation"]
    assert vm["memoryMiB"] == 156 and vm["cpus"] == 2, vm
    assert vm["memoryFrom"] == "linux.resources.memory.limit 300 MiB minus 144 MiB for the VMM"
    assert vm["vmm"].startswith("qemu")

    # the shim and the VMM in the container's cgroup, with the limits set
    [vmm] = children(shim)
    procs = {int(p) for p in read(f"{MEMCG}/hull-{cid}/cgroup.procs").split()}
    assert {shim, vmm} <= procs, (shim, vmm, procs)
    assert read(f"{MEMCG}/hull-{cid}/memory.limit_in_bytes") == str(300 << 20)
    assert read(f"/sys/fs/cgroup/pids/hull-{cid}/pids.max") == "200"
    assert read(f"/sys/fs/cgroup/cpu/hull-{cid}/cpu.cfs_quota_us") == "200000"
    with open(f"/proc/{vmm}/cgroup") as f:
        assert f"/hull-{cid}" in f.read()
    # the VMM's device rules, not the container's
    assert "c 10:232 rw" in read(f"/sys/fs/cgroup/devices/hull-{cid}/devices.list")
    # the guest filled its memory and the VMM was not OOM-killed
    assert "oom_kill 0" in read(f"{MEMCG}/hull-{cid}/memory.oom_control")

    # stats: the VM's memory as the host sees it, the VMM's CPU time and threads
    [st] = json.loads(hull.run("stats", "--no-stream", "--format", "json", "r").out)
    assert st["MemLimit"] == 300 << 20 and 100 << 20 < st["MemUsage"] <= 300 << 20, st
    assert st["CPUNano"] > 0 and st["PIDs"] >= 3, st
    # the network counters of the container's namespace (the shim is not in it)
    assert st["NetInput"] > 0 and st["NetOutput"] > 0, json.dumps(st)
    # hull-runtime update: the cgroup changes, the VMM's device rules and the guest's size stay
    rt_root = os.path.join(hull.root, "runtime")
    subprocess.run([RUNTIME, "--root", rt_root, "update", "--memory", "400m", "--pids-limit", "300", cid],
                   check=True)
    assert read(f"{MEMCG}/hull-{cid}/memory.limit_in_bytes") == str(400 << 20)
    assert read(f"/sys/fs/cgroup/pids/hull-{cid}/pids.max") == "300"
    assert "c 10:232 rw" in read(f"/sys/fs/cgroup/devices/hull-{cid}/devices.list")
    with open(os.path.join(rt_root, cid, "isolation.json")) as f:
        assert json.load(f)["memoryMiB"] == 156

    # top: the guest's processes, listed by its agent (not the VMM, not the agent, no kernel threads)
    top = hull.run("top", "r", "user", "pid", "ppid", "args").out.splitlines()
    assert top[0].split() == ["USER", "PID", "PPID", "COMMAND"], top
    rows = [ln.split(None, 3) for ln in top[1:]]
    main = [r for r in rows if r[3].startswith("sh -c grep MemTotal")]
    assert len(main) == 1 and main[0][0] == "root" and main[0][2] == "0", top
    assert not any("qemu" in r[3] or "hull-agent" in r[3] or r[3].startswith("[") for r in rows), top
    # hull-runtime ps shows the same processes
    rt = subprocess.run([RUNTIME, "--root", rt_root, "ps", cid],
                        capture_output=True, text=True, check=True).stdout.splitlines()
    assert rt[0].split() == ["UID", "PID", "PPID", "S", "TIME", "CMD"], rt
    assert any(ln.split(None, 5)[5].startswith("sh -c grep MemTotal") for ln in rt[1:]), rt

    # pause: the cgroup is frozen, the guest stops (its counter does not advance), then resumes
    hull.run("pause", "r")
    assert hull.inspect("r")["State"]["Status"] == "paused"
    assert read(f"/sys/fs/cgroup/freezer/hull-{cid}/freezer.state") == "FROZEN"
    time.sleep(0.5)
    n1 = counted(hull, "r")[-1]
    time.sleep(3)
    assert counted(hull, "r")[-1] == n1
    # a paused guest cannot list its processes: said at once
    assert "is paused" in hull.fail("top", "r")
    hull.run("unpause", "r")
    assert hull.inspect("r")["State"]["Status"] == "running"
    time.sleep(0.5)
    # a guest that had kept running while its output was held would have counted ~30 more by now
    n2 = counted(hull, "r")[-1]
    assert n2 < n1 + 15, (n1, n2)
    hull.wait_for("r", lambda _: counted(hull, "r")[-1] > n2, timeout=30, what="the counter to resume")

    # events --stats reads the same cgroup, with update's limit
    ev = json.loads(subprocess.run([RUNTIME, "--root", rt_root, "events", "--stats", cid],
                                   capture_output=True, text=True, check=True).stdout)
    assert ev["data"]["memory"]["usage"]["limit"] == 400 << 20 and ev["data"]["pids"]["current"] >= 3, ev

    # kill --all with SIGTERM reaches the guest's process (143), not the VMM (which would end the VM: 255)
    subprocess.run([RUNTIME, "--root", rt_root, "kill", "--all", cid, "TERM"], check=True)
    c = hull.wait_for("r", lambda c: c["State"]["Status"] == "exited", timeout=60,
                      what="the container to end")
    assert c["State"]["ExitCode"] == 143, c["State"]
    hull.run("rm", "r")
    assert cgroup_dirs(cid) == []


@pytest.mark.parametrize("victim", ["vmm", "shim"])
def test_vm_kill_9_leaves_no_cgroup(hull, victim):
    hull.run("run", "-d", "--name", "k", "-m", "256m", "--pids-limit", "12", *VM, "bb", "sh", "-c",
             "echo up; while :; do sleep 0.1; done",
             env=dict(os.environ, HULL_AGENT_INITRD=_agent_initrd()))
    hull.wait_for("k", lambda _: "up" in hull.run("logs", "k").out, timeout=120,
                  what="the container's output")
    c = hull.inspect("k")
    cid, shim = c["Id"], c["State"]["Pid"]
    assert cgroup_dirs(cid)
    [vmm] = children(shim)
    # the pids limit bounds QEMU's I/O workers: 12 - the shim, QEMU's main and RCU threads, a
    # copy-back's two helpers - one vCPU
    with open(f"/proc/{vmm}/cmdline") as f:
        assert "main-loop,id=main-loop,thread-pool-max=6" in f.read().split("\0")
    os.kill(vmm if victim == "vmm" else shim, signal.SIGKILL)
    c = hull.wait_for("k", lambda c: c["State"]["Status"] == "exited", timeout=60,
                      what="the container to end")
    assert c["State"]["ExitCode"] == 137
    deadline = time.monotonic() + 10
    while cgroup_dirs(cid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cgroup_dirs(cid) == []
    hull.run("rm", "k")


def test_vm_limits_too_small_are_refused_before_any_boot(hull):
    err = hull.fail("run", "--rm", "-m", "150m", *VM, "bb", "true")
    assert "linux.resources.memory.limit: 150 MiB is too small for a VM: at least 192 MiB" in err, err
    err = hull.fail("run", "--rm", "--pids-limit", "5", *VM, "bb", "true")
    assert "linux.resources.pids.limit: 5 is too small for a VM with 1 vCPU: at least 7" in err, err
    assert hull.ps("--all") == []
