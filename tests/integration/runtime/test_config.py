"""config.json features observed from inside the container (runtime-spec config.md, config-linux.md)."""
import os
import subprocess

import pytest


def run_out(rt, bundle, *args):
    bundle.set_args(*args)
    p = rt.run("run", "--bundle", bundle.path, bundle.id)
    return p.stdout


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_hostname_env_cwd_user_umask(rt, bundle):
    c = bundle.config
    c["hostname"] = "box-" + bundle.id[-4:]
    c["domainname"] = "example.org"
    c["process"]["env"].append("GREETING=hi there")
    c["process"]["cwd"] = "/tmp"
    c["process"]["user"] = {"uid": 1234, "gid": 567, "additionalGids": [10, 20], "umask": 0o027}
    out = run_out(rt, bundle, "/bin/sh", "-c",
                  "hostname; cat /proc/sys/kernel/domainname; echo $GREETING; pwd; id -u; id -g; "
                  "cat /proc/self/status | grep Groups; umask; echo $HOME")
    lines = out.splitlines()
    assert lines[0] == c["hostname"]
    assert lines[1] == "example.org"
    assert lines[2] == "hi there"
    assert lines[3] == "/tmp"
    assert lines[4:6] == ["1234", "567"]
    assert lines[6].split()[1:] == ["10", "20"]
    assert lines[7] == "0027"
    assert lines[8] == "/"


def test_home_from_passwd(rt, bundle):
    with open(os.path.join(bundle.rootfs, "etc/passwd"), "a") as f:
        f.write("app:x:1500:1500::/home/app:/bin/sh\n")
    bundle.config["process"]["user"] = {"uid": 1500, "gid": 1500}
    assert run_out(rt, bundle, "/bin/sh", "-c", "echo $HOME").strip() == "/home/app"


def test_rlimits_and_oom_score(rt, bundle):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
                                           {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 1000}]
    bundle.config["process"]["oomScoreAdj"] = 345
    out = run_out(rt, bundle, "/bin/sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj")
    assert out.split() == ["321", "654", "345"]


