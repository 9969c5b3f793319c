"""hull-runtime driven the way podman (through conmon) and containerd's runc shim drive it.

Each test repeats, with hull-runtime alone, a call sequence or an edge case that one of these
clients depends on; tests/integration/clients/ runs the clients themselves.
"""
import json
import os
import subprocess
import time

import pytest


def reap():
    """This test process is a child subreaper (hulltest.py), as conmon and the shim are: the exit of
    a container's pid-namespace init waits until its namespace's other processes are reaped."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def wait_status(rt, cid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        reap()
        st = rt.state(cid)["status"]
        if st == want or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def test_delete_force_of_missing_container_succeeds(rt, bundle):
    """podman runs `delete --force` after a failed create, containerd's shim after its shim died:
    both log an error when the runtime fails because the container is already gone (runc does not)."""
    p = rt.run("delete", "--force", "missing-" + bundle.id, check=False)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    p = rt.run("delete", "missing-" + bundle.id, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_delete_force_removes_unfinished_create(rt, bundle):
    """A create killed before it saved state.json leaves its directory behind, and the id stays
    taken until a forced delete removes it (runc does the same)."""
    leftover = os.path.join(rt.root, bundle.id)
    os.mkdir(leftover, 0o700)
    p = rt.run("create", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    rt.run("delete", "--force", bundle.id)
    assert not os.path.exists(leftover)
    bundle.set_args("/bin/true")
    rt.run("run", "--bundle", bundle.path, bundle.id)


def test_kill_of_exited_container_says_container_not_running(rt, bundle, tmp_path):
    """containerd's shim signals a task that may have exited meanwhile; it recognises runc's
    "container not running" in the error (from --log or stderr) and reports the task as gone."""
    bundle.set_args("/bin/true")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    try:
        assert wait_status(rt, bundle.id, "stopped") == "stopped"
        log = tmp_path / "log.json"
        p = rt.run("kill", bundle.id, "9", check=False, log=log, log_format="json")
        assert p.returncode != 0 and "container not running" in p.stderr
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["level"] == "error" and "container not running" in last["msg"]
        # --all signals whatever is left in the cgroup: nothing, and that is no error
        rt.run("kill", "--all", bundle.id, "9")
    finally:
        rt.run("delete", bundle.id)


def test_tmpfs_copy_up(rt, bundle):
    """podman adds `tmpcopyup` to --tmpfs mounts and to /run, /tmp, /var/tmp of --read-only
    containers: the tmpfs starts with a copy of the image's directory (runc and crun do so)."""
    etc = os.path.join(bundle.rootfs, "etc")
    os.makedirs(os.path.join(etc, "sub"))
    with open(os.path.join(etc, "sub", "secret"), "w") as f:
        f.write("s3cret\n")
    os.chown(os.path.join(etc, "sub", "secret"), 1000, 1001)
    os.chmod(os.path.join(etc, "sub", "secret"), 0o604)
    os.symlink("/etc/passwd", os.path.join(etc, "link"))
    os.symlink("../../../../../../etc/shadow", os.path.join(etc, "sub", "escape"))
    os.mkfifo(os.path.join(etc, "fifo"), 0o620)
    os.chmod(etc, 0o751)
    before = sorted(os.listdir(etc))
    bundle.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
    bundle.config["mounts"].append({"destination": "/var/empty", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["ro", "tmpcopyup", "mode=700"]})
    bundle.set_args("/bin/sh", "-c",
                    "grep -c root /etc/passwd; cat /etc/sub/secret; stat -c '%a %u:%g' /etc/sub/secret /etc;"
                    "readlink /etc/link; readlink /etc/sub/escape; stat -c %F /etc/fifo;"
                    "touch /etc/new && echo writable;"
                    "stat -f -c %T /etc; stat -c %a /var/empty; touch /var/empty/x 2>/dev/null || echo ro")
    p = rt.run("run", "--bundle", bundle.path, bundle.id)
    assert p.stderr == ""
    assert p.stdout.splitlines() == [
        "1", "s3cret", "604 1000:1001", "751 0:0", "/etc/passwd", "../../../../../../etc/shadow", "fifo",
        "writable", "tmpfs", "700", "ro"], p.stdout
    # the image itself is untouched
    assert sorted(os.listdir(etc)) == before


