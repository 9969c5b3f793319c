"""hull vm: VMs as workloads, under QEMU (TCG) on this host.

Boots are the expensive part under TCG (2-4 s each), so each test shares its boots between
several checks. The store is per module (the image's ext4 disk is made once); every test
removes its VMs, and the leak check verifies that no VM file, process or socket is left.
"""
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import tarfile
import termios
import time

import pytest

import vm_util as vu


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    vu.need_vm_host()
    d = tmp_path_factory.mktemp("vmstore")
    h = vu.Hull(str(d / "root"))
    h.run("import", "--change", 'CMD ["/bin/sh"]', vu.busybox_tar(str(d / "bb.tar")), "bb")
    yield h
    h.cleanup()


@pytest.fixture
def hull(store, leak_check):
    os.makedirs(os.path.join(store.root, "vms"), exist_ok=True)
    leak_check.watch_dir(os.path.join(store.root, "vms"))
    yield store
    store.cleanup()


def test_run_output_and_exit_code(hull, tag):
    p = hull.run("vm", "run", "--rm", "--name", tag, "bb", "sh", "-c", "echo hello-$((6*7)); exit 3", check=False)
    assert p.returncode == 3, p.err
    assert "hello-42" in p.out
    assert "HULL-VM-INIT-OK" in p.out
    # One line says which VMM runs the VM, and why.
    assert "qemu (tcg)" in p.err and "vmx/svm" in p.err
    assert hull.run("vm", "ls", "-a", "-q").out.strip() == ""


