"""Fixtures that run real clients of hull-runtime: podman (through conmon) and containerd (through
its runc shim, containerd-shim-runc-v2), each with state of its own so that a test never touches
the machine's podman or containerd and several test runs can share the machine.

What the clients leave on their own, and what the fixtures do about it (hull-runtime never mounts
in the host's mount namespace, so no host mount can be hull's):
  - podman puts conmon in the cgroup <cgroup-parent>/conmon and never removes it nor the parent:
    the fixture removes both (rmdir only: a container cgroup left below them stays and is
    reported by the leak check).
  - podman 4.3 does not pass --runtime-flag to `state` nor to the cleanup process conmon starts
    when a container exits, so hull-runtime must keep its state in its default root
    (/run/hull-runtime) for podman; the fixture fails the test when a container of its private
    storage is still recorded there afterwards.
  - containerd's shim listens on /run/containerd/s/<sha256 of address/namespace/id> (a path fixed
    in containerd 1.6); the fixture checks that the sockets of its containers are gone.
  - the cgroup parent of a containerd namespace (cgroupsPath /<namespace>/<id>) outlives the
    container that created it when another container of the namespace still used it (runc never
    removes parents): the fixture removes the namespace's parent.
Mounts a client leaves under its private directories (podman's shm, containerd's rootfs) are
unmounted and named on stderr.
"""
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

import hulltest as top
from clienttest import reap

HULL_DEFAULT_ROOT = "/run/hull-runtime"
# This machine's root lacks CAP_SYS_RESOURCE and has a hard RLIMIT_NOFILE of 20000, while podman
# asks for 1048576 by default (see ../shared/MACHINE.md and docs/runtime.md).
PODMAN_RUN_OPTS = ["--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def runtime_path():
    return top.binary("hull-runtime")


def need(*cmds):
    for c in cmds:
        if not top.have_cmd(c):
            pytest.skip(f"{c} is not installed (Debian packages podman, conmon, containerd)")


def run_to_files(cmd, env=None, timeout=60, input=None, check=True, what=None):
    """Run cmd with stdout/stderr in files: a container started detached inherits stdio and would
    keep pipes open."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(cmd, stdout=out, stderr=err, env=env, timeout=timeout,
                           input=input.encode() if isinstance(input, str) else input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        p.stdout = out.read().decode(errors="replace")
        p.stderr = err.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise AssertionError(f"{what or cmd[0]} {' '.join(map(str, cmd[1:]))} failed ({p.returncode}):\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def host_mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def unmount_client_leftovers(base, client):
    for mp in sorted(host_mounts_under(base), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)
        print(f"note: {client} left a mount on {mp}; unmounted by the fixture", file=sys.stderr)


def wait_cgroup_empty(rel, timeout=10):
    """Wait until no process is left in cgroup rel (conmon exits on its own after podman rm), reaping
    what was reparented to this test process (a child subreaper, see hulltest.py) meanwhile."""
    procs = [os.path.join("/sys/fs/cgroup", h, rel.lstrip("/"), "cgroup.procs")
             for h in os.listdir("/sys/fs/cgroup")]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        busy = False
        for f in procs:
            try:
                with open(f) as fh:
                    busy |= bool(fh.read().strip())
            except OSError:
                pass
        if not busy:
            return
        time.sleep(0.05)


def rmdir_cgroup(rel):
    """rmdir /sys/fs/cgroup/<hierarchy>/<rel> in every hierarchy; a non-empty one stays.

    A directory of /sys/fs/cgroup that is no mount point (left by someone who mounted a hierarchy
    there and unmounted it, while the kernel still lists it in /proc/self/cgroup) gets plain
    directories and files from podman's cgroup library: those go entirely."""
    base = "/sys/fs/cgroup"
    for h in os.listdir(base):
        top_dir = os.path.join(base, h)
        p = os.path.join(top_dir, rel.lstrip("/"))
        if os.path.islink(top_dir) or not os.path.isdir(p):
            continue
        if not os.path.ismount(top_dir):
            shutil.rmtree(p, ignore_errors=True)
            continue
        try:
            os.rmdir(p)
        except OSError:
            pass


# ---------------------------------------------------------------- images

def build_busybox_tars(d):
    """Write busybox-rootfs.tar and busybox-docker.tar of assets/busybox-rootfs into directory d."""
    src = os.path.join(top.ASSETS, "busybox-rootfs")
    if not os.path.isdir(src):
        pytest.skip("assets/busybox-rootfs missing: run scripts/prepare-assets")
    rootfs_tar = os.path.join(d, "busybox-rootfs.tar")
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.add(src, arcname=".")
    layer = layer.getvalue()
    with open(rootfs_tar, "wb") as f:
        f.write(layer)
    docker_tar = os.path.join(d, "busybox-docker.tar")
    write_docker_archive(docker_tar, layer, Containerd.IMAGE)
    return rootfs_tar, docker_tar


@pytest.fixture(scope="session")
def busybox_tars(tmp_path_factory):
    """(rootfs.tar for podman import, docker-archive for ctr images import), once per session."""
    return build_busybox_tars(str(tmp_path_factory.mktemp("images")))


def write_docker_archive(path, layer, ref):
    """A `docker save` archive (manifest.json, config, one layer) of an uncompressed layer tar."""
    diff_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created_by": "hull tests: busybox-static rootfs"}],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": [diff_id + "/layer.tar"]}])
    with tarfile.open(path, "w") as t:
        for name, data in ((config_name, config), (diff_id + "/layer.tar", layer),
                           ("manifest.json", manifest.encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))


