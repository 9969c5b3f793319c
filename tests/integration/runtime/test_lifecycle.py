"""hull-runtime's command line: the lifecycle of runtime-spec runtime.md, as runc's callers use it."""
import json
import os
import signal
import subprocess
import time

import pytest


def wait_status(rt, cid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        st = rt.state(cid)["status"]
        if st == want or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def test_version_and_help(rt):
    p = rt.run("--version")
    assert "hull-runtime version" in p.stdout and "spec: 1.2.0" in p.stdout
    p = rt.run("--help")
    for c in ("create", "start", "run", "exec", "features", "spec"):
        assert c in p.stdout
    p = rt.run("exec", "--help")
    assert "--console-socket" in p.stdout


def test_run_true_and_exit_codes(rt, bundle):
    bundle.set_args("/bin/true")
    assert rt.run("run", "--bundle", bundle.path, bundle.id).returncode == 0
    bundle.set_args("/bin/sh", "-c", "exit 42")
    assert rt.run("run", "--bundle", bundle.path, bundle.id, check=False).returncode == 42
    # Killed from outside (pid 1 of a pid namespace ignores its own signals): 128 + signal.
    bundle.set_args("/bin/sleep", "30")
    p = subprocess.Popen(rt.cmd("run", "--bundle", bundle.path, bundle.id))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if subprocess.run(rt.cmd("state", bundle.id), capture_output=True).returncode == 0:
            break
        time.sleep(0.02)
    rt.run("kill", bundle.id, "KILL")
    assert p.wait(timeout=10) == 128 + 9
    assert set(os.listdir(rt.root)) <= {".seccomp-cache", ".cgroup-layout"}, "caches only"


def test_run_stdio(rt, bundle):
    bundle.set_args("/bin/sh", "-c", "read x; echo got:$x; echo err >&2")
    p = rt.run("run", "--bundle", bundle.path, bundle.id, input="hello\n")
    assert p.stdout == "got:hello\n"
    assert p.stderr == "err\n"


def test_create_start_state_delete(rt, bundle, tmp_path):
    bundle.set_args("/bin/sh", "-c", "echo started > /tmp/m; sleep 30")
    pidfile = tmp_path / "pid"
    rt.run("create", "--bundle", bundle.path, "--pid-file", pidfile, bundle.id)
    st = rt.state(bundle.id)
    assert st["status"] == "created"
    assert st["id"] == bundle.id
    assert st["bundle"] == bundle.path
    assert st["pid"] == int(pidfile.read_text())
    assert st["ociVersion"].startswith("1.")
    rt.run("start", bundle.id)
    assert wait_status(rt, bundle.id, "running") == "running"
    # start twice is an error
    p = rt.run("start", bundle.id, check=False)
    assert p.returncode != 0 and "not created" in p.stderr
    # delete refuses a running container without --force
    p = rt.run("delete", bundle.id, check=False)
    assert p.returncode != 0 and "--force" in p.stderr
    rt.run("kill", bundle.id, "KILL")
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    rt.run("delete", bundle.id)
    p = rt.run("state", bundle.id, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_delete_created_container(rt, bundle):
    rt.run("create", "--bundle", bundle.path, bundle.id)
    rt.run("delete", bundle.id)


def test_kill_signal_names_and_numbers(rt, bundle):
    bundle.set_args("/bin/sh", "-c", "trap 'exit 7' USR1; while true; do sleep 0.05; done")
    rt.run("run", "--detach", "--bundle", bundle.path, bundle.id)
    time.sleep(0.2)
    rt.run("kill", bundle.id, "SIGUSR1")
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    rt.run("delete", bundle.id)
    rt.run("run", "--detach", "--bundle", bundle.path, bundle.id)
    rt.run("kill", bundle.id, "9")
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    rt.run("delete", bundle.id)


def test_list_ps_pause_resume_events_update(rt, bundle):
    bundle.set_args("/bin/sh", "-c", "sleep 30 & sleep 30; true")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    try:
        ids = rt.run("list", "-q").stdout.split()
        assert bundle.id in ids
        lst = json.loads(rt.run("list", "--format", "json").stdout)
        assert [c["status"] for c in lst if c["id"] == bundle.id] == ["running"]
        assert bundle.id in rt.run("list").stdout
        time.sleep(0.2)
        pids = json.loads(rt.run("ps", "--format", "json", bundle.id).stdout)
        assert len(pids) == 3
        table = rt.run("ps", bundle.id).stdout.splitlines()
        assert "PID" in table[0] and len(table) == 4
        rt.run("pause", bundle.id)
        assert rt.state(bundle.id)["status"] == "paused"
        p = rt.run("exec", bundle.id, "true", check=False)
        assert p.returncode != 0 and "paused" in p.stderr
        rt.run("resume", bundle.id)
        assert rt.state(bundle.id)["status"] == "running"
        ev = json.loads(rt.run("events", "--stats", bundle.id).stdout)
        assert ev["type"] == "stats" and ev["id"] == bundle.id
        assert ev["data"]["pids"]["current"] == 3
        rt.run("update", "--memory", "64m", "--pids-limit", "50", bundle.id)
        ev = json.loads(rt.run("events", "--stats", bundle.id).stdout)
        assert ev["data"]["memory"]["usage"]["limit"] == 64 << 20
        assert ev["data"]["pids"]["limit"] == 50
        rt.run("update", "--resources", "-", bundle.id, input='{"pids": {"limit": 40}}')
        ev = json.loads(rt.run("events", "--stats", bundle.id).stdout)
        assert ev["data"]["pids"]["limit"] == 40
    finally:
        rt.run("delete", "--force", bundle.id)


def test_exec(rt, bundle, tmp_path):
    bundle.set_args("/bin/sleep", "30")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    try:
        p = rt.run("exec", "--env", "FOO=bar", "--user", "1000:1001", "--cwd", "/tmp", bundle.id,
                   "/bin/sh", "-c", "echo $FOO $(id -u):$(id -g) $(pwd)")
        assert p.stdout.strip() == "bar 1000:1001 /tmp"
        p = rt.run("exec", bundle.id, "sh", "-c", "exit 5", check=False)
        assert p.returncode == 5
        # it shares the container's pid namespace: pid 1 is the sleep
        p = rt.run("exec", bundle.id, "cat", "/proc/1/cmdline")
        assert p.stdout.startswith("/bin/sleep")
        # --process FILE
        proc = dict(bundle.config["process"], args=["/bin/sh", "-c", "echo via-file"], terminal=False)
        pf = tmp_path / "process.json"
        pf.write_text(json.dumps(proc))
        assert rt.run("exec", "--process", pf, bundle.id).stdout == "via-file\n"
        # detached with pid file
        pidfile = tmp_path / "exec.pid"
        rt.run("exec", "-d", "--pid-file", pidfile, bundle.id, "sleep", "20")
        pid = int(pidfile.read_text())
        assert os.path.exists(f"/proc/{pid}")
        os.kill(pid, signal.SIGKILL)
        # not found -> 127 with the message podman looks for
        p = rt.run("exec", bundle.id, "no-such-program", check=False)
        assert p.returncode == 127
        assert "executable file `no-such-program` not found in $PATH" in p.stderr
    finally:
        rt.run("delete", "--force", bundle.id)


def test_run_detach_then_wait_for_exit(rt, bundle):
    bundle.set_args("/bin/sh", "-c", "exit 0")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    assert wait_status(rt, bundle.id, "stopped") == "stopped"
    rt.run("delete", bundle.id)


def test_features_and_spec(rt, tmp_path):
    f = json.loads(rt.run("features").stdout)
    assert f["ociVersionMax"] == "1.2.0"
    assert "createRuntime" in f["hooks"]
    assert "network" in f["linux"]["namespaces"]
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["seccomp"]["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in f["linux"]["seccomp"]["actions"]
    assert "rro" in f["mountOptions"]
    d = tmp_path / "b"
    d.mkdir()
    rt.run("spec", "--bundle", d)
    c = json.loads((d / "config.json").read_text())
    assert c["root"]["path"] == "rootfs"
    p = rt.run("spec", "--bundle", d, check=False)
    assert p.returncode != 0 and "exists" in p.stderr


def test_checkpoint_not_supported(rt):
    p = rt.run("checkpoint", "x", check=False)
    assert p.returncode != 0 and "not supported yet" in p.stderr


def test_terminal_with_console_socket(rt, bundle, tmp_path):
    """The pty master arrives on --console-socket (the conmon/containerd protocol)."""
    import array
    import socket
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    bundle.set_args("/bin/sh", "-c", "tty; echo cols=$(stty size)", terminal=True)
    bundle.config["process"]["consoleSize"] = {"height": 40, "width": 100}
    bundle.save()
    rt.run("create", "--bundle", bundle.path, "--console-socket", sock_path, bundle.id)
    conn, _ = srv.accept()
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(256, socket.CMSG_LEN(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    assert len(fds) == 1
    master = fds[0]
    rt.run("start", bundle.id)
    out = b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and b"cols=" not in out:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    conn.close()
    srv.close()
    assert b"/dev/pts/0" in out
    assert b"cols=40 100" in out
    wait_status(rt, bundle.id, "stopped")
    rt.run("delete", "--force", bundle.id)


def test_foreground_run_with_terminal(rt, bundle):
    """run without --console-socket proxies the pty through the runtime's own stdio."""
    bundle.set_args("/bin/sh", "-c", "tty >/dev/null && echo is-a-tty", terminal=True)
    p = rt.run("run", "--bundle", bundle.path, bundle.id)
    assert "is-a-tty" in p.stdout


def test_log_json(rt, bundle, tmp_path):
    log = tmp_path / "log.json"
    p = rt.run("state", "nope", check=False, log=log, log_format="json")
    assert p.returncode != 0
    line = json.loads(log.read_text().splitlines()[-1])
    assert line["level"] == "error" and "nope" in line["msg"] and "time" in line


def test_systemd_cgroup_refused(rt):
    p = subprocess.run([rt.path, "--root", rt.root, "--systemd-cgroup", "list"], capture_output=True, text=True)
    assert p.returncode != 0 and "systemd" in p.stderr and len(p.stderr.strip().splitlines()) == 1
