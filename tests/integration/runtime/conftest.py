"""Fixtures for hull-runtime tests: the binary, a state root, and busybox bundles."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import hulltest as top

RUNTIME = None


def runtime_path():
    global RUNTIME
    if RUNTIME is None:
        RUNTIME = top.binary("hull-runtime")
    return RUNTIME


class Runtime:
    """Runs hull-runtime with a private --root that the leak check watches."""

    def __init__(self, root, tag):
        self.root = root
        self.tag = tag
        self.path = runtime_path()

    def cmd(self, *args, log=None, log_format=None):
        c = [self.path, "--root", self.root]
        if log:
            c += ["--log", log]
        if log_format:
            c += ["--log-format", log_format]
        return c + [str(a) for a in args]

    def run(self, *args, check=True, timeout=60, input=None, log=None, log_format=None, **kw):
        """Run to completion. Output goes through files, not pipes: a container started by
        `create` or `run -d` inherits the runtime's stdio and would hold pipes open."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(self.cmd(*args, log=log, log_format=log_format), stdout=out, stderr=err,
                               timeout=timeout, input=input.encode() if isinstance(input, str) else input,
                               stdin=None if input is not None else subprocess.DEVNULL, **kw)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"hull-runtime {' '.join(map(str, args))} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def state(self, cid):
        return json.loads(self.run("state", cid).stdout)

    def cleanup(self):
        """Delete whatever a failed test left (the leak check still reports it)."""
        if not os.path.isdir(self.root):
            return
        for cid in os.listdir(self.root):
            if os.path.isdir(os.path.join(self.root, cid)) and not cid.startswith("."):
                subprocess.run(self.cmd("delete", "--force", cid), capture_output=True)
        cache = os.path.join(self.root, ".seccomp-cache")
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture
def rt(tmp_path, tag, leak_check):
    root = str(tmp_path / "state")
    os.mkdir(root)
    r = Runtime(root, tag)
    leak_check.watch_dir(root)
    yield r
    r.cleanup()
    # The seccomp and cgroup layout caches are shared state by design; they are not leaks.
    shutil.rmtree(os.path.join(root, ".seccomp-cache"), ignore_errors=True)
    if os.path.exists(os.path.join(root, ".cgroup-layout")):
        os.unlink(os.path.join(root, ".cgroup-layout"))


class Bundle:
    def __init__(self, path, tag):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        self.config_path = os.path.join(path, "config.json")
        self.id = tag
        with open(self.config_path) as f:
            self.config = json.load(f)

    def save(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)

    def set_args(self, *args, terminal=False):
        self.config["process"]["args"] = list(args)
        self.config["process"]["terminal"] = terminal
        self.save()

    def linux(self):
        return self.config.setdefault("linux", {})


def make_bundle(tmp_path, tag, name="bundle"):
    path = tmp_path / name
    path.mkdir()
    src = os.path.join(top.ASSETS, "busybox-rootfs")
    if not os.path.isdir(src):
        pytest.skip("assets/busybox-rootfs missing: run scripts/prepare-assets")
    subprocess.run(["cp", "-a", src, str(path / "rootfs")], check=True)
    subprocess.run([runtime_path(), "spec", "--bundle", str(path)], check=True)
    b = Bundle(str(path), tag)
    b.set_args("/bin/true")
    return b


@pytest.fixture
def bundle(tmp_path, tag):
    return make_bundle(tmp_path, tag)