def test_run_rm_survives_a_killed_cli(hull, tag):
    # The foreground hull dies: with --rm the VM's monitor removes the VM when it ends.
    cli = subprocess.Popen(hull.cmd("vm", "run", "--rm", "--name", tag, "bb", "sleep", "2"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=hull.env())
    end = time.time() + 60
    while not any(tag in l and " Up " in l for l in hull.run("vm", "ls").out.splitlines()):
        assert time.time() < end, "the VM never ran"
        time.sleep(0.1)
    cli.kill()
    cli.wait()
    end = time.time() + vu.BOOT_TIMEOUT
    while tag in hull.run("vm", "ls", "-a").out:
        assert time.time() < end, "the VM was not removed"
        time.sleep(0.5)
    assert not os.listdir(os.path.join(hull.root, "vms"))


def exec_follows_terminal_size(hull, tag):
    """`vm exec -t` on a terminal: its size at the start, then each resize (SIGWINCH) in the guest."""
    def set_size(fd, rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    master, slave = os.openpty()
    set_size(master, 24, 80)
    script = "trap 'echo size $(stty size)' WINCH; echo size $(stty size); while :; do sleep 0.1; done"
    ex = subprocess.Popen(hull.cmd("vm", "exec", "-t", "-i", tag, "sh", "-c", script), stdin=slave,
                          stdout=slave, stderr=slave, env=hull.env(), start_new_session=True,
                          preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    seen = b""

    def wait_for(text):
        nonlocal seen
        end = time.time() + 60
        while text not in seen:
            assert time.time() < end and ex.poll() is None, seen
            if select.select([master], [], [], 1)[0]:
                seen += os.read(master, 4096)

    try:
        wait_for(b"size 24 80")
        set_size(master, 30, 100)  # the kernel sends SIGWINCH to hull, which tells the guest
        wait_for(b"size 30 100")
        set_size(master, 40, 132)
        wait_for(b"size 40 132")
    finally:
        ex.kill()
        ex.wait()
        os.close(master)


def test_lifecycle_config_exec_volume(hull, tag, tmp_path):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHull test@hull"
    ud = tmp_path / "user-data"
    ud.write_text("#!/bin/sh\necho ran >> /var/user-data-runs\n")
    vol = f"{tag}v"
    hull.run("vm", "create", "--name", tag, "--hostname", "guest-" + tag, "--ssh-key", key,
             "--user-data", str(ud), "-v", f"{vol}:/data,size=32M", "-e", "GREETING=hi", "bb", "sleep", "1000")
    i = hull.inspect(tag)
    assert i["Kind"] == "vm" and i["State"]["Status"] == "created"
    hull.run("vm", "start", tag)
    i = hull.inspect(tag)
    assert i["State"]["Running"] and i["Vmm"]["Backend"] == "qemu"
    assert "q35" in i["Vmm"]["Args"] and "tcg" in i["Vmm"]["Args"]

    # exec: output, stderr, exit code, stdin, environment, a missing program.
    p = hull.run("vm", "exec", tag, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert (p.returncode, p.out, p.err) == (7, "out\n", "err\n")
    p = hull.run("vm", "exec", "-i", tag, "sh", "-c", "tr a-z A-Z", input=b"stdin works\n")
    assert p.out == "STDIN WORKS\n"
    p = hull.run("vm", "exec", "-e", "X=1", tag, "sh", "-c", "echo $X$GREETING", check=False)
    assert p.out == "1\n"  # exec gets its own environment, not the main process's
    p = hull.run("vm", "exec", "-t", tag, "sh", "-c", "tty; exit 3", check=False)
    assert p.returncode == 3 and p.out.startswith("/dev/pts/") and p.out.endswith("\r\n")
    exec_follows_terminal_size(hull, tag)
    p = hull.run("vm", "exec", tag, "/no/such/program", check=False)
    assert p.returncode == 127 and "No such file" in p.err
    # A killed exec does not keep the serial line: the next session ends the abandoned process.
    ex = subprocess.Popen(hull.cmd("vm", "exec", tag, "sleep", "500"), env=hull.env())
    time.sleep(1)
    ex.kill()
    ex.wait()
    assert hull.run("vm", "exec", tag, "sh", "-c", "pidof sleep | wc -w").out == "1\n"

    # First-boot config: host name, root's key, user data, the volume, cgroup2 for engines inside.
    p = hull.run("vm", "exec", tag, "sh", "-c",
                 "hostname; cat /root/.ssh/authorized_keys; cat /var/user-data-runs;"
                 "grep -c ' /data ext4 ' /proc/mounts; grep -c ' /sys/fs/cgroup cgroup2 ' /proc/mounts;"
                 "echo kept > /data/file; tr '\\0' '\\n' < /proc/$(pidof sleep)/environ | grep GREETING")
    assert p.out.split("\n") == ["guest-" + tag, key, "ran", "1", "1", "GREETING=hi", ""], p.out
    assert "HULL-VM-INIT-OK" in hull.run("vm", "logs", tag).out
    # Signals to hull vm exec reach the process in the guest; the sleep it leaves
    # behind does not keep the exec waiting for its output.
    ex = subprocess.Popen(hull.cmd("vm", "exec", tag, "sh", "-c", "trap 'exit 9' TERM; echo ready; sleep 100 & wait"),
                          stdout=subprocess.PIPE, env=hull.env())
    assert ex.stdout.readline() == b"ready\n"
    ex.send_signal(signal.SIGTERM)
    assert ex.wait(timeout=30) == 9

    # ps lists it with its kind; plain ps (containers) does not.
    p = hull.run("ps", "--all-kinds")
    assert tag in p.out and "KIND" in p.out and " vm" in p.out
    assert tag not in hull.run("ps", "-a").out
    assert tag in hull.run("ps", "--kind", "vm").out

    assert hull.inspect(tag)["Vmm"]["Status"] == "running"
    hull.run("vm", "pause", tag)
    i = hull.inspect(tag)
    assert i["State"]["Paused"] and i["Vmm"]["Status"] == "paused"
    hull.run("vm", "unpause", tag)
    assert hull.inspect(tag)["Vmm"]["Status"] == "running"

    # stop: the power button reaches hull's init, which stops the main process (SIGTERM: 143).
    # (Had the button not worked, the VMM would have been killed after the 60 s: 137.)
    hull.run("vm", "stop", "-t", "60", tag)
    i = hull.inspect(tag)
    assert i["State"]["Status"] == "exited" and i["State"]["ExitCode"] == 143

    # A second boot of the same root disk: the user data does not run again; data stays.
    hull.run("vm", "start", tag)
    p = hull.run("vm", "exec", tag, "sh", "-c", "cat /var/user-data-runs /data/file")
    assert p.out == "ran\nkept\n"
    hull.run("vm", "kill", tag)
    i = hull.wait_state(tag, lambda i: i["State"]["Status"] == "exited")
    assert i["State"]["ExitCode"] == 137 and i["RestartCount"] == 0
    hull.run("vm", "rm", tag)
    assert tag not in hull.run("vm", "ls", "-a").out

    # The volume outlives the VM: a new VM made from the image finds the data.
    p = hull.run("vm", "run", "--rm", "-v", f"{vol}:/srv", "bb", "cat", "/srv/file")
    assert "kept" in p.out
    hull.run("volume", "rm", vol)


def test_restart_policy_and_kill9(hull, tag):
    # on-failure:1 -> one restart, then the exit stays.
    hull.run("vm", "run", "-d", "--name", f"{tag}f", "--restart", "on-failure:1", "bb", "sh", "-c", "exit 4")
    # always -> a VMM killed with -9 is started again.
    hull.run("vm", "run", "-d", "--name", tag, "--restart", "always", "bb", "sleep", "1000")
    first = hull.inspect(tag)["State"]["Pid"]
    os.kill(first, signal.SIGKILL)
    i = hull.wait_state(tag, lambda i: i["RestartCount"] == 1 and i["State"]["Running"])
    assert i["State"]["Pid"] != first
    hull.run("vm", "exec", tag, "true")

    # The monitor killed with -9 takes the VMM with it; the next look records why.
    os.kill(i["State"]["MonitorPid"], signal.SIGKILL)
    time.sleep(0.5)
    i = hull.inspect(tag)
    assert i["State"]["Status"] == "exited" and "monitor died" in i["State"]["Error"]
    assert i["State"]["Pid"] == 0
    # SIGKILL from PR_SET_PDEATHSIG is delivered at once, but QEMU's threads take a moment to go.
    assert vu.wait_gone("qemu-system", hull.root, 5), "a VMM outlived its monitor"

    i = hull.wait_state(f"{tag}f", lambda i: i["State"]["Status"] == "exited")
    assert i["State"]["ExitCode"] == 4 and i["RestartCount"] == 1
    hull.run("vm", "rm", tag, f"{tag}f")
    assert not os.listdir(os.path.join(hull.root, "vms"))


def test_kernel_vm_and_console(hull, tag):
    # A kernel and initramfs of one's own: hull's init is not involved. The assets' init with
    # hull.exit=shell leaves a shell on the console.
    hull.run("vm", "run", "-d", "--name", tag, "--kernel", os.path.join(vu.GUEST, "vmlinuz"),
             "--initrd", os.path.join(vu.GUEST, "initramfs.cpio.gz"),
             "--cmdline", "console=ttyS0 panic=-1 hull.exit=shell", "--memory", "256M")
    hull.wait_log(tag, "HULL-GUEST-INIT-OK")
    # The console relays both ways until the client goes (Ctrl-] on a terminal).
    con = subprocess.Popen(hull.cmd("vm", "console", tag), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           env=hull.env())
    con.stdin.write(b"echo console-$((40+2))\n")
    con.stdin.flush()
    hull.wait_log(tag, "console-42", timeout=30)
    con.kill()
    con.wait()
    p = hull.run("vm", "exec", tag, "true", check=False)  # no guest init: refused
    assert p.returncode == 125 and "does not run hull's guest init" in p.err
    hull.run("vm", "rm", "-f", tag)


def test_errors(hull, tag, tmp_path):
    p = hull.run("vm", "run", "--vmm", "hull", "--boot-disk", str(vu.GUEST) + "/vmlinuz", check=False)
    assert p.returncode == 125 and "no firmware" in p.err
    p = hull.run("vm", "run", "--vmm", "firecracker", "bb", check=False)
    assert p.returncode == 125 and "--vmm: unknown monitor 'firecracker'" in p.err
    p = hull.run("vm", "run", "--kernel", "/no/such/kernel", check=False)
    assert p.returncode == 125 and "/no/such/kernel" in p.err
    p = hull.run("vm", "run", "--disk", str(tmp_path / "missing.img"), "bb", check=False)
    assert p.returncode == 125 and "missing.img" in p.err
    p = hull.run("vm", "run", "no-such-image", check=False)
    assert p.returncode == 125 and "no such image 'no-such-image'" in p.err
    p = hull.run("vm", "run", "--restart", "sometimes", "bb", check=False)
    assert p.returncode == 125 and "--restart" in p.err
    p = hull.run("vm", "inspect", "nothing-" + tag, check=False)
    assert p.returncode == 125 and "no such vm" in p.err
    assert hull.run("vm", "ls", "-a", "-q").out.strip() == ""


# A boot sector (16-bit real mode at 0x7c00): DS=0, print the message on COM1 (port 0x3f8)
# with lodsb/out, then hlt forever.
BOOT_CODE = bytes([0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0xBA, 0xF8, 0x03, 0xBE, 0x16, 0x7C,  # cli; ds=0; dx=0x3f8; si=msg
                   0xAC, 0x84, 0xC0, 0x74, 0x03, 0xEE, 0xEB, 0xF8,  # lodsb; test al; jz done; out; jmp
                   0xF4, 0xEB, 0xFD])  # done: hlt; jmp done


def test_boot_disk_through_firmware(hull, tag, tmp_path):
    sector = BOOT_CODE + b"HULL-BIOS-BOOT-OK\r\n\0"
    raw = tmp_path / "boot.raw"
    raw.write_bytes(sector + bytes(510 - len(sector)) + b"\x55\xaa" + bytes(1 << 20))
    # Through hull's own qcow2, to boot a format SeaBIOS reads only through QEMU's block layer.
    qcow2 = tmp_path / "boot.qcow2"
    hull.run("disk", "convert", "-O", "qcow2", raw, qcow2)
    p = hull.run("vm", "run", "-d", "--name", tag, "--boot-disk", qcow2, "--memory", "64M")
    assert "the disk boots through firmware (bios), which only qemu has" in p.err
    hull.wait_log(tag, "HULL-BIOS-BOOT-OK", timeout=60)
    hull.run("vm", "rm", "-f", tag)


def test_image_with_its_own_kernel(hull, tag, tmp_path):
    # busybox plus a kernel in /boot and, in /lib/modules/<ver>/, the modules hull's initramfs
    # loads: hull boots that kernel rather than the guest assets'.
    kernel_pkg = os.path.join(vu.GUEST, "kernel")
    ver = os.listdir(os.path.join(kernel_pkg, "lib", "modules"))[0]
    wanted = {f + ".ko" for f in open(os.path.join(vu.GUEST, "modules", "guest.order")).read().split()}
    wanted |= {"button.ko", "evdev.ko"}
    tar = tmp_path / "kimg.tar"
    with tarfile.open(tar, "w") as t:
        t.add(vu.BUSYBOX_ROOTFS, arcname=".")
        t.add(os.path.join(kernel_pkg, "boot", f"vmlinuz-{ver}"), arcname=f"boot/vmlinuz-{ver}")
        base = os.path.join(kernel_pkg, "lib", "modules", ver)
        for d, _, files in os.walk(base):
            for f in files:
                if f.replace("-", "_") in {w.replace("-", "_") for w in wanted}:
                    p = os.path.join(d, f)
                    t.add(p, arcname=os.path.join("lib/modules", ver, os.path.relpath(p, base)))
    hull.run("import", tar, f"{tag}-kernel")
    hull.run("vm", "run", "-d", "--name", tag, f"{tag}-kernel", "sleep", "1000")
    args = hull.inspect(tag)["Vmm"]["Args"]
    kernel = args[args.index("-kernel") + 1]
    assert kernel.endswith(".guest/vmlinuz") and "vm-cache/images/" in kernel
    # The image's virtio modules were loaded (the disks are there) and exec works (vsock/serial).
    p = hull.run("vm", "exec", tag, "sh", "-c", "uname -r; ls /sys/block | grep -c vd")
    assert p.out.split() == [ver, "2"]
    hull.run("vm", "rm", "-f", tag)
    hull.run("rmi", f"{tag}-kernel")
    assert not os.path.exists(os.path.dirname(kernel)), "the image's boot files go with the image"



def test_boot_disk_through_uefi(hull, tag, tmp_path):
    # A FAT disk with no boot loader: OVMF finds nothing to boot, starts its UEFI shell, and the
    # shell runs startup.nsh, which starts the guest assets' kernel through its EFI stub with the
    # initramfs and a command line. The guest's init marker and exit code show a stock Linux
    # kernel booted through UEFI firmware end to end.
    for tool in ("mkfs.vfat", "mcopy"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing (scripts/install-deps installs dosfstools and mtools)")
    if not os.path.exists("/usr/share/ovmf/OVMF.fd"):
        pytest.skip("/usr/share/ovmf/OVMF.fd is missing (scripts/install-deps installs ovmf)")
    esp = tmp_path / "esp.img"
    subprocess.run(["mkfs.vfat", "-C", "-n", "HULLESP", str(esp), str(48 << 10)], check=True,
                   stdout=subprocess.DEVNULL)
    nsh = tmp_path / "startup.nsh"
    nsh.write_bytes(b"FS0:\\vmlinuz initrd=\\initrd.gz console=ttyS0 panic=-1 hull.modules=0\r\n")
    for src, dst in ((nsh, "startup.nsh"), (os.path.join(vu.GUEST, "vmlinuz"), "vmlinuz"),
                     (os.path.join(vu.GUEST, "initramfs.cpio.gz"), "initrd.gz")):
        subprocess.run(["mcopy", "-i", str(esp), str(src), "::/" + dst], check=True)
    p = hull.run("vm", "run", "-d", "--name", tag, "--boot-disk", esp, "--firmware", "uefi", "--memory", "256M")
    assert "the disk boots through firmware (uefi), which only qemu has" in p.err
    hull.wait_log(tag, "HULL-GUEST-INIT-OK", timeout=240)
    log = hull.run("vm", "logs", tag).out
    assert "EFI Internal Shell" in log and "efi: EFI v" in log, log[-2000:]
    hull.wait_state(tag, lambda s: s["State"]["Status"] == "exited", timeout=120)
    assert hull.inspect(tag)["State"]["ExitCode"] == 0
    hull.run("vm", "rm", "-f", tag)