def test_tmpfs_copy_up_of_missing_directory(rt, bundle):
    bundle.config["mounts"].append({"destination": "/run/new", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["tmpcopyup"]})
    bundle.set_args("/bin/sh", "-c", "ls -A /run/new | wc -l")
    assert rt.run("run", "--bundle", bundle.path, bundle.id).stdout.strip() == "0"


def test_rlimit_above_hard_limit_names_limit_and_capability(rt, bundle):
    """podman asks for RLIMIT_NOFILE 1048576 unless told otherwise (--ulimit); where the runtime
    cannot raise its hard limit the error says which limit and why."""
    import resource
    with open("/proc/self/status") as f:
        capeff = int(next(l for l in f if l.startswith("CapEff:")).split()[1], 16)
    if capeff & (1 << 24):  # CAP_SYS_RESOURCE
        pytest.skip("root has CAP_SYS_RESOURCE here: raising a hard limit succeeds")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1}]
    bundle.set_args("/bin/true")
    p = rt.run("run", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0
    assert (f"process.rlimits[0]: hard RLIMIT_NOFILE {hard + 1} is above the runtime's own {hard}, and "
            "raising it needs CAP_SYS_RESOURCE") in p.stderr


def hull(rt, *args, **kw):
    """hull-runtime with args as given (global options included), stdio away from pytest's pipes."""
    kw.setdefault("stdout", subprocess.DEVNULL)
    return subprocess.run([rt.path] + [str(a) for a in args], check=True, stdin=subprocess.DEVNULL, **kw)


def test_call_sequence_of_conmon(rt, bundle, tmp_path):
    """The arguments podman 4.3 and conmon 2.1 pass, in their order and spelling."""
    log = tmp_path / "oci-log"
    root = "--root=" + rt.root
    bundle.set_args("/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.1; done")
    hull(rt, root, "--log-format=json", "--log", log, "create", "--bundle", bundle.path, "--pid-file",
         tmp_path / "pidfile", bundle.id)
    hull(rt, root, "start", bundle.id)
    (tmp_path / "exec-process").write_text(json.dumps(dict(bundle.config["process"], args=["sleep", "30"])))
    hull(rt, root, "--log-format=json", "--log", log, "exec", "--pid-file", tmp_path / "exec_pid",
         "--process", tmp_path / "exec-process", "--detach", bundle.id)
    assert os.path.exists(f"/proc/{int((tmp_path / 'exec_pid').read_text())}")
    st = json.loads(hull(rt, root, "state", bundle.id, stdout=subprocess.PIPE).stdout)
    assert (st["status"], st["pid"]) == ("running", int((tmp_path / "pidfile").read_text()))
    hull(rt, root, "kill", bundle.id, "15")
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    hull(rt, root, "delete", "--force", bundle.id)
    assert not log.exists() or log.stat().st_size == 0


def test_call_sequence_of_containerd_shim(rt, bundle, tmp_path):
    """The arguments containerd 1.6's runc shim passes (through go-runc), in their order and spelling."""
    log = tmp_path / "log.json"
    glob = ["--root", rt.root, "--log", log, "--log-format", "json"]
    bundle.set_args("/bin/sleep", "30")
    hull(rt, *glob, "create", "--bundle", bundle.path, "--pid-file", tmp_path / "init.pid", "--no-pivot",
         bundle.id)
    hull(rt, *glob, "start", bundle.id)
    (tmp_path / "runc-process").write_text(json.dumps(dict(bundle.config["process"], args=["sleep", "20"])))
    hull(rt, *glob, "exec", "--process", tmp_path / "runc-process", "--detach", "--pid-file",
         tmp_path / "e1.pid", bundle.id)
    pids = json.loads(hull(rt, *glob, "ps", "--format", "json", bundle.id, stdout=subprocess.PIPE).stdout)
    assert sorted(pids) == sorted(int((tmp_path / f).read_text()) for f in ("init.pid", "e1.pid"))
    hull(rt, *glob, "kill", "--all", bundle.id, "9")
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    hull(rt, *glob, "delete", bundle.id)
    hull(rt, *glob, "delete", "--force", bundle.id)
    assert not log.exists() or log.stat().st_size == 0
