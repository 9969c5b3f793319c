"""hull-vmm on this machine's own /dev/kvm with the freestanding test guest.

The build machines' KVM is PVM, which runs small guest programs but not a Linux
kernel (docs/vmm.md); tests/vmm-guests/guest.c is such a program. Its kernel command
line chooses the check, and it reports "HULL-PVM <check> ok|fail" on the serial console.
These tests cover the device model (serial, PCI config space, a virtqueue round trip,
MSI-X delivery, a broken queue), the exit codes (poweroff, reboot, triple fault,
grace-time stop), SIGTERM through the ACPI power button, the control API, and the
files hull-vmm must remove. Real Linux guests are tested in tests/nested.
"""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from hulltest import BUILD, binary

GUEST = os.path.join(BUILD, "tests", "vmm-guests", "vmm-test-guest")


def _kvm_usable():
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this host"
    if not os.path.exists(GUEST):
        return f"test guest not built ({GUEST})"
    return None


pytestmark = pytest.mark.skipif(_kvm_usable() is not None, reason=_kvm_usable() or "")


def vmm(*args, stdin=subprocess.DEVNULL, timeout=30):
    return subprocess.run([binary("hull-vmm"), "--kernel", GUEST, *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def workdir(tag, leak_check):
    d = f"/tmp/hull-vmm-test-{tag}"
    os.makedirs(d)
    leak_check.watch_dir(d)
    yield d
    os.rmdir(d)


@pytest.mark.parametrize("check", ["pci", "virtqueue", "msi", "broken"])
def test_device_checks(check):
    p = vmm("--cmdline", check)
    assert f"HULL-PVM {check} ok" in p.stdout, p.stdout + p.stderr
    assert p.returncode == 0


def test_serial_input_and_output():
    p = subprocess.run([binary("hull-vmm"), "--kernel", GUEST, "--cmdline", "serial"], input="hello\n",
                       capture_output=True, text=True, timeout=30)
    assert "echo: hello" in p.stdout
    assert p.returncode == 0


def test_serial_to_file(workdir):
    path = os.path.join(workdir, "console")
    p = vmm("--cmdline", "pci", "--serial", f"file={path}")
    assert p.returncode == 0
    assert p.stdout == ""
    with open(path) as f:
        assert "HULL-PVM pci ok" in f.read()
    os.unlink(path)


def test_exit_codes():
    assert vmm("--cmdline", "pci").returncode == 0        # ACPI S5
    assert vmm("--cmdline", "reboot").returncode == 1     # i8042 reset
    assert vmm("--cmdline", "triple").returncode == 2     # triple fault


def test_smp_and_seccomp_off():
    p = vmm("--cmdline", "virtqueue", "--cpus", "2", "--no-seccomp")
    assert "HULL-PVM virtqueue ok" in p.stdout
    assert p.returncode == 0


def _start(args):
    return subprocess.Popen([binary("hull-vmm"), "--kernel", GUEST, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_line(proc, needle, timeout=20):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return
    proc.kill()
    proc.wait()
    pytest.fail(f"no '{needle}' from the guest: {''.join(seen)}")


def test_sigterm_presses_the_power_button():
    proc = _start(["--cmdline", "button"])
    _wait_line(proc, "waiting for the power button")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert "HULL-PVM button ok" in out
    assert proc.returncode == 0


def test_sigterm_grace_time_runs_out(workdir):
    uds = os.path.join(workdir, "v.sock")
    proc = _start(["--cmdline", "spin", "--shutdown-grace", "300", "--vsock", f"cid=3,uds={uds}"])
    _wait_line(proc, "tick")
    assert os.path.exists(uds)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 3
    assert time.monotonic() - start < 10
    assert not os.path.exists(uds), "the vsock socket was left behind"


def _api(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(json.dumps({"command": command}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def test_control_api(workdir):
    api = os.path.join(workdir, "api.sock")
    proc = _start(["--cmdline", "spin", "--cpus", "2", "--api-sock", api, "--shutdown-grace", "200"])
    _wait_line(proc, "tick")
    st = _api(api, "status")
    assert st["ok"] and st["state"] == "running" and st["vcpus"] == 2
    assert oct(os.stat(api).st_mode & 0o777) == "0o600"
    assert _api(api, "pause") == {"ok": True, "state": "paused"}
    assert _api(api, "status")["state"] == "paused"
    assert _api(api, "pause")["ok"] is False
    assert _api(api, "resume") == {"ok": True, "state": "running"}
    bad = _api(api, "explode")
    assert bad["ok"] is False and "unknown command" in bad["error"]
    assert _api(api, "shutdown")["ok"]
    proc.communicate(timeout=20)
    assert proc.returncode == 3
    assert not os.path.exists(api), "the API socket was left behind"


def _seccomp_filters(pid):
    """Seccomp_filters of the main thread, hull-vmm's I/O thread."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Seccomp_filters:"):
                return int(line.split()[1])
    return None


def test_late_disk_attached_through_the_api(workdir):
    """--disk PATH,late: not opened at start; attach-disks opens it (a qcow2 overlay and its
    backing file, under the I/O thread's seccomp filter), names an image it cannot open and
    leaves the VM running, and once every late disk is open stacks the filter that takes
    opening files away again."""
    api = os.path.join(workdir, "api.sock")
    base = os.path.join(workdir, "base.raw")
    overlay = os.path.join(workdir, "root.qcow2")
    made = os.path.join(workdir, "made.qcow2")
    with open(base, "wb") as f:
        f.truncate(1 << 20)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", made],
                   check=True)
    proc = _start(["--cmdline", "spin", "--api-sock", api, "--shutdown-grace", "200",
                   "--disk", f"{overlay},late,format=qcow2"])
    try:
        _wait_line(proc, "tick")
        filters = _seccomp_filters(proc.pid)
        r = _api(api, "attach-disks")
        assert r["ok"] is False and overlay in r["error"] and "No such file" in r["error"]
        assert _api(api, "status")["state"] == "running"
        os.rename(made, overlay)  # the disk is whole now
        assert _api(api, "attach-disks") == {"ok": True, "state": "running"}
        assert _seccomp_filters(proc.pid) == filters + 1
        assert _api(api, "attach-disks") == {"ok": True, "state": "running"}  # once is enough
        assert _seccomp_filters(proc.pid) == filters + 1
        assert _api(api, "shutdown")["ok"]
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, proc.stderr
    assert not os.path.exists(api), "the API socket was left behind"
    os.unlink(overlay)
    os.unlink(base)


def test_api_socket_inherited(workdir):
    """--api-sock fd=N: the caller's listening socket. A request sent before hull-vmm runs is
    answered once it does (hull-runtime's shim attaches a late disk that way), and the socket
    file is the caller's: hull-vmm leaves it."""
    api = os.path.join(workdir, "api.sock")
    image = os.path.join(workdir, "disk.raw")
    with open(image, "wb") as f:
        f.truncate(1 << 20)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(api)
    lsock.listen(4)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(api)  # queued on the caller's socket: no hull-vmm yet
    client.sendall(b'{"command":"attach-disks"}\n')
    proc = subprocess.Popen([binary("hull-vmm"), "--kernel", GUEST, "--cmdline", "spin", "--shutdown-grace", "200",
                             "--api-sock", f"fd={lsock.fileno()}", "--disk", f"{image},late,format=raw"],
                            pass_fds=(lsock.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lsock.close()
    try:
        client.settimeout(20)
        assert json.loads(client.makefile().readline()) == {"ok": True, "state": "running"}
        client.close()
        assert _api(api, "shutdown")["ok"]
        proc.communicate(timeout=20)
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, proc.stderr
    assert os.path.exists(api), "hull-vmm removed a socket file it did not make"
    os.unlink(api)
    os.unlink(image)


def test_existing_api_socket_path_is_not_taken(workdir):
    api = os.path.join(workdir, "taken")
    open(api, "w").close()
    p = vmm("--cmdline", "pci", "--api-sock", api)
    assert p.returncode == 125
    assert "api-sock: cannot bind" in p.stderr
    assert os.path.exists(api)  # somebody else's file is never removed
    os.unlink(api)


@pytest.mark.parametrize("args,message", [
    (["--cpus", "0"], "--cpus: expected a number from 1 to 254"),
    (["--memory", "12Q"], "--memory: expected a size"),
    (["--disk", "x.img,rw"], "--disk: unknown option 'rw'"),
    (["--disk", "x.img,late"], "--disk x.img,late: needs --api-sock"),
    (["--api-sock", "fd=250"], "--api-sock: fd 250 is not open (it must be inherited)"),
    (["--api-sock", "fd=1"], "--api-sock: invalid file descriptor '1' (3 or more)"),
    (["--net", "mac=02:00:00:00:00:01"], "--net: needs one of tap=NAME or fd=N"),
    (["--net", "fd=250"], "--net: fd 250 is not open (it must be inherited)"),
    (["--vsock", "cid=1,uds=/tmp/x"], "--vsock: invalid cid '1'"),
    (["--serial", "tty"], "--serial: expected stdio, none or file=PATH"),
])
def test_bad_arguments(args, message):
    p = vmm(*args)
    assert p.returncode == 125
    assert message in p.stderr
    assert p.stderr.count("\n") == 1  # one line, said once


@pytest.mark.parametrize("option,message", [
    ("--net", "not a tap device"),
    ("--api-sock", "not a listening Unix stream socket"),
])
def test_inherited_fd_of_the_wrong_kind(option, message):
    """--net fd=N takes an inherited tap (hull-runtime's, opened in a container's namespace),
    --api-sock fd=N an inherited listening socket (the shim's); a pipe is refused."""
    r, w = os.pipe()
    try:
        p = subprocess.run([binary("hull-vmm"), "--kernel", GUEST, option, f"fd={r}"], pass_fds=(r,),
                           capture_output=True, text=True, timeout=30)
    finally:
        os.close(r)
        os.close(w)
    assert p.returncode == 125
    assert f"{option} fd={r}: {message}" in p.stderr and p.stderr.count("\n") == 1


def test_missing_kernel():
    p = subprocess.run([binary("hull-vmm"), "--kernel", "/nonexistent/vmlinuz"], capture_output=True, text=True)
    assert p.returncode == 125
    assert "kernel: cannot open '/nonexistent/vmlinuz'" in p.stderr


def test_help_documents_exit_codes():
    p = subprocess.run([binary("hull-vmm"), "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for line in ("0    the guest powered off", "1    the guest asked for a reboot", "2    the guest crashed",
                 "125  hull-vmm failed"):
        assert line in p.stdout
