"""Helpers shared by test_cgroup.py and test_cgroup_v2.py: run cgroup-tool, read cgroup files."""
import json
import os
import subprocess
import time

import hulltest as conftest

TOOL = os.path.join(conftest.BUILD, "tests", "integration", "runtime", "cgroup-tool")

# Opens a device and reports the result per mode, e.g. "r:ok w:EPERM".
OPEN_CHECK = ("import os,sys,errno\n"
              "out=[]\n"
              "for m,f in (('r',os.O_RDONLY),('w',os.O_WRONLY)):\n"
              "    try:\n"
              "        os.close(os.open(sys.argv[1], f|os.O_NONBLOCK)); out.append(m+':ok')\n"
              "    except OSError as e:\n"
              "        out.append(m+':'+errno.errorcode[e.errno])\n"
              "print(' '.join(out))\n")


def tool(*args, env=None, check=True):
    """Run cgroup-tool; returns the CompletedProcess (stdout/stderr as text)."""
    if not os.path.exists(TOOL):
        raise FileNotFoundError(f"cgroup-tool not built in {conftest.BUILD}")
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True, env=e, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"cgroup-tool {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
    return p


def run_json(*args, env=None):
    p = tool("run", *args, env=env)
    return json.loads(p.stdout.strip().splitlines()[-1]), p


def read(path):
    with open(path) as f:
        return f.read().strip()


def _mounted_hierarchies():
    """The option sets of the cgroup v1 mounts, and whether cgroup2 is mounted."""
    v1, v2 = [], False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            post = line.split(" - ", 1)[1].split()
            if post[0] == "cgroup":
                v1.append(set(post[2].split(",")))
            elif post[0] == "cgroup2":
                v2 = True
    return v1, v2


def own_cgroups(pid):
    """controller list -> path, from /proc/PID/cgroup, for the hierarchies that are mounted (a v1
    hierarchy unmounted while cgroups still pin it stays listed there, but no runtime can use it)."""
    v1, v2 = _mounted_hierarchies()
    out = {}
    for line in read(f"/proc/{pid}/cgroup").splitlines():
        _, ctrl, path = line.split(":", 2)
        if (ctrl == "" and v2) or (ctrl and any(set(ctrl.split(",")) <= m for m in v1)):
            out[ctrl] = path
    return out


def wait_gone(pids, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and "State:\tZ" not in read(f"/proc/{p}/status")]
        if not alive:
            return True
        time.sleep(0.02)
    return False


def progress_counter(path):
    """A shell loop that appends a line to path every 10 ms (to see whether it runs)."""
    return ["sh", "-c", f"while :; do echo x >> {path}; sleep 0.01; done"]


def lines(path):
    try:
        with open(path) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0


class Cgroup:
    """A cgroup made by cgroup-tool create, destroyed (after killing what is left) on exit."""

    def __init__(self, statedir, name, *args, env=None):
        self.state = os.path.join(statedir, name + ".json")
        self.env = env
        self.path = tool("create", "--state", self.state, *args, env=env).stdout.strip()

    def __call__(self, verb, *args, check=True):
        return tool(verb, "--state", self.state, *args, env=self.env, check=check)

    def exec(self, *cmd):
        return int(self("exec", "--", *cmd).stdout.strip())

    def pids(self):
        return [int(x) for x in self("pids").stdout.split()]

    def stats(self):
        return json.loads(self("stats").stdout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if os.path.exists(self.state):
            self("thaw", check=False)
            self("kill", "KILL", check=False)
            wait_gone(self.pids() if os.path.exists(self.state) else [])
            self("destroy")


def check_freeze_thaw(cg, out, while_frozen):
    """Freeze a process that writes a line every 10 ms, check it stops and resumes after thaw."""
    cg.exec(*progress_counter(out))
    time.sleep(0.2)
    cg("freeze")
    assert cg("frozen").stdout.strip() == "true"
    while_frozen()
    n = lines(out)
    time.sleep(0.3)
    assert lines(out) == n
    cg("thaw")
    assert cg("frozen").stdout.strip() == "false"
    time.sleep(0.3)
    assert lines(out) > n


def check_kill_all(cg):
    """kill_all TERM reaches every process (a parent ignoring it survives), KILL leaves none."""
    cg.exec("/usr/bin/python3", "-c", "import signal, subprocess, time\n"
            "a = [subprocess.Popen(['sleep', '100']) for _ in range(2)]\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(100)")
    deadline = time.monotonic() + 5
    while len(cg.pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = cg.pids()
    assert len(pids) == 3
    cg("kill", "TERM")  # freeze, signal each, thaw
    time.sleep(0.2)
    assert len(cg.pids()) == 1  # the parent ignores TERM, its children do not
    assert cg("frozen").stdout.strip() == "false"
    cg("kill", "KILL")
    assert wait_gone(pids)
    assert cg.pids() == []
