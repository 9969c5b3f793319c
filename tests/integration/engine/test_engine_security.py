"""Secure defaults, checked from inside the container: capabilities, seccomp, masked and
read-only paths, no_new_privs, --privileged, --read-only, --cap-add/--cap-drop, --security-opt,
and the network modes."""
import json
import os

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY

DOCKER_CAPS = {"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
               "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}


def status(hull, *opts):
    return hull.run("run", "--rm", *opts, "bb", "cat", "/proc/self/status").out


def test_default_capabilities(hull):
    st = status(hull)
    assert eu.cap_names(eu.proc_status_field(st, "CapEff")) == DOCKER_CAPS
    assert eu.cap_names(eu.proc_status_field(st, "CapBnd")) == DOCKER_CAPS
    assert eu.proc_status_field(st, "NoNewPrivs") == "0"
    assert eu.proc_status_field(st, "Seccomp") == "2"


def test_cap_add_drop_and_privileged(hull):
    caps = eu.cap_names(eu.proc_status_field(status(hull, "--cap-add", "NET_ADMIN", "--cap-drop", "chown"), "CapEff"))
    assert caps == (DOCKER_CAPS | {"NET_ADMIN"}) - {"CHOWN"}
    caps = eu.cap_names(eu.proc_status_field(status(hull, "--cap-drop", "ALL"), "CapEff"))
    assert caps == set()
    st = status(hull, "--privileged")
    # Every capability hull itself holds (this machine's root lacks CAP_SYS_RESOURCE, see MACHINE.md).
    with open("/proc/self/status") as f:
        mine = eu.cap_names(eu.proc_status_field(f.read(), "CapBnd"))
    assert eu.cap_names(eu.proc_status_field(st, "CapEff")) == mine
    assert eu.proc_status_field(st, "Seccomp") == "0"
    assert "--cap-add: unknown capability 'BOGUS'" in hull.fail("run", "--rm", "--cap-add", "BOGUS", "bb", "true")
    assert hull.ps() == []


def test_seccomp_default_profile_blocks(hull):
    # unshare(CLONE_NEWUSER) and mount are not for unprivileged containers: EPERM from the filter.
    p = hull.run("run", "--rm", "bb", "unshare", "-U", "true", check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.err
    p = hull.run("run", "--rm", "--cap-add", "SYS_ADMIN", "bb", "sh", "-c",
                 "mkdir /m && mount -t tmpfs none /m && echo mounted", check=False)
    assert "mounted" in p.out, p.err
    p = hull.run("run", "--rm", "bb", "sh", "-c", "mkdir /m && mount -t tmpfs none /m && echo mounted", check=False)
    assert "mounted" not in p.out
    # Ordinary programs work: threads (clone without namespace flags), files, sockets.
    assert hull.run("run", "--rm", "bb", "sh", "-c", "echo hi | sort | wc -l; ls / > /dev/null").out == "1\n"


def test_seccomp_unconfined_and_custom(hull, tmp_path):
    st = status(hull, "--security-opt", "seccomp=unconfined")
    assert eu.proc_status_field(st, "Seccomp") == "0"
    prof = tmp_path / "deny-mkdir.json"
    prof.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    p = hull.run("run", "--rm", "--security-opt", f"seccomp={prof}", "bb", "mkdir", "/x", check=False)
    assert p.returncode != 0 and "Permission denied" in p.err
    assert hull.run("run", "--rm", "--security-opt", f"seccomp={prof}", "bb", "touch", "/x").returncode == 0
    assert "seccomp" in hull.fail("run", "--rm", "--security-opt", f"seccomp={tmp_path}/missing.json", "bb", "true")


def test_no_new_privileges(hull):
    assert eu.proc_status_field(status(hull, "--security-opt", "no-new-privileges"), "NoNewPrivs") == "1"


MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]


def test_masked_and_readonly_paths(hull):
    # Docker's masked paths that this kernel has read as empty inside (files: /dev/null; dirs: an empty tmpfs).
    present = [p for p in MASKED if os.path.exists(p)]
    assert present
    script = "; ".join(f"if [ -d {p} ]; then ls -A {p} | wc -l; else wc -c < {p}; fi" for p in present)
    out = hull.run("run", "--rm", "bb", "sh", "-c", script).out.split()
    assert out == ["0"] * len(present)
    p = hull.run("run", "--rm", "bb", "sh", "-c", "echo x > /proc/sys/kernel/domainname && echo wrote", check=False)
    assert "wrote" not in p.out and "Read-only file system" in p.err
    # With --privileged, nothing is masked and the host's devices are there.
    p = hull.run("run", "--rm", "--privileged", "bb", "sh", "-c", f"ls -A {present[-1]} | wc -l; ls /dev | wc -l")
    n_masked, n_dev = (int(x) for x in p.out.split())
    assert n_dev > 10
    if os.path.isdir(present[-1]) and os.listdir(present[-1]):
        assert n_masked > 0


def test_read_only_rootfs(hull):
    p = hull.run("run", "--rm", "--read-only", "bb", "sh", "-c", "touch /x", check=False)
    assert p.returncode != 0 and "Read-only file system" in p.err
    # /dev/shm and tmpfs mounts stay writable.
    assert hull.run("run", "--rm", "--read-only", "--tmpfs", "/run", "bb", "sh", "-c",
                    "touch /dev/shm/a /run/b && echo ok").out == "ok\n"


def test_devices_default_deny(hull):
    # /dev has only the runtime's default devices; creating others fails by the device cgroup.
    p = hull.run("run", "--rm", "bb", "sh", "-c", "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda", check=False)
    assert p.returncode != 0


def test_network_none_has_loopback_up(hull):
    out = hull.run("run", "--rm", "--network", "none", "bb", "ip", "-o", "link").out
    names = [l.split(":")[1].strip() for l in out.splitlines()]
    assert names == ["lo"]
    assert "UP" in out.split("lo:")[1].split(">")[0] or ",UP" in out
    # Loopback works: a server and a client inside the container.
    out = hull.run("run", "--rm", "--network", "none", "bb", "sh", "-c",
                   "nc -l -p 7777 > /tmp/r & sleep 0.2; echo over-lo | nc -w 1 127.0.0.1 7777; sleep 0.2; cat /tmp/r").out
    assert "over-lo" in out


def test_network_host(hull):
    hull.sh("ip", "link", "add", "hostonly0", "type", "bridge")
    out = hull.run("run", "--rm", "--network", "host", "bb", "ip", "-o", "link").out
    assert "hostonly0" in out  # the store's host namespace (engine_util.Hull), not a new one
    assert "no such network 'nonet'" in hull.fail("run", "--rm", "--network", "nonet", "bb", "true")


def test_users(hull):
    assert hull.run("run", "--rm", "-u", "nobody", "bb", "id").out.startswith("uid=65534(nobody) gid=65534")
    assert hull.run("run", "--rm", "-u", "1234:5", "bb", "id", "-u").out == "1234\n"
    assert hull.run("run", "--rm", "-u", "nobody", "bb", "sh", "-c", "echo $HOME").out == "/nonexistent\n"
    st = status(hull, "-u", "nobody")
    assert eu.cap_names(eu.proc_status_field(st, "CapEff")) == set()
    line = hull.fail("run", "--rm", "-u", "ghost", "bb", "true")
    assert "unable to find user ghost" in line
    assert hull.ps() == []


def test_hostname_and_hosts(hull, tag):
    out = hull.run("run", "--rm", "-h", "box1", "--add-host", "db:10.1.2.3", "bb", "sh", "-c",
                   "hostname; cat /etc/hostname; grep db /etc/hosts; echo $HOSTNAME").out.split()
    assert out == ["box1", "box1", "10.1.2.3", "db", "box1"]
    cid = hull.run("create", "--name", tag, "bb", "hostname").out.strip()
    assert hull.run("start", "-a", tag).out.strip() == cid[:12]
