"""Real enforcement of src/runtime/seccomp.c and caps.c, without the runtime binary.

seccomp-tool (tests/integration/runtime/seccomp-tool.c) applies capabilities and a seccomp
filter in a forked child in hull-runtime's order and execs a command; these tests run small
Python programs under it and look at what the kernel did.
"""
import array
import ctypes
import errno
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading

import pytest

import hulltest

TOOL = os.path.join(hulltest.BUILD, "tests", "integration", "runtime", "seccomp-tool")
PODMAN_PROFILE = "/usr/share/containers/seccomp.json"
PY = sys.executable or "/usr/bin/python3"
SIGSYS = 31

# linux/capability.h, by number.
CAP_NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

# x86_64 syscall numbers used below.
NR_GETPPID, NR_PERSONALITY, NR_UNSHARE, NR_BPF, NR_FCHMODAT2 = 110, 135, 272, 321, 452
CLONE_NEWUTS, CLONE_NEWUSER = 0x04000000, 0x10000000


@pytest.fixture(autouse=True)
def tool():
    if not os.path.exists(TOOL):
        pytest.fail(f"{TOOL} is not built (scripts/build release)")
    if os.uname().machine != "x86_64":
        pytest.skip("syscall numbers in these tests are x86_64's")
    return TOOL


def run(args, code, **kw):
    """seccomp-tool ARGS -- python3 -c CODE; returns the CompletedProcess."""
    return subprocess.run([TOOL] + args + ["--", PY, "-c", code], capture_output=True, text=True,
                          timeout=60, **kw)


