"""containerd 1.6 started by the test (private socket, root and state), driven with `ctr`; its runc
shim (containerd-shim-runc-v2) runs hull-runtime given with `ctr run --runc-binary`."""
import base64
import json
import os

from clienttest import run_in_pty, wait_for


def task_status(ctrd, cid):
    for line in ctrd("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[2]
    return None


def test_run_exit_code_and_output(containerd):
    cid = containerd.ns + "-a"
    p = containerd("run", "--rm", *containerd.run_opts(cid), containerd.IMAGE, cid, "sh", "-c",
                   "echo out; echo err >&2; exit 3", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
    assert containerd("container", "ls", "--quiet").stdout == ""


def test_run_detached_exec_kill_delete(containerd):
    cid = containerd.ns + "-d"
    containerd("run", "-d", *containerd.run_opts(cid), containerd.IMAGE, cid, "sh", "-c",
               "trap 'exit 4' TERM; while :; do sleep 0.1; done")
    assert task_status(containerd, cid) == "RUNNING"
    # the shim ran hull-runtime: its state (hull's own format) is under the --root the shim passed
    with open(os.path.join(containerd.hull_state(cid), "state.json")) as f:
        st = json.load(f)
    assert "pid_start" in st and st["bundle"].endswith(f"/{containerd.ns}/{cid}")
    info = json.loads(containerd("container", "info", cid).stdout)
    # runc shim options (protobuf: BinaryName, Root), as ctr recorded them for the shim
    opts = base64.b64decode(info["Runtime"]["Options"]["value"])
    assert containerd.runtime.encode() in opts and containerd.runc_root.encode() in opts
    spec = info["Spec"]
    assert spec["linux"]["cgroupsPath"] == f"/{containerd.ns}/{cid}"

    p = containerd("task", "exec", *containerd.exec_opts("e1"), cid, "sh", "-c",
                   "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; exit 6", check=False)
    assert p.returncode == 6 and p.stdout.startswith("in-exec\nsh -c trap")
    containerd("task", "exec", "-d", *containerd.exec_opts("e2"), cid, "sleep", "30")
    ps = containerd("task", "ps", cid).stdout.splitlines()[1:]
    assert len(ps) >= 2 and any("e2" in l for l in ps)
    assert str(st["pid"]) in {l.split()[0] for l in ps}

    containerd("task", "kill", cid)  # SIGTERM
    assert wait_for(lambda: task_status(containerd, cid) == "STOPPED")
    containerd("task", "delete", cid)
    assert not os.path.exists(containerd.hull_state(cid))
    containerd("container", "delete", cid)


def test_exec_with_tty(containerd):
    cid = containerd.ns + "-t"
    containerd("run", "-d", *containerd.run_opts(cid), containerd.IMAGE, cid, "sleep", "1000")
    status, out = run_in_pty(containerd.cmd("task", "exec", "--tty", *containerd.exec_opts("t1"), cid,
                                            "sh", "-c", "tty; exit 2"))
    assert status == 2 and "/dev/pts/0" in out, out
    containerd("task", "kill", "--signal", "SIGKILL", cid)
    assert wait_for(lambda: task_status(containerd, cid) == "STOPPED")
    containerd("task", "delete", cid)
    containerd("container", "delete", cid)


def test_run_with_tty(containerd):
    cid = containerd.ns + "-r"
    status, out = run_in_pty(containerd.cmd("run", "--rm", "--tty", *containerd.run_opts(cid),
                                            containerd.IMAGE, cid, "sh", "-c", "tty; exit 5"))
    assert status == 5 and "/dev/pts/0" in out, out


def test_kill_all_pause_resume(containerd):
    cid = containerd.ns + "-k"
    containerd("run", "-d", *containerd.run_opts(cid), containerd.IMAGE, cid, "sh", "-c",
               "sleep 1000 & sleep 1000 & wait")
    containerd("task", "exec", "-d", *containerd.exec_opts("x"), cid, "sleep", "999")
    containerd("task", "pause", cid)
    assert task_status(containerd, cid) == "PAUSED"
    containerd("task", "resume", cid)
    assert task_status(containerd, cid) == "RUNNING"
    assert len(containerd("task", "ps", cid).stdout.splitlines()[1:]) == 4
    containerd("task", "kill", "--all", "--signal", "SIGKILL", cid)
    assert wait_for(lambda: task_status(containerd, cid) == "STOPPED")
    containerd("task", "delete", cid)
    containerd("container", "delete", cid)


def test_missing_command(containerd):
    """The shim reads hull-runtime's error from the --log file (--log-format json) it passes."""
    cid = containerd.ns + "-m"
    p = containerd("run", "--rm", *containerd.run_opts(cid), containerd.IMAGE, cid, "/no/such/program",
                   check=False)
    assert p.returncode != 0
    assert "OCI runtime create failed" in p.stderr
    assert "exec: '/no/such/program': No such file or directory" in p.stderr
    assert containerd("container", "ls", "--quiet").stdout == ""
