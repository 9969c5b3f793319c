"""Resource limits (-m, --memory-swap, --cpus, --pids-limit, --ulimit, --shm-size) seen from the
container's cgroup, OOM kills recorded, and volumes: named, anonymous, bind, tmpfs."""
import json
import os

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cg_file(v1_controller, v1_name, v2_name):
    return f"/sys/fs/cgroup/{v2_name}" if V2 else f"/sys/fs/cgroup/{v1_controller}/{v1_name}"


def test_memory_cpu_pids_limits(hull):
    script = "; ".join([
        "cat " + cg_file("memory", "memory.limit_in_bytes", "memory.max"),
        "cat " + (cg_file("cpu", "cpu.cfs_quota_us", "cpu.max")),
        "cat " + cg_file("pids", "pids.max", "pids.max"),
    ])
    out = hull.run("run", "--rm", "-m", "48m", "--cpus", "0.25", "--pids-limit", "32", "bb", "sh", "-c", script).out
    lines = out.split("\n")
    assert lines[0] == str(48 << 20)
    assert lines[1].split()[0] == "25000"
    assert lines[2] == "32"


def test_pids_limit_enforced(hull):
    p = hull.run("run", "--rm", "--pids-limit", "8", "bb", "sh", "-c",
                 "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done; wait", check=False)
    assert "can't fork" in p.err or "Resource temporarily unavailable" in p.err


def test_oom_kill_recorded(hull, tag):
    # A process that keeps allocating under a 16 MiB limit (no swap) is killed by the kernel.
    p = hull.run("run", "--name", tag, "-m", "16m", "--memory-swap", "16m", "bb", "sh", "-c",
                 "x=a; while true; do x=$x$x; done", check=False)
    assert p.returncode == 137
    st = hull.inspect(tag)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137


def test_ulimit_and_shm(hull):
    out = hull.run("run", "--rm", "--ulimit", "nofile=512:1024", "--shm-size", "8m", "bb", "sh", "-c",
                   "ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1").out.split("\n")
    assert out[0] == "512" and out[1] == "1024"
    assert out[2].split()[1] == "8192"


def test_named_volume_survives_container(hull, tag):
    hull.run("volume", "create", "-l", "team=x", tag)
    hull.run("run", "--rm", "-v", f"{tag}:/data", "bb", "sh", "-c", "echo kept > /data/f")
    assert hull.run("run", "--rm", "-v", f"{tag}:/data:ro", "bb", "cat", "/data/f").out == "kept\n"
    p = hull.run("run", "--rm", "-v", f"{tag}:/data:ro", "bb", "sh", "-c", "echo x > /data/g", check=False)
    assert p.returncode != 0 and "Read-only" in p.err
    v = json.loads(hull.run("volume", "inspect", tag).out)[0]
    assert v["Name"] == tag and v["Labels"] == {"team": "x"} and v["Driver"] == "local"
    assert open(os.path.join(v["Mountpoint"], "f")).read() == "kept\n"
    assert hull.run("volume", "ls", "-q").out == tag + "\n"
    assert "already exists" in hull.fail("volume", "create", tag)
    # In use: refused, unless --force, which removes the user first.
    hull.run("create", "--name", tag + "c", "-v", f"{tag}:/data", "bb")
    assert f"in use by container {tag}c" in hull.fail("volume", "rm", tag)
    hull.run("volume", "rm", "-f", tag)
    assert hull.ps() == [] and hull.run("volume", "ls", "-q").out == ""
    assert "no such volume" in hull.fail("volume", "rm", tag)
    hull.run("volume", "rm", "-f", tag)


def test_volume_copy_up_and_mount_option(hull, tag):
    # A new named volume mounted where the image has content gets that content (Docker's rule).
    assert "passwd" in hull.run("run", "--rm", "-v", f"{tag}:/etc", "bb", "ls", "/etc").out
    v = json.loads(hull.run("volume", "inspect", tag).out)[0]
    assert os.path.exists(os.path.join(v["Mountpoint"], "passwd"))
    # nocopy: an empty volume stays empty.
    assert hull.run("run", "--rm", "--mount", f"type=volume,source={tag}2,target=/etc,volume-nocopy",
                    "bb", "/bin/ls", "-A", "/etc").out == ""
    hull.run("volume", "rm", tag, tag + "2")


def test_anonymous_volumes(hull, tag):
    hull.run("run", "--rm", "-v", "/scratch", "bb", "touch", "/scratch/x")
    assert hull.run("volume", "ls", "-q").out == ""  # --rm removed it
    hull.run("run", "--name", tag, "-v", "/scratch", "bb", "touch", "/scratch/x")
    [anon] = hull.run("volume", "ls", "-q").out.split()
    assert len(anon) == 64 and json.loads(hull.run("volume", "inspect", anon).out)[0]["Anonymous"] is True
    hull.run("rm", tag)  # without -v the anonymous volume stays, as in Docker
    assert hull.run("volume", "ls", "-q").out.split() == [anon]
    assert hull.run("volume", "prune").out.split() == [anon]


def test_bind_and_tmpfs(hull, tmp_path):
    d = tmp_path / "bind"
    d.mkdir()
    (d / "h").write_text("from host")
    assert hull.run("run", "--rm", "-v", f"{d}:/b:ro", "bb", "cat", "/b/h").out == "from host"
    hull.run("run", "--rm", "--mount", f"type=bind,source={d},target=/b", "bb", "sh", "-c", "echo back > /b/c")
    assert (d / "c").read_text() == "back\n"
    out = hull.run("run", "--rm", "--tmpfs", "/t:size=2m,mode=1777", "bb", "sh", "-c",
                   "stat -c %a /t; df -k /t | tail -1").out.split("\n")
    assert out[0] == "1777" and out[1].split()[1] == "2048"
