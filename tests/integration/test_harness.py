"""Checks of the test harness itself: the leak check must notice what a test leaves behind."""
import os
import subprocess

import hulltest as conftest


def test_leak_check_sees_mount_and_cgroup(tag, tmp_path):
    lc = conftest.LeakCheck(tag)
    before = lc.snapshot()
    target = tmp_path / f"mnt-{conftest.SESSION_TAG}"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(target)], check=True)
    cg = f"/sys/fs/cgroup/pids/{tag}-leak" if os.path.isdir("/sys/fs/cgroup/pids") else f"/sys/fs/cgroup/{tag}-leak"
    os.mkdir(cg)
    try:
        leaks = lc.diff(before, lc.snapshot())
        kinds = {k for k, _ in leaks}
        assert "mount" in kinds
        assert "cgroup" in kinds
    finally:
        subprocess.run(["umount", str(target)], check=True)
        os.rmdir(cg)
    assert lc.diff(before, lc.snapshot()) == []


def test_leak_check_sees_processes(tag):
    p = subprocess.Popen(["sleep", "30"])
    try:
        assert p.pid in conftest._descendants()
    finally:
        p.kill()
        p.wait()
    assert p.pid not in conftest._descendants()
