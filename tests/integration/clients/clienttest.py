"""Helpers shared by the client tests (importable from them and from conftest.py)."""
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time


def wait_for(cond, timeout=10):
    """Poll cond until it returns something true (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


def reap():
    """Reap what was reparented to this test process, a child subreaper (hulltest.py)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def run_in_pty(cmd, env=None, size=None, timeout=60):
    """Run cmd with a new pty as its stdio (podman -t and ctr -t want a terminal), of size
    (rows, cols) when given; return (exit status, everything it wrote)."""
    master, slave = pty.openpty()
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the pty's other side is gone
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=30), out.decode(errors="replace")
