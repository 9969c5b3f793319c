"""podman 4.3 (through conmon) with `--runtime hull-runtime`, on a busybox image imported from a
rootfs tarball, with private storage (see conftest.py)."""
import json
import os
import resource

import pytest

from clienttest import run_in_pty, wait_for

HULL_DEFAULT_ROOT = "/run/hull-runtime"  # podman cannot pass --root to every call (see conftest.py)


def test_run_exit_code_and_output(podman):
    p = podman("run", "--rm", *podman.run_opts(), podman.IMAGE, "sh", "-c", "echo out; echo err >&2; exit 7",
               check=False)
    assert (p.returncode, p.stdout, p.stderr) == (7, "out\n", "err\n")
    p = podman("run", "--rm", "-i", *podman.run_opts(), podman.IMAGE, "sh", "-c", "read x; echo got $x",
               input="hello\n")
    assert p.stdout == "got hello\n"
    assert podman("ps", "--all", "--quiet").stdout == ""


def test_run_detached_exec_logs_stop_rm(podman):
    name = podman.tag + "-d"
    p = podman("run", "-d", "--name", name, *podman.run_opts(), podman.IMAGE, "sh", "-c",
               "echo started; trap 'echo stopping; exit 3' TERM; while :; do sleep 0.1; done")
    cid = p.stdout.strip()
    assert len(cid) == 64
    # the container runs under hull-runtime: its state is where hull-runtime keeps it
    assert wait_for(lambda: os.path.exists(os.path.join(HULL_DEFAULT_ROOT, cid, "state.json")))
    info = json.loads(podman("inspect", name).stdout)[0]
    assert info["OCIRuntime"] == podman.runtime
    assert info["State"]["Status"] == "running" and info["State"]["Pid"] > 0
    assert wait_for(lambda: "started" in podman("logs", name).stdout)

    p = podman("exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534:65534", name, "sh", "-c",
               "echo $FOO $(pwd) $(id -u) $(tr '\\0' ' ' </proc/1/cmdline)")
    assert p.stdout.startswith("bar /tmp 65534 sh -c echo started")
    assert podman("exec", name, "sh", "-c", "exit 4", check=False).returncode == 4
    podman("exec", "-d", name, "sleep", "30")
    assert "sleep 30" in podman("top", name).stdout
    assert podman("exec", "-i", name, "cat", input="piped\n").stdout == "piped\n"

    podman("stop", "-t", "10", name)
    info = json.loads(podman("inspect", name).stdout)[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 3
    assert podman("logs", name).stdout == "started\nstopping\n"
    assert not os.path.exists(os.path.join(HULL_DEFAULT_ROOT, cid))
    podman("rm", name)
    assert podman("ps", "--all", "--quiet").stdout == ""


def test_ps_inspect_pause_restart(podman):
    name = podman.tag + "-p"
    podman("run", "-d", "--name", name, *podman.run_opts(), podman.IMAGE, "sleep", "1000")
    rows = podman("ps", "--format", "{{.Names}} {{.Status}} {{.Command}}").stdout.splitlines()
    assert len(rows) == 1 and rows[0].startswith(f"{name} Up ") and "sleep 1000" in rows[0]
    info = json.loads(podman("container", "inspect", name).stdout)[0]
    assert info["HostConfig"]["CgroupParent"] == podman.cgroup_parent
    assert podman("ps", "--all", "--sync", "--format", "{{.Names}}").stdout.split() == [name]
    podman("pause", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "paused"
    podman("unpause", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    pid = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    podman("restart", "-t", "0", name)
    assert int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout) != pid
    podman("rm", "--force", "--time", "0", name)


def test_run_with_terminal(podman):
    """run -t: conmon creates the container with --console-socket and relays the pty master."""
    script = ("tty; for i in $(seq 50); do s=$(stty size); [ \"$s\" = '33 101' ] && break; sleep 0.1; done;"
              " echo size=$s; exit 5")
    cmd = podman.cmd("run", "--rm", "-t", *podman.run_opts(), podman.IMAGE, "sh", "-c", script)
    status, out = run_in_pty(cmd, env=podman.env, size=(33, 101))
    assert status == 5 and "/dev/pts/0" in out and "size=33 101" in out, out


def test_read_only_with_tmpfs_keeps_image_content(podman):
    """--tmpfs and --read-only mounts carry `tmpcopyup`: the tmpfs starts with the image's files."""
    p = podman("run", "--rm", "--read-only", "--tmpfs", "/etc", *podman.run_opts(), podman.IMAGE, "sh", "-c",
               "grep -c ^root: /etc/passwd; touch /etc/x && echo etc-writable;"
               "touch /x 2>/dev/null || echo ro")
    assert p.stdout.split() == ["1", "etc-writable", "ro"]


def test_missing_command(podman):
    """podman's 127 comes with hull-runtime's message, read from the --log file conmon passes."""
    p = podman("run", "--rm", *podman.run_opts(), podman.IMAGE, "/no/such/program", check=False)
    assert p.returncode == 127
    assert "exec: '/no/such/program': No such file or directory" in p.stderr
    assert "OCI runtime attempted to invoke a command that was not found" in p.stderr
    # podman's clean-up after the failed create (`delete --force`) succeeds: no error logged for it
    assert "Removing container" not in p.stderr and "level=error" not in p.stderr
    name = podman.tag + "-e"
    podman("run", "-d", "--name", name, *podman.run_opts(), podman.IMAGE, "sleep", "1000")
    p = podman("exec", name, "no-such-tool", check=False)
    assert p.returncode == 127 and "executable file `no-such-tool` not found in $PATH" in p.stderr
    p = podman("exec", name, "/etc/passwd", check=False)
    assert p.returncode == 126 and "permission denied" in p.stderr
    podman("rm", "--force", "--time", "0", name)


def test_rlimit_above_host_limit_is_explained(podman):
    """Without --ulimit podman asks for RLIMIT_NOFILE 1048576, above this host's hard limit."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open("/proc/self/status") as f:
        capeff = int(next(l for l in f if l.startswith("CapEff:")).split()[1], 16)
    if hard >= 1048576 or capeff & (1 << 24):
        pytest.skip(f"podman's RLIMIT_NOFILE 1048576 can be set here (hard limit {hard}, "
                    f"CAP_SYS_RESOURCE {'present' if capeff & (1 << 24) else 'absent'})")
    p = podman("run", "--rm", "--network", "none", "--cgroup-parent", podman.cgroup_parent, podman.IMAGE,
               "true", check=False)
    assert p.returncode == 126
    assert "hard RLIMIT_NOFILE 1048576 is above the runtime's own" in p.stderr
    assert "CAP_SYS_RESOURCE" in p.stderr