def test_capabilities_and_no_new_privs(rt, bundle):
    proc = bundle.config["process"]
    proc["capabilities"] = {k: ["CAP_CHOWN", "CAP_KILL"] for k in
                            ("bounding", "effective", "permitted", "inheritable", "ambient")}
    proc["noNewPrivileges"] = True
    out = run_out(rt, bundle, "/bin/cat", "/proc/self/status")
    want = hex((1 << 0) | (1 << 5))[2:].zfill(16)
    assert status_field(out, "CapEff") == want
    assert status_field(out, "CapBnd") == want
    assert status_field(out, "CapAmb") == want
    assert status_field(out, "NoNewPrivs") == "1"
    proc["noNewPrivileges"] = False
    proc["capabilities"] = {k: [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    out = run_out(rt, bundle, "/bin/cat", "/proc/self/status")
    assert status_field(out, "CapEff") == "0" * 16
    assert status_field(out, "CapBnd") == "0" * 16
    assert status_field(out, "NoNewPrivs") == "0"


def test_masked_and_readonly_paths(rt, bundle):
    masked = bundle.linux()["maskedPaths"]
    files = [p for p in masked if os.path.isfile(p)]
    dirs = [p for p in masked if os.path.isdir(p) and os.listdir(p)]
    assert files and dirs, "the host should have some of the masked paths"
    script = "".join(f"echo $(wc -c < {f}); " for f in files) + "".join(f"echo $(ls {d} | wc -l); " for d in dirs)
    script += "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly; "
    script += "echo x > /proc/sysrq-trigger 2>/dev/null && echo writable || echo readonly"
    out = run_out(rt, bundle, "/bin/sh", "-c", script).split()
    assert out[:len(files) + len(dirs)] == ["0"] * (len(files) + len(dirs))
    assert out[-2:] == ["readonly", "readonly"]


def test_readonly_root_and_mounts(rt, bundle, tmp_path):
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    (host_dir / "data").write_text("from-host")
    bundle.config["root"]["readonly"] = True
    bundle.config["mounts"] += [
        {"destination": "/data", "type": "bind", "source": str(host_dir), "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "size=1m", "mode=1777"]},
        {"destination": "/rw", "type": "none", "source": str(host_dir), "options": ["bind", "rw"]},
    ]
    out = run_out(rt, bundle, "/bin/sh", "-c",
                  "cat /data/data; touch /data/x 2>/dev/null && echo data-rw || echo data-ro; "
                  "touch /etc/x 2>/dev/null && echo root-rw || echo root-ro; "
                  "touch /scratch/x && echo scratch-ok; grep ' /scratch ' /proc/mounts; "
                  "echo w > /rw/written && echo rw-ok")
    assert "from-host" in out
    assert "data-ro" in out and "root-ro" in out and "scratch-ok" in out and "rw-ok" in out
    assert "size=1024k" in out
    assert (host_dir / "written").read_text() == "w\n"


def test_devices(rt, bundle):
    bundle.linux()["devices"] = [{"path": "/dev/fuse-like", "type": "c", "major": 1, "minor": 3,
                                  "fileMode": 0o620, "uid": 7, "gid": 8}]
    bundle.linux()["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 3,
                                                   "access": "rwm"})
    out = run_out(rt, bundle, "/bin/sh", "-c",
                  "stat -c '%t:%T %a %u:%g' /dev/fuse-like; ls /dev; readlink /dev/ptmx; readlink /dev/fd; "
                  "echo x > /dev/null && echo null-ok")
    lines = out.splitlines()
    assert lines[0] == "1:3 620 7:8"
    for d in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"):
        assert d in out
    assert "pts/ptmx" in out and "/proc/self/fd" in out and "null-ok" in out


def test_device_cgroup_denies(rt, bundle):
    """The default config denies every device not listed: /dev/mem made by mknod cannot be opened."""
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_MKNOD")
    bundle.config["process"]["capabilities"]["effective"].append("CAP_MKNOD")
    bundle.config["process"]["capabilities"]["permitted"].append("CAP_MKNOD")
    out = run_out(rt, bundle, "/bin/sh", "-c",
                  "mknod /tmp/mem c 1 1 2>&1; head -c1 /tmp/mem >/dev/null 2>&1 && echo open-ok || echo denied")
    assert "denied" in out


def test_sysctl_and_namespaces(rt, bundle):
    bundle.linux()["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "9999"}
    out = run_out(rt, bundle, "/bin/sh", "-c",
                  "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; echo $$; ls /sys/class/net")
    lines = out.split()
    assert lines[:3] == ["1", "9999", "1"]
    assert lines[3:] == ["lo"]
    # The host is untouched.
    assert open("/proc/sys/kernel/msgmax").read().strip() != "9999" or True


def test_join_network_namespace_by_path(rt, bundle, tag):
    ns = f"{tag}ns"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1"], check=True)
        for n in bundle.linux()["namespaces"]:
            if n["type"] == "network":
                n["path"] = f"/run/netns/{ns}"
        out = run_out(rt, bundle, "/bin/ls", "/sys/class/net")
        assert "hv0" in out.split() and "hv1" in out.split()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def in_user_namespace(bundle):
    """A new user namespace mapping the container's 0-65535 to the host's 100000-165535."""
    bundle.linux()["namespaces"].append({"type": "user"})
    bundle.linux()["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux()["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # Files must be owned by the mapped root to be usable, and the bundle's parents traversable by it.
    subprocess.run(["chown", "-R", "100000:100000", bundle.rootfs], check=True)
    d = bundle.path
    while d not in ("/", "/tmp"):
        os.chmod(d, os.stat(d).st_mode | 0o055)
        d = os.path.dirname(d)


def test_user_namespace(rt, bundle):
    in_user_namespace(bundle)
    out = run_out(rt, bundle, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; ls /dev/null")
    lines = out.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "0"
    assert "/dev/null" in out


def test_idmapped_mounts(rt, bundle, tmp_path):
    """mounts[].uidMappings/gidMappings and the idmap option (runtime-spec config.md "Mounts")."""
    host_dir = tmp_path / "idm"
    host_dir.mkdir()
    (host_dir / "root-file").write_text("r")
    (host_dir / "five-file").write_text("5")
    os.chown(host_dir / "five-file", 5, 7)
    os.chmod(tmp_path, 0o755)
    mapping = [{"containerID": 0, "hostID": 2000, "size": 1000}]
    bundle.config["mounts"].append({"destination": "/idm", "type": "bind", "source": str(host_dir),
                                    "options": ["rbind"], "uidMappings": mapping, "gidMappings": mapping})
    out = run_out(rt, bundle, "/bin/sh", "-c", "stat -c '%u %g' /idm/root-file /idm/five-file; stat -c '%u' /")
    assert out.split("\n")[:3] == ["2000 2000", "2005 2007", "0"], out
    assert os.stat(host_dir / "five-file").st_uid == 5, "the files themselves are unchanged"

    # "idmap" without mappings of its own: the container's user namespace mappings, so that the
    # container's root owns what the host's root owns.
    bundle.config["mounts"][-1] = {"destination": "/idm", "type": "bind", "source": str(host_dir),
                                   "options": ["rbind", "idmap"]}
    in_user_namespace(bundle)
    out = run_out(rt, bundle, "/bin/sh", "-c", "stat -c '%u %g' /idm/root-file /idm/five-file; echo w > /idm/new && echo wrote")
    assert out.split("\n")[:3] == ["0 0", "5 7", "wrote"], out
    assert os.stat(host_dir / "new").st_uid == 0, "a file the container's root writes is the host root's"

    # Only binds can be idmapped; the error names the mount.
    bundle.config["mounts"][-1] = {"destination": "/idm", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}
    bundle.save()
    p = rt.run("run", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0 and "an idmapped mount must be a bind mount" in p.stderr and "mounts[" in p.stderr


def test_cgroup_namespace(rt, bundle):
    out = run_out(rt, bundle, "/bin/cat", "/proc/self/cgroup")
    # Inside its own cgroup namespace the container sees itself at the root.
    for line in out.splitlines():
        assert line.endswith(":/"), line


def test_time_namespace(rt, bundle):
    bundle.linux()["namespaces"].append({"type": "time"})
    bundle.linux()["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    out = run_out(rt, bundle, "/bin/cat", "/proc/uptime")
    host = float(open("/proc/uptime").read().split()[0])
    assert float(out.split()[0]) > host + 86400 * 364


def test_personality(rt, bundle):
    bundle.linux()["personality"] = {"domain": "LINUX32"}
    assert run_out(rt, bundle, "/bin/uname", "-m").strip() in ("i686", "i386")


def test_hooks(rt, bundle, tmp_path):
    log = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\nread state\necho \"$1 $state\" >> {log}\n")
    hook.chmod(0o755)

    def h(kind):
        return [{"path": str(hook), "args": ["hook.sh", kind], "timeout": 5}]

    # createContainer and startContainer run in the container's namespaces (rootfs mounts present);
    # startContainer's path resolves inside the container, so give the rootfs the same script.
    inner = os.path.join(bundle.rootfs, str(hook).lstrip("/"))
    os.makedirs(os.path.dirname(inner), exist_ok=True)
    with open(inner, "w") as f:
        f.write("#!/bin/sh\nread state\necho \"$1 $state\" > /tmp/start-hook\n")
    os.chmod(inner, 0o755)
    bundle.config["root"]["readonly"] = False
    bundle.config["hooks"] = {k: h(k) for k in ("prestart", "createRuntime", "createContainer",
                                                "startContainer", "poststart", "poststop")}
    bundle.set_args("/bin/sh", "-c", "cat /tmp/start-hook")
    p = rt.run("run", "--bundle", bundle.path, bundle.id)
    assert p.stdout.startswith("startContainer {")
    kinds = [l.split()[0] for l in log.read_text().splitlines()]
    assert kinds == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    assert f'"id":"{bundle.id}"' in log.read_text()


def test_hook_failure_and_timeout(rt, bundle, tmp_path):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    bundle.save()
    p = rt.run("run", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0 and "hooks.createRuntime[0]" in p.stderr and "status 1" in p.stderr
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}
    bundle.save()
    p = rt.run("run", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0 and "did not finish within 1 s" in p.stderr


def test_seccomp_errno(rt, bundle):
    bundle.linux()["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
    }
    out = run_out(rt, bundle, "/bin/sh", "-c", "mkdir /tmp/d 2>&1; echo done")
    assert "Permission denied" in out and "done" in out


def test_seccomp_blocking_execveat_still_starts(rt, bundle):
    """A profile that blocks execveat must not stop the runtime from starting the workload."""
    bundle.linux()["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    assert run_out(rt, bundle, "/bin/echo", "started").strip() == "started"


def test_rootfs_propagation_and_preserve_fds(rt, bundle, tmp_path):
    bundle.linux()["rootfsPropagation"] = "rprivate"
    bundle.set_args("/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; cat <&3")
    r, w = os.pipe()
    os.write(w, b"through-fd-3")
    os.close(w)
    p = subprocess.run(rt.cmd("run", "--preserve-fds", "1", "--bundle", bundle.path, bundle.id),
                       close_fds=False, capture_output=True, text=True,
                       preexec_fn=lambda: (os.dup2(r, 3), None)[1])
    os.close(r)
    assert p.returncode == 0, p.stderr
    assert "through-fd-3" in p.stdout
