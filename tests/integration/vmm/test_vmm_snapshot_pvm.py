"""hull-vmm's snapshots on this machine's own /dev/kvm with the freestanding test guest.

The guest (tests/vmm-guests/guest.c, mode "vsock") computes a value, connects to host vsock
port 5000, sends "before=V", reads a number N and sends "after=V+N". Under
--snapshot-at-connect 5000 hull-vmm snapshots it at that connection request; two copies
restored from the snapshot at once, each with its own vsock socket, must go on from the
request: each answers with the value it had before the snapshot plus its own N; with --fs
(guest RAM a shared memfd) the restore copies the saved pages instead of mapping them. Real
Linux guests are snapshotted in tests/nested/snapshot.
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from hulltest import BUILD, binary

GUEST = os.path.join(BUILD, "tests", "vmm-guests", "vmm-test-guest")
PORT = 5000
# sum of i*i for i in 1..1000, what the guest computes before it connects
VALUE = 333833500


def _usable():
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this host"
    if not os.path.exists(GUEST):
        return f"test guest not built ({GUEST})"
    return None


pytestmark = pytest.mark.skipif(_usable() is not None, reason=_usable() or "")


@pytest.fixture
def workdir(tag, leak_check):
    d = f"/tmp/hull-vmm-snap-{tag}"
    os.makedirs(d)
    leak_check.watch_dir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.settimeout(30)
    return s


def converse(server, n):
    """The host's side: read "before=V", send n, read "after=W"; returns (V, W)."""
    c, _ = server.accept()
    c.settimeout(30)
    f = c.makefile("rwb")
    before = f.readline().decode().strip()
    f.write(b"%d\n" % n)
    f.flush()
    after = f.readline().decode().strip()
    c.close()
    assert before.startswith("before=") and after.startswith("after="), (before, after)
    return int(before[7:], 16), int(after[6:], 16)


