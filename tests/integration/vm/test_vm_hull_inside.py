"""Containers inside VMs: a VM made from the image of scripts/vm-image-hull (Debian with hull
inside and busybox in its store) runs `hull run` through `hull vm exec`, on the cgroup2
hierarchy that hull's guest init mounts."""
import os
import subprocess

import pytest

import vm_util as vu

DEBIAN_TAR = os.path.join(vu.ASSETS, "debian-rootfs.tar")


@pytest.fixture
def hull(tmp_path, tag, leak_check):
    vu.need_vm_host()
    if not os.path.exists(DEBIAN_TAR):
        pytest.skip("assets/debian-rootfs.tar is missing (scripts/image-assets needs debootstrap and a mirror)")
    h = vu.Hull(str(tmp_path / f"root-{tag}"))
    os.makedirs(os.path.join(h.root, "vms"))
    leak_check.watch_dir(os.path.join(h.root, "vms"))
    yield h
    h.cleanup()


def test_hull_run_inside_a_vm(hull, tag):
    subprocess.run([os.path.join(vu.ROOT, "scripts", "vm-image-hull"), "--root", hull.root],
                   check=True, capture_output=True, env=hull.env(), timeout=300)
    hull.run("vm", "run", "-d", "--name", tag, "--memory", "1G", "hull-in-vm", "sleep", "infinity")
    # --network none: the guest's kernel has bridge and nftables as modules that hull's initramfs
    # does not load.
    p = hull.run("vm", "exec", tag, "hull", "run", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "echo in-a-container-in-a-vm; cat /proc/self/cgroup; exit 6", check=False)
    assert p.returncode == 6, p.err
    assert p.out.splitlines()[0] == "in-a-container-in-a-vm"
    # The container has a cgroup of its own on the guest's cgroup2 hierarchy (its namespace shows it as /).
    assert p.out.splitlines()[1] == "0::/"
    p = hull.run("vm", "exec", tag, "sh", "-c", "hull ps -a -q | wc -l; ls /sys/fs/cgroup | grep -c hull; true")
    assert p.out.split() == ["0", "0"], p.out
    hull.run("vm", "rm", "-f", tag)