# Prints the errno of a raw syscall (0 when it succeeded).
SYSCALL = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
args = [ctypes.c_long(int(a, 0)) for a in sys.argv[2:]]
r = libc.syscall(ctypes.c_long(int(sys.argv[1])), *args)
print(ctypes.get_errno() if r == -1 else 0)
"""


def errno_of(args, nr, *sysargs):
    p = subprocess.run([TOOL] + args + ["--", PY, "-c", SYSCALL, str(nr)] + [str(a) for a in sysargs],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


MKDIR = "import os, sys\ntry:\n    os.mkdir(sys.argv[1])\n    print(0)\nexcept OSError as e:\n    print(e.errno)\n"


def mkdir_errno(args, path):
    p = subprocess.run([TOOL] + args + ["--", PY, "-c", MKDIR, str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


# ------------------------------------------------------------------ actions

def test_errno_defaults_to_eperm(tmp_path):
    assert mkdir_errno(["-r", "errno:mkdir,mkdirat"], tmp_path / "d") == errno.EPERM
    assert not (tmp_path / "d").exists()
    assert mkdir_errno([], tmp_path / "d") == 0


def test_errno_ret_is_returned(tmp_path):
    assert mkdir_errno(["-r", f"errno={errno.EDQUOT}:mkdir,mkdirat"], tmp_path / "d") == errno.EDQUOT
    # (The default action's errnoRet is checked with podman's profile below: ENOSYS.)


@pytest.mark.parametrize("action", ["kill_process", "kill_thread", "kill"])
def test_kill_actions_kill(action):
    p = run(["-r", f"{action}:getppid"], "import os\nprint('before', flush=True)\nos.getppid()\nprint('survived')")
    assert p.stdout == "before\n"
    assert p.returncode == 128 + SIGSYS, p.stderr
    assert f"killed by signal {SIGSYS}" in p.stderr


def test_trap_raises_sigsys():
    code = ("import os, signal\nhit = []\nsignal.signal(signal.SIGSYS, lambda *a: hit.append(1))\n"
            "os.getppid()\nprint('trapped' if hit else 'not trapped')")
    p = run(["-r", "trap:getppid"], code)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "trapped\n"


def test_log_allows():
    p = run(["-r", "log:getppid", "-f", "SECCOMP_FILTER_FLAG_LOG"], "import os\nprint(os.getppid())")
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) > 1


# --------------------------------------------------------------- arguments

def test_argument_condition_matches():
    rule = ["-r", f"errno={errno.EACCES}:personality:0,eq,8"]
    assert errno_of(rule, NR_PERSONALITY, 8) == errno.EACCES
    assert errno_of(rule, NR_PERSONALITY, 0xffffffff) == 0  # query, allowed


def test_masked_eq_matches_flag_bits():
    mask = f"0,masked_eq,{CLONE_NEWUSER},{CLONE_NEWUSER}"
    rule = ["-r", f"errno={errno.EPERM}:unshare:{mask}"]
    assert errno_of(rule, NR_UNSHARE, CLONE_NEWUSER | CLONE_NEWUTS) == errno.EPERM
    assert errno_of(rule, NR_UNSHARE, CLONE_NEWUTS) == 0


def test_conditions_on_one_argument_are_alternatives():
    rule = ["-r", "errno=33:personality:0,eq,1:0,eq,2"]
    assert errno_of(rule, NR_PERSONALITY, 1) == 33
    assert errno_of(rule, NR_PERSONALITY, 2) == 33
    assert errno_of(rule, NR_PERSONALITY, 0xffffffff) == 0


# ------------------------------------------------------------------ notify

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif), 80 bytes
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes
NR_MKDIR = 83


def seccomp_agent(srv, result, answer_errno):
    """Receive the ContainerProcessState and listener fd, then answer one notification."""
    try:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(20)
            fds = array.array("i")
            msg, anc, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(4 * 4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % 4])
            while True:  # the runtime closes the connection after the document
                more = conn.recv(1 << 16)
                if not more:
                    break
                msg += more
        result["state"] = json.loads(msg)
        result["n_fds"] = len(fds)
        nfd = fds[0]
        try:
            ready, _, _ = select.select([nfd], [], [], 20)
            assert ready, "no notification within 20 s"
            req = bytearray(80)
            fcntl.ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, req)
            notif_id, pid = struct.unpack_from("=QI", req, 0)
            nr, = struct.unpack_from("=i", req, 16)
            result["nr"], result["pid"] = nr, pid
            fcntl.ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(struct.pack("=QqiI", notif_id, 0,
                                                                             -answer_errno, 0)))
        finally:
            for fd in fds:
                os.close(fd)
    except Exception as e:  # reported by the test
        result["error"] = repr(e)


def test_notify_sends_working_listener(tmp_path):
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    result = {}
    agent = threading.Thread(target=seccomp_agent, args=(srv, result, errno.EXDEV))
    agent.start()
    try:
        p = subprocess.run([TOOL, "-r", "notify:mkdir", "-l", path, "-m", "agent-metadata", "--", PY, "-c",
                            MKDIR, str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    finally:
        agent.join(30)
        srv.close()
    assert "error" not in result, result.get("error")
    assert p.returncode == 0, p.stderr
    # The agent's answer is what mkdir saw.
    assert int(p.stdout) == errno.EXDEV
    assert not (tmp_path / "d").exists()
    assert result["nr"] == NR_MKDIR
    state = result["state"]
    assert result["n_fds"] == 1 and state["fds"] == ["seccompFd"]
    assert state["ociVersion"] and state["metadata"] == "agent-metadata"
    assert state["pid"] == result["pid"]  # the process that made the call
    assert state["state"]["status"] == "creating" and state["state"]["pid"] == state["pid"]


def test_notify_without_listener_path_is_refused():
    p = run(["-r", "notify:mkdir"], "print(1)")
    assert p.returncode == 125
    assert "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used" in p.stderr


def test_listener_path_that_nobody_listens_on(tmp_path):
    p = run(["-r", "notify:mkdir", "-l", str(tmp_path / "none.sock")], "print(1)")
    assert p.returncode == 125
    assert "linux.seccomp.listenerPath: cannot connect to" in p.stderr


# --------------------------------------------------------- podman's profile

@pytest.fixture
def podman_profile():
    if not os.path.exists(PODMAN_PROFILE):
        pytest.skip(f"{PODMAN_PROFILE} is missing (package containers-common)")
    return PODMAN_PROFILE


def test_podman_default_profile(podman_profile, tmp_path, leak_check):
    cache = leak_check.watch_dir(str(tmp_path / "cache"))
    args = ["-P", podman_profile, "-C", cache]
    try:
        for _ in range(2):  # compile and write the cache, then load from it
            # Allowed: a normal program runs.
            p = run(args, "import os\nprint(os.getppid() > 0)")
            assert p.returncode == 0 and p.stdout == "True\n", p.stderr
            # Not in the profile: the default action, ERRNO(ENOSYS).
            assert errno_of(args, NR_FCHMODAT2, -1, 0, 0, 0) == errno.ENOSYS
            # Refused without CAP_SYS_ADMIN (not in podman's default capabilities): EPERM.
            assert errno_of(args, NR_BPF, 0xffff, 0, 0) == errno.EPERM
            # socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT) without CAP_AUDIT_WRITE: errnoRet 22.
            assert errno_of(args, 41, 16, 3, 9) == errno.EINVAL
            assert len(os.listdir(cache)) == 1 and os.listdir(cache)[0].endswith(".bpf")
        # The same calls without a filter do something else, so the filter made the difference.
        assert errno_of(["-S"], NR_FCHMODAT2, -1, 0, 0, 0) == errno.EFAULT
    finally:
        for f in os.listdir(cache) if os.path.isdir(cache) else []:
            os.unlink(os.path.join(cache, f))


# ------------------------------------------------------------ capabilities

def own_caps(field="CapPrm"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    raise AssertionError(field)


def names(mask):
    return ",".join(n for i, n in enumerate(CAP_NAMES) if mask & (1 << i))


def status_of(args):
    p = subprocess.run([TOOL, "-S"] + args + ["--", "cat", "/proc/self/status"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return {k: int(v.split()[0], 16) for k, v in (l.split(":", 1) for l in p.stdout.splitlines())
            if k.startswith("Cap")}


CHOWN = "import os, sys\ntry:\n    os.chown(sys.argv[1], 4321, 4321)\n    print(0)\nexcept OSError as e:\n    print(e.errno)\n"


def test_without_cap_chown_chown_fails(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    keep = own_caps() & ~(1 << 0)
    drop = ["-B", names(keep), "-c", names(keep)]
    p = subprocess.run([TOOL, "-S"] + drop + ["--", PY, "-c", CHOWN, str(f)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) == errno.EPERM
    assert os.stat(f).st_uid == 0
    # The same without the drop works, so CAP_CHOWN was what mattered.
    p = subprocess.run([TOOL, "-S", "--", PY, "-c", CHOWN, str(f)], capture_output=True, text=True, timeout=60)
    assert int(p.stdout) == 0 and os.stat(f).st_uid == 4321


def test_bounding_set_is_visible_after_exec():
    st = status_of(["-B", "CAP_CHOWN,CAP_KILL"])
    assert st["CapBnd"] == (1 << 0) | (1 << 5)
    # root's execve recomputes permitted from the bounding set.
    assert st["CapEff"] == st["CapPrm"] == (1 << 0) | (1 << 5)


def test_ambient_capability_survives_exec_as_non_root():
    nbs = 1 << 10  # CAP_NET_BIND_SERVICE
    st = status_of(["-u", "1000:1000", "-c", "CAP_NET_BIND_SERVICE", "-A", "CAP_NET_BIND_SERVICE"])
    assert st["CapAmb"] == nbs and st["CapEff"] == nbs and st["CapPrm"] == nbs and st["CapInh"] == nbs
    st = status_of(["-u", "1000:1000", "-c", "CAP_NET_BIND_SERVICE"])
    assert st["CapAmb"] == 0 and st["CapEff"] == 0

    # And the capability works: uid 1000 binds port 80 (in a network namespace of its own).
    bind = ("import os, socket\ns = socket.socket()\ntry:\n    s.bind(('0.0.0.0', 80))\n"
            "    print(os.getuid(), 'bound')\nexcept OSError as e:\n    print(os.getuid(), e.errno)\n")
    base = ["-S", "-N", "-u", "1000:1000", "-c", "CAP_NET_BIND_SERVICE"]
    p = subprocess.run([TOOL] + base + ["-A", "CAP_NET_BIND_SERVICE", "--", PY, "-c", bind],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout == "1000 bound\n", p.stderr
    p = subprocess.run([TOOL] + base + ["--", PY, "-c", bind], capture_output=True, text=True, timeout=60)
    assert p.stdout == f"1000 {errno.EACCES}\n", p.stderr


def test_invalid_capability_sets_are_explained():
    p = subprocess.run([TOOL, "-S", "-B", "CAP_CHOWN", "-c", "CAP_KILL", "--", "true"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 125
    assert "process.capabilities.inheritable: 'CAP_KILL' is not in the bounding set" in p.stderr


def test_ambient_capability_outside_inheritable_is_left_out():
    # As runc: the kernel cannot raise it, the container starts without it.
    st = status_of(["-u", "1000:1000", "-c", "CAP_CHOWN", "-A", "CAP_NET_BIND_SERVICE"])
    assert st["CapAmb"] == 0 and st["CapInh"] == 1