def start(*args):
    return subprocess.Popen([binary("hull-vmm"), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def make_template(workdir, n, *extra):
    """Boot the guest under --snapshot-at-connect and talk to it; returns the template, the
    conversation's values and the VMM's end."""
    tmpl = os.path.join(workdir, "tmpl")
    server = listen(f"{workdir}/m.sock_{PORT}")
    maker = start("--kernel", GUEST, "--cmdline", "vsock", "--vsock", f"cid=3,uds={workdir}/m.sock",
                  "--snapshot-at-connect", f"{PORT},dir={tmpl}", *extra)
    try:
        values = converse(server, n)
    finally:
        out, err = maker.communicate(timeout=30)
        server.close()
    return tmpl, values, maker, out, err


def test_snapshot_then_two_restores(workdir):
    tmpl, (before, after), maker, out, err = make_template(workdir, 7)
    assert (before, after) == (VALUE, VALUE + 7), out + err
    assert "HULL-PVM vsock ok" in out, out + err
    assert maker.returncode == 0, err
    if "cannot write the snapshot" in err:
        pytest.skip(f"this host's KVM cannot save the state: {err.strip()}")
    assert sorted(os.listdir(tmpl)) == ["memory", "state"], err
    assert not [f for f in os.listdir(workdir) if ".tmp-" in f]
    # Only the pages the guest touched are in the memory file.
    st = os.stat(f"{tmpl}/memory")
    assert st.st_size == 256 << 20 and st.st_blocks * 512 < 16 << 20, st

    servers, vms = {}, {}
    for name in ("a", "b"):
        servers[name] = listen(f"{workdir}/{name}.sock_{PORT}")
        vms[name] = start("--restore", tmpl, "--vsock", f"cid=3,uds={workdir}/{name}.sock")
    results = {}
    try:
        for name, n in (("a", 1000), ("b", 2000)):
            try:
                results[name] = converse(servers[name], n)
            except socket.timeout:
                results[name] = None
    finally:
        outs = {name: vm.communicate(timeout=30) for name, vm in vms.items()}
        for s in servers.values():
            s.close()
    refused = [e for _, e in outs.values() if "refuses the saved state" in e]
    if refused:
        pytest.skip(f"this host's KVM (PVM) cannot take the saved state back: {refused[0].strip()}")
    assert results["a"] == (VALUE, VALUE + 1000), outs["a"]
    assert results["b"] == (VALUE, VALUE + 2000), outs["b"]
    for name, vm in vms.items():
        assert "HULL-PVM vsock ok" in outs[name][0], outs[name]
        assert vm.returncode == 0, outs[name]
    for name in ("m", "a", "b"):
        assert not os.path.exists(f"{workdir}/{name}.sock")


def test_restore_refuses_another_machine(workdir):
    tmpl = make_template(workdir, 1)[0]
    if not os.path.exists(f"{tmpl}/state"):
        pytest.skip("this host's KVM cannot save the state")
    cases = [
        (["--cpus", "2"], "--cpus is 2, the snapshot has 1"),
        (["--memory", "512M"], "--memory is 512M, the snapshot has 256M"),
        (["--no-rng"], "1 devices on the command line, the snapshot has 2"),
        (["--vsock", f"cid=4,uds={workdir}/x.sock"], "--vsock cid=4, the snapshot's guest has cid 3"),
    ]
    for extra, message in cases:
        args = ["--restore", tmpl, *extra]
        if "--vsock" not in extra:
            args += ["--vsock", f"cid=3,uds={workdir}/x.sock"]
        p = subprocess.run([binary("hull-vmm"), *args], capture_output=True, text=True, timeout=30)
        assert p.returncode == 125, p.stderr
        assert message in p.stderr and p.stderr.count("\n") == 1, p.stderr
        assert not os.path.exists(f"{workdir}/x.sock")
    # A corrupt state file is one line too.
    with open(f"{tmpl}/state", "r+b") as f:
        f.seek(8)
        f.write(b"\x07")
    p = subprocess.run([binary("hull-vmm"), "--restore", tmpl, "--vsock", f"cid=3,uds={workdir}/x.sock"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "format version 7" in p.stderr, p.stderr
    # The memory file shorter than the machine's RAM.
    with open(f"{tmpl}/state", "r+b") as f:
        f.seek(8)
        f.write(b"\x01")
    os.truncate(f"{tmpl}/memory", 1 << 20)
    p = subprocess.run([binary("hull-vmm"), "--restore", tmpl, "--vsock", f"cid=3,uds={workdir}/x.sock"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "memory file of 1048576 bytes" in p.stderr, p.stderr


VIRTIOFSD = os.environ.get("HULL_VIRTIOFSD", "/usr/lib/qemu/virtiofsd")


def virtiofsd(workdir, name):
    """A virtiofsd serving workdir/share on workdir/NAME.fs (it ends when the VMM hangs up)."""
    sock = f"{workdir}/{name}.fs"
    os.makedirs(f"{workdir}/share", exist_ok=True)
    p = subprocess.Popen([VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={workdir}/share",
                          "-o", "cache=none", "--rlimit-nofile=0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if os.path.exists(sock):
            return p, sock
        time.sleep(0.05)
    p.kill()
    pytest.fail(f"virtiofsd did not listen: {p.communicate()[1]}")


@pytest.mark.skipif(not os.access(VIRTIOFSD, os.X_OK), reason=f"no virtiofsd at {VIRTIOFSD} (qemu-system-common)")
def test_restore_with_fs(workdir):
    """With --fs guest RAM is a shared memfd: the restore copies the saved pages into it."""
    fsd, sock = virtiofsd(workdir, "m")
    tmpl, values, maker, out, err = make_template(workdir, 3, "--fs", f"socket={sock},tag=share")
    fsd.wait(timeout=30)
    assert values == (VALUE, VALUE + 3) and maker.returncode == 0, out + err
    assert os.path.exists(f"{tmpl}/state"), err
    fsd, sock = virtiofsd(workdir, "r")
    server = listen(f"{workdir}/r.sock_{PORT}")
    vm = start("--restore", tmpl, "--vsock", f"cid=3,uds={workdir}/r.sock", "--fs", f"socket={sock},tag=share")
    try:
        values = converse(server, 40)
    finally:
        out, err = vm.communicate(timeout=30)
        server.close()
        fsd.wait(timeout=30)
    assert values == (VALUE, VALUE + 40), out + err
    assert vm.returncode == 0 and "HULL-PVM vsock ok" in out, out + err
