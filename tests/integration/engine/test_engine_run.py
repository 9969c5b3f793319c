"""hull run / create / start / stop / kill / rm / ps / exec / attach / wait / rename / pause: the
container lifecycle against the real binaries, exit codes as podman's."""
import json
import os
import pty
import select
import subprocess
import time

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY


def test_run_foreground_output_and_status(hull):
    p = hull.run("run", "--rm", "bb", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert p.returncode == 3
    assert p.out == "out\n"
    assert p.err == "err\n"
    assert hull.ps() == []
    assert hull.files_of_containers() == []


def test_exit_codes_as_podman(hull, tag):
    assert hull.run("run", "--rm", "bb", "true").returncode == 0
    assert "not found" in hull.fail("run", "--rm", "bb", "no-such-command", code=127)
    assert "No such file" in hull.fail("run", "--rm", "bb", "/no/such/file", code=127)
    assert "permission denied" in hull.fail("run", "--rm", "bb", "/etc/passwd", code=126)
    # Killed by a signal: 128 + the signal (an init cannot be signalled from inside its namespace: a child).
    assert hull.run("run", "--rm", "bb", "sh", "-c", "sleep 100 & kill -9 $!; wait $!", check=False).returncode == 137
    assert hull.ps() == []


def test_failed_start_keeps_created_container(hull, tag):
    hull.fail("run", "--name", tag, "bb", "no-such-command", code=127)
    [c] = hull.ps()
    assert c["State"] == "created" and c["Names"] == [tag]
    st = hull.inspect(tag)["State"]
    assert "not found" in st["Error"]
    hull.run("rm", tag)


def _store_state(hull):
    """What a failed command must not change: containers, volumes, mounts of the store, records."""
    files = []
    for sub in ("containers", "volumes"):
        d = os.path.join(hull.root, sub)
        if os.path.isdir(d):
            for dirpath, dirnames, filenames in os.walk(d):
                files += [os.path.join(dirpath, n) for n in dirnames + filenames]
    with open("/proc/self/mountinfo") as f:
        mounts = [l for l in f if hull.root in l]
    return sorted(files), mounts, hull.ps(), hull.run("volume", "ls", "-q").out


def test_bad_input_leaves_nothing(hull, tag):
    before = _store_state(hull)
    line = hull.fail("run", "--bogus-flag", "bb")
    assert "unknown option '--bogus-flag'" in line
    line = hull.fail("run", "--pull", "never", "no-such-image:1", "true")
    assert "no-such-image" in line
    line = hull.fail("run", "-m", "lots", "bb", "true")
    assert "--memory: invalid size 'lots'" in line
    line = hull.fail("run", "-v", "relative:path:/x", "bb", "true")
    assert "--volume" in line
    line = hull.fail("run", "-v", "/nonexistent-source:/x", "bb", "true")
    assert "/nonexistent-source" in line
    assert _store_state(hull) == before
    hull.run("create", "--name", tag, "bb")
    with_one = _store_state(hull)
    line = hull.fail("run", "--name", tag, "-v", "newvol:/v", "bb", "true")
    assert f"the name '{tag}' is already in use" in line
    assert _store_state(hull) == with_one
    hull.run("rm", tag)
    assert _store_state(hull) == before


def test_detached_lifecycle(hull, tag):
    cid = hull.run("run", "-d", "--name", tag, "bb", "sh", "-c", "echo started; exec sleep 300").out.strip()
    assert len(cid) == 64
    [c] = hull.ps()
    assert c["Id"] == cid and c["State"] == "running" and c["Pid"] > 0
    assert hull.run("ps", "-q").out.strip() == cid[:12]
    hull.wait_for(tag, lambda c: "started" in hull.run("logs", tag).out, what="output")
    info = hull.inspect(tag)
    assert info["State"]["Running"] and info["Config"]["Tty"] is False
    assert info["MonitorPid"] in eu.monitors_of(hull.root)
    # A running container is not removed without --force.
    assert "stop it first" in hull.fail("rm", tag)
    t0 = time.monotonic()
    hull.run("stop", "-t", "1", tag)
    assert time.monotonic() - t0 < 10
    st = hull.inspect(tag)["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137  # sleep as pid 1 ignores SIGTERM
    assert eu.monitors_of(hull.root) == []
    assert hull.run("ps", "-q").out == ""
    hull.run("start", tag)
    assert hull.state(tag) == "running"
    hull.run("restart", "-t", "0", tag)
    assert hull.state(tag) == "running"
    hull.run("kill", tag)
    hull.wait_for(tag, lambda c: c["State"]["Status"] == "exited", what="exit after kill")
    hull.run("rm", tag)
    assert hull.ps() == []


def test_stop_signal_and_timeout(hull, tag):
    hull.run("run", "-d", "--name", tag, "--stop-signal", "USR1", "bb", "sh", "-c",
             "trap 'echo got-usr1; exit 7' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    hull.run("stop", tag)
    st = hull.inspect(tag)["State"]
    assert st["ExitCode"] == 7
    assert "got-usr1" in hull.run("logs", tag).out


def test_create_then_start_attached(hull, tag):
    cid = hull.run("create", "--name", tag, "-e", "X=42", "bb", "sh", "-c", "echo x=$X; exit 5").out.strip()
    assert hull.state(tag) == "created"
    p = hull.run("start", "-a", cid, check=False)
    assert p.returncode == 5 and p.out == "x=42\n"
    assert hull.inspect(tag)["State"]["ExitCode"] == 5
    # Started again, the output is appended to the same log.
    hull.run("start", "-a", tag, check=False)
    assert hull.run("logs", tag).out == "x=42\nx=42\n"


def test_stdin_interactive(hull):
    p = hull.run("run", "--rm", "-i", "bb", "sh", "-c", "read a; read b; echo got $a $b", input=b"one\ntwo\n")
    assert p.out == "got one two\n"
    p = hull.run("run", "--rm", "-i", "bb", "wc", "-c", input=b"x" * 200000)
    assert p.out.strip() == "200000"
    # Without -i, stdin is /dev/null.
    assert hull.run("run", "--rm", "bb", "cat", input=b"ignored").out == ""


def test_tty(hull, tag):
    pid, fd = pty.fork()
    if pid == 0:
        cmd = hull.cmd("run", "--rm", "-it", "--name", tag, "bb", "sh", "-c",
                       "tty; stty size; read line; echo got:$line; exit 4")
        os.execvp(cmd[0], cmd)
    out = b""
    sent = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"/dev/pts/0" in out:
            os.write(fd, b"hello\r")
            sent = True
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 4, out
    assert b"/dev/pts/0" in out
    assert b"got:hello" in out


def test_exec(hull, tag):
    hull.run("run", "-d", "--name", tag, "-e", "FOO=bar", "-w", "/tmp", "bb", "sleep", "300")
    assert hull.run("exec", tag, "sh", "-c", "echo $FOO $(pwd)").out == "bar /tmp\n"
    assert hull.run("exec", "-e", "FOO=baz", "-w", "/", tag, "sh", "-c", "echo $FOO $(pwd)").out == "baz /\n"
    assert hull.run("exec", "-u", "nobody", tag, "id", "-u").out == "65534\n"
    assert hull.run("exec", tag, "sh", "-c", "exit 9", check=False).returncode == 9
    assert hull.run("exec", tag, "no-such-command", check=False).returncode == 127
    assert hull.run("exec", "-i", tag, "cat", input=b"piped").out == "piped"
    # exec -d returns at once; the process runs inside the container.
    hull.run("exec", "-d", tag, "sh", "-c", "echo bg > /tmp/bg")
    deadline = time.monotonic() + 10
    while hull.run("exec", tag, "cat", "/tmp/bg", check=False).out != "bg\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hull.run("exec", tag, "cat", "/tmp/bg").out == "bg\n"
    hull.run("stop", "-t", "0", tag)
    assert "not running" in hull.fail("exec", tag, "true")


def test_attach_and_wait(hull, tag):
    hull.run("run", "-d", "-i", "--name", tag, "bb", "sh", "-c", "read x; echo got $x; exit 6")
    p = hull.run("attach", tag, input=b"through-attach\n", check=False)
    assert p.returncode == 6
    assert "got through-attach" in p.out
    assert hull.run("wait", tag).out == "6\n"


def test_wait_blocks_until_exit(hull, tag):
    hull.run("run", "-d", "--name", tag, "bb", "sh", "-c", "sleep 1; exit 2")
    t0 = time.monotonic()
    assert hull.run("wait", tag).out == "2\n"
    assert time.monotonic() - t0 > 0.5


def test_pause_unpause_rename(hull, tag):
    hull.run("run", "-d", "--name", tag, "bb", "sleep", "300")
    hull.run("pause", tag)
    assert hull.inspect(tag)["State"]["Paused"] is True
    assert "Paused" in hull.run("ps").out
    hull.run("unpause", tag)
    assert hull.state(tag) == "running"
    hull.run("rename", tag, tag + "x")
    assert hull.inspect(tag + "x")["Name"] == tag + "x"
    assert "no such container" in hull.fail("inspect", "--type", "container", tag)
    hull.run("create", "--name", tag, "bb")
    assert "already in use" in hull.fail("rename", tag + "x", tag)
    # A paused container can still be stopped.
    hull.run("pause", tag + "x")
    hull.run("stop", "-t", "0", tag + "x")
    assert hull.state(tag + "x") == "exited"


def test_rm_force_and_prune(hull, tag):
    hull.run("run", "-d", "--name", tag, "bb", "sleep", "300")
    hull.run("create", "--name", tag + "c", "bb")
    hull.run("run", "--name", tag + "e", "bb", "true")
    out = hull.run("container", "prune").out.split()
    assert len(out) == 2
    assert [c["Names"][0] for c in hull.ps()] == [tag]
    hull.run("rm", "-f", tag)
    assert hull.ps() == []
    # -f on a missing container is not an error (podman's rule).
    hull.run("rm", "-f", "no-such-container")
    assert "no such container" in hull.fail("rm", "no-such-container")


def test_ps_formats_and_filters(hull, tag):
    hull.run("run", "-d", "--name", tag, "-l", "app=web", "bb", "sleep", "300")
    hull.run("create", "--name", tag + "2", "-l", "app=db", "bb")
    out = hull.run("ps", "-a").out.splitlines()
    assert out[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    # Columns are aligned: each row's NAMES starts where the heading's does.
    col = out[0].index("NAMES")
    assert all(len(l) > col and l[col - 1] == " " and l[col] != " " for l in out[1:])
    assert hull.run("ps", "-a", "--filter", "label=app=db", "--format", "{{.Names}}").out == tag + "2\n"
    assert hull.run("ps", "-a", "--filter", "status=running", "--format", "{{.Names}}").out == tag + "\n"
    assert hull.run("ps", "-a", "--filter", f"name={tag}", "-q").out.count("\n") == 2
    j = hull.ps()
    assert {c["Names"][0]: c["Labels"] for c in j} == {tag: {"app": "web"}, tag + "2": {"app": "db"}}
    assert hull.run("ps", "-a", "--noheading", "--format", "{{.ID}} {{.State}}").out.count("\n") == 2
    assert "unknown filter" in hull.fail("ps", "--filter", "color=red")


def test_inspect_fields(hull, tag):
    hull.run("run", "-d", "--name", tag, "--restart", "on-failure:2", "-m", "64m", "--cpus", "0.5",
             "--pids-limit", "100", "-l", "k=v", "-e", "A=1", "-h", "myhost", "bb", "sleep", "300")
    i = hull.inspect(tag)
    assert i["Name"] == tag and len(i["Id"]) == 64
    assert i["Path"] == "sleep" and i["Args"] == ["300"]
    assert i["Config"]["Hostname"] == "myhost"
    assert "A=1" in i["Config"]["Env"] and "HOSTNAME=myhost" in i["Config"]["Env"]
    assert i["Config"]["Labels"] == {"k": "v"}
    hc = i["HostConfig"]
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert hc["Memory"] == 64 << 20 and hc["NanoCpus"] == 500000000 and hc["PidsLimit"] == 100
    assert hc["NetworkMode"] == "bridge" and hc["SeccompProfile"] == "default"
    assert i["State"]["Pid"] > 0 and i["State"]["StartedAt"].endswith("Z")
    assert os.path.exists(i["LogPath"])
    # `hull inspect` finds containers, images and volumes; templates walk the document.
    assert hull.run("inspect", "-f", "{{.State.Status}} {{.HostConfig.Memory}}", tag).out == "running 67108864\n"
    assert json.loads(hull.run("inspect", "bb").out)[0]["RepoTags"] == ["docker.io/library/bb:latest"]
    assert "no such container, image or volume" in hull.fail("inspect", "nothing-by-this-name")


def test_top_and_stats(hull, tag):
    hull.run("run", "-d", "--name", tag, "-m", "32m", "bb", "sh", "-c", "sleep 300")
    top = hull.run("top", tag).out.splitlines()
    assert top[0].split()[:3] == ["USER", "PID", "PPID"]
    assert any("sleep 300" in l and l.startswith("root") for l in top[1:])
    # PIDs as the container sees them (its first process is 1, its parent outside is 0);
    # podman's descriptors pick columns, hpid is the host's pid.
    rows = [l.split() for l in hull.run("top", tag, "pid,ppid", "hpid", "comm", "user").out.splitlines()]
    assert rows[0] == ["PID", "PPID", "HPID", "COMMAND", "USER"]
    assert rows[1][:2] == ["1", "0"] and rows[1][3:] == ["sleep", "root"]
    assert int(rows[1][2]) == json.loads(hull.run("inspect", tag).out)[0]["State"]["Pid"]
    assert "unknown descriptor 'bogus'" in hull.fail("top", tag, "bogus")
    s = json.loads(hull.run("stats", "--no-stream", "--format", "json").out)
    assert len(s) == 1 and s[0]["Name"] == tag
    assert s[0]["MemLimit"] == 32 << 20 and s[0]["PIDs"] >= 1 and s[0]["MemUsage"] > 0
    table = hull.run("stats", "--no-stream", tag).out.splitlines()
    assert table[0].startswith("ID") and tag in table[1]


def test_cp(hull, tag, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    (src / "sub").mkdir()
    (src / "sub" / "b.txt").write_text("beta")
    hull.run("run", "-d", "--name", tag, "bb", "sleep", "300")
    hull.run("cp", str(src / "a.txt"), f"{tag}:/tmp/")
    hull.run("cp", str(src), f"{tag}:/tmp/dir")
    assert hull.run("exec", tag, "cat", "/tmp/a.txt", "/tmp/dir/sub/b.txt").out == "alphabeta"
    hull.run("exec", tag, "sh", "-c", "echo made-inside > /tmp/m; ln -s /etc/shadow /tmp/link")
    hull.run("cp", f"{tag}:/tmp/m", str(tmp_path / "m"))
    assert (tmp_path / "m").read_text() == "made-inside\n"
    # A symlink is copied as a symlink: it never reads the host's file.
    hull.run("cp", f"{tag}:/tmp/link", str(tmp_path / "link"))
    assert os.readlink(str(tmp_path / "link")) == "/etc/shadow"
    hull.run("stop", "-t", "0", tag)
    # Stopped: the rootfs is mounted for the copy, the container's changes are there.
    hull.run("cp", f"{tag}:/tmp/dir/.", str(tmp_path / "out"))
    assert (tmp_path / "out" / "sub" / "b.txt").read_text() == "beta"
    hull.run("cp", str(src / "a.txt"), f"{tag}:/a-copied")
    hull.run("start", tag)
    assert hull.run("exec", tag, "cat", "/a-copied").out == "alpha"
    hull.run("rm", "-f", tag)
    assert "exactly one of SRC and DEST" in hull.fail("cp", "/a", "/b")


def test_cp_tar_stream(hull, tag):
    """`cp CTR:PATH -` writes a tar; `cp - CTR:DIR` unpacks one, confined to DIR."""
    import io
    import tarfile

    def tar_of(*entries):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w") as t:
            for name, data, link in entries:
                i = tarfile.TarInfo(name)
                if link:
                    i.type, i.linkname = tarfile.SYMTYPE, link
                    t.addfile(i)
                else:
                    i.size = len(data)
                    t.addfile(i, io.BytesIO(data))
        return b.getvalue()

    hull.run("run", "-d", "--name", tag, "bb", "sleep", "300")
    hull.run("exec", tag, "sh", "-c", "mkdir -p /tmp/d && echo one > /tmp/d/f && ln -s /etc/shadow /tmp/d/l")
    out = hull.run("cp", f"{tag}:/tmp/d", "-").stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        names = {m.name: m for m in t.getmembers()}
        assert set(names) == {"d", "d/f", "d/l"}
        assert t.extractfile("d/f").read() == b"one\n" and names["d/l"].linkname == "/etc/shadow"
    with tarfile.open(fileobj=io.BytesIO(hull.run("cp", f"{tag}:/tmp/d/.", "-").stdout)) as t:
        assert sorted(t.getnames()) == ["f", "l"]
    # A symlink made by an earlier entry is followed inside DEST only; ".wh." names are files.
    hull.run("cp", "-", f"{tag}:/tmp", input=tar_of(("up", b"", "/"), ("up/etc/x", b"in", None),
                                                    (".wh.keep", b"k", None)))
    assert hull.run("exec", tag, "cat", "/tmp/etc/x", "/tmp/.wh.keep").out == "ink"
    assert hull.run("exec", tag, "sh", "-c", "test ! -e /etc/x && echo ok").out == "ok\n"
    err = hull.fail("cp", "-", f"{tag}:/tmp", input=tar_of(("../../escape", b"x", None)))
    assert "path leaves" in err
    assert "must be a directory" in hull.fail("cp", "-", f"{tag}:/tmp/d/f", input=tar_of(("a", b"", None)))
    hull.run("rm", "-f", tag)


def test_images_in_use_stay(hull, tag):
    hull.run("create", "--name", tag, "bb")
    assert f"in use by container {tag}" in hull.fail("rmi", "bb")
    assert "docker.io/library/bb " in hull.run("images").out  # the name was not lost
    hull.run("image", "prune", "-a")
    assert "docker.io/library/bb " in hull.run("images").out
    out = hull.run("rmi", "-f", "bb").out
    assert f"Removed container: {tag}" in out and hull.ps() == []