# ---------------------------------------------------------------- podman

class Podman:
    IMAGE = "localhost/hull/busybox:latest"

    def __init__(self, base, tag):
        self.base = base
        self.tag = tag
        self.runtime = runtime_path()
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "runroot")
        self.tmpdir = os.path.join(base, "tmp")
        self.cgroup_parent = f"/{tag}-podman"
        for d in (self.root, self.runroot, self.tmpdir):
            os.mkdir(d, 0o700)
        conf = os.path.join(base, "containers.conf")
        with open(conf, "w") as f:
            # runtime_supports_json: podman passes --log-format=json --log FILE only to the runtimes
            # named here (by the base name of --runtime), and reads their errors from that file.
            f.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nlock_type = "file"\n'
                    'runtime_supports_json = ["crun", "runc", "hull-runtime"]\n')
        storage = os.path.join(base, "storage.conf")
        with open(storage, "w") as f:
            f.write(f'[storage]\ndriver = "vfs"\nrunroot = "{self.runroot}"\ngraphroot = "{self.root}"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)

    def cmd(self, *args):
        return ["podman", "--root", self.root, "--runroot", self.runroot, "--tmpdir", self.tmpdir,
                "--cgroup-manager=cgroupfs", "--events-backend=file", "--runtime", self.runtime] + list(args)

    def __call__(self, *args, check=True, timeout=60, input=None):
        return run_to_files(self.cmd(*map(str, args)), env=self.env, timeout=timeout, input=input,
                            check=check, what="podman")

    def run_opts(self):
        """Options every `podman run`/`create` of these tests takes."""
        return PODMAN_RUN_OPTS + ["--cgroup-parent", self.cgroup_parent]

    def hull_states(self):
        """hull-runtime state directories of this podman's containers (under hull's default root)."""
        out = []
        try:
            ids = os.listdir(HULL_DEFAULT_ROOT)
        except OSError:
            return out
        for cid in ids:
            try:
                with open(os.path.join(HULL_DEFAULT_ROOT, cid, "state.json")) as f:
                    st = json.load(f)
            except (OSError, ValueError):
                continue
            if st.get("bundle", "").startswith(self.root + "/"):
                out.append(cid)
        return out

    def teardown(self):
        self("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
        # conmon, and the `podman container cleanup` it starts when a container exits, run in
        # <cgroup-parent>/conmon: once that is empty, podman is done with hull-runtime.
        wait_cgroup_empty(self.cgroup_parent + "/conmon")
        leaked = self.hull_states()
        for cid in leaked:
            subprocess.run([self.runtime, "delete", "--force", cid], capture_output=True)
        unmount_client_leftovers(self.base, "podman")
        rmdir_cgroup(self.cgroup_parent + "/conmon")
        rmdir_cgroup(self.cgroup_parent)
        shutil.rmtree(self.base, ignore_errors=True)
        return leaked


@pytest.fixture
def podman(tag, leak_check, busybox_tars):
    need("podman", "conmon")
    base = tempfile.mkdtemp(prefix=f"{tag}-podman-", dir="/tmp")
    p = Podman(base, tag)
    try:
        p("import", "--change", "CMD=/bin/sh", busybox_tars[0], Podman.IMAGE, timeout=120)
        yield p
    finally:
        leaked = p.teardown()
    if leaked:
        pytest.fail(f"podman fixture: hull-runtime state left in {HULL_DEFAULT_ROOT} for "
                    f"{', '.join(leaked)}", pytrace=False)


# ---------------------------------------------------------------- containerd

class Containerd:
    IMAGE = "docker.io/hull/busybox:latest"

    def __init__(self, base, tag):
        self.base = base
        self.ns = tag
        self.runtime = runtime_path()
        self.address = os.path.join(base, "containerd.sock")
        self.runc_root = os.path.join(base, "runc")
        self.fifo_dir = os.path.join(base, "fifo")
        self.log_path = os.path.join(base, "containerd.log")
        self.ids = set()
        self.proc = None
        os.mkdir(self.fifo_dir, 0o700)
        os.mkdir(self.runc_root, 0o700)
        self.config = os.path.join(base, "config.toml")
        with open(self.config, "w") as f:
            f.write(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{self.address}"
[ttrpc]
  address = "{self.address}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
''')

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["containerd", "--config", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.address) and self("version", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.05)
        with open(self.log_path) as f:
            tail = f.read()[-3000:]
        raise AssertionError(f"containerd did not start:\n{tail}")

    def cmd(self, *args):
        return ["ctr", "--address", self.address, "--namespace", self.ns] + list(args)

    def __call__(self, *args, check=True, timeout=60, input=None):
        return run_to_files(self.cmd(*map(str, args)), timeout=timeout, input=input, check=check, what="ctr")

    def run_opts(self, cid):
        """Options of `ctr run` that make the shim use hull-runtime, with private state and fifos."""
        self.ids.add(cid)
        return ["--runc-binary", self.runtime, "--runc-root", self.runc_root, "--fifo-dir", self.fifo_dir]

    def exec_opts(self, exec_id):
        return ["--exec-id", exec_id, "--fifo-dir", self.fifo_dir]

    def hull_state(self, cid):
        """hull-runtime's state directory for cid: the shim passes --root <runc-root>/<namespace>."""
        return os.path.join(self.runc_root, self.ns, cid)

    def shim_socket(self, cid):
        return "/run/containerd/s/" + hashlib.sha256(f"{self.address}/{self.ns}/{cid}".encode()).hexdigest()

    def teardown(self):
        if self.proc and self.proc.poll() is None:
            for cid in self("task", "ls", "--quiet", check=False).stdout.split():
                self("task", "kill", "--signal", "SIGKILL", cid, check=False)
                self("task", "delete", "--force", cid, check=False)
            for cid in self("container", "ls", "--quiet", check=False).stdout.split():
                self("container", "delete", cid, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        problems = [f"containerd shim socket left: {s}" for s in map(self.shim_socket, sorted(self.ids))
                    if os.path.exists(s)]
        unmount_client_leftovers(self.base, "containerd")
        rmdir_cgroup("/" + self.ns)
        # hull-runtime's --root (made by the first create) holds nothing but the seccomp cache once
        # every container was deleted.
        shutil.rmtree(os.path.join(self.runc_root, self.ns, ".seccomp-cache"), ignore_errors=True)
        problems += [f"hull-runtime state file left: {f}" for f in top._files_under([self.runc_root])
                     if f != os.path.join(self.runc_root, self.ns)]
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


@pytest.fixture
def containerd(tag, leak_check, busybox_tars):
    need("containerd", "ctr", "containerd-shim-runc-v2")
    base = tempfile.mkdtemp(prefix=f"{tag}-ctrd-", dir="/tmp")
    c = Containerd(base, tag)
    try:
        c.start()
        c("images", "import", busybox_tars[1], timeout=120)
        yield c
    finally:
        problems = c.teardown()
    if problems:
        pytest.fail("containerd fixture: " + "; ".join(problems), pytrace=False)
