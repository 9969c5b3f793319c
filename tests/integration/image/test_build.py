"""hull build: every Dockerfile instruction, multi-stage builds, the layer cache, .dockerignore, errors
that leave the store as it was, and killed or interrupted builds that leave nothing behind.

Images are checked through the store itself: `hull inspect` gives the config and the unpacked layer
directories, and ImageTree reads a path through those layers as overlay would (whiteouts and opaque
directories). Whether a RUN step ran is told by a wrapper around hull-runtime ($HULL_RUNTIME) that
logs every `run` before it execs the real runtime.
"""
import json
import os
import signal
import stat
import subprocess
import tarfile
import threading
import time

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull  # noqa: F401

pytestmark = ROOT_ONLY

RUNTIME = os.path.join(iu.BUILD, "cmd", "hull-runtime", "hull-runtime")


# ---------------------------------------------------------------- helpers

@pytest.fixture
def store(hull, busybox, leak_check):
    """The private store with busybox as bb:1; build directories must be gone after every test."""
    leak_check.watch_dir(os.path.join(hull.root, "build"))
    return hull


@pytest.fixture
def runlog(tmp_path):
    """(env, count): run builds with env to log hull-runtime's `run` calls; count() reads the log."""
    log = tmp_path / "runtime.log"
    wrapper = tmp_path / "runtime-wrapper"
    wrapper.write_text(f'#!/bin/sh\ncase " $* " in *" run "*) echo "$*" >> {log} ;; esac\nexec {RUNTIME} "$@"\n')
    wrapper.chmod(0o755)

    def count():
        return len(log.read_text().splitlines()) if log.exists() else 0
    return {"HULL_RUNTIME": str(wrapper)}, count


def context(tmp_path, files, name="ctx"):
    """A build context: {relative path: text or bytes or (content, mode)}."""
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    for rel, content in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        mode = None
        if isinstance(content, tuple):
            content, mode = content
        if isinstance(content, str):
            content = content.encode()
        p.write_bytes(content)
        if mode is not None:
            p.chmod(mode)
    return str(d)


def build(h, ctx, *args, env=None, check=True):
    p = h.run("build", *args, ctx, env=env, check=check)
    if check:
        p.id = "sha256:" + p.out.strip().splitlines()[-1]
    return p


def inspect(h, ref):
    return json.loads(h.run("inspect", ref).out)[0]


class ImageTree:
    """Read paths of an image through its unpacked layers, topmost first, as overlay does."""

    def __init__(self, h, ref):
        self.layers = [l["Path"] for l in inspect(h, ref)["Layers"]][::-1]

    def _find(self, path):
        parts = path.strip("/").split("/")
        for layer in self.layers:
            for i in range(1, len(parts)):
                d = os.path.join(layer, *parts[:i])
                if _is_whiteout(d):
                    return None
                if os.path.isdir(d) and not os.path.islink(d) and _opaque(d) and \
                        not os.path.lexists(os.path.join(layer, *parts)):
                    return None
            p = os.path.join(layer, *parts)
            if os.path.lexists(p):
                return None if _is_whiteout(p) else p
        return None

    def exists(self, path):
        return self._find(path) is not None

    def stat(self, path):
        p = self._find(path)
        assert p, f"{path} is not in the image"
        return os.lstat(p)

    def read(self, path):
        p = self._find(path)
        assert p, f"{path} is not in the image"
        with open(p, "rb") as f:
            return f.read().decode()

    def readlink(self, path):
        return os.readlink(self._find(path))


def _is_whiteout(p):
    try:
        st = os.lstat(p)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(d):
    try:
        return os.getxattr(d, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def error_line(p):
    """The one error line of a failed build (the rest of stderr is progress and RUN output)."""
    assert p.returncode == 125, f"expected 125, got {p.returncode}: {p.err}"
    lines = [l for l in p.err.splitlines() if l.startswith("hull: ") and not l.startswith("hull: warning")]
    assert len(lines) == 1, p.err
    return lines[0]


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if path in l]


# ---------------------------------------------------------------- instructions

def test_every_instruction(store, tmp_path):
    ctx = context(tmp_path, {
        "Dockerfile": """# a comment
FROM bb:1
MAINTAINER someone@example.com
ENV GREETING=hello NAME="big world"
ENV OLD_STYLE value with spaces
LABEL org.example.title="my app" version=1.0
ARG SUFFIX=.txt
WORKDIR /srv
WORKDIR app
COPY hello${SUFFIX} ./
ADD data.tar /unpacked/
RUN echo "$GREETING $NAME" > greeting && echo "$OLD_STYLE" >> greeting && pwd > where
USER nobody
RUN id -u > /tmp/uid
USER root
EXPOSE 80 8000-8002/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=10s --timeout=3s --start-period=1s --retries=4 CMD wget -q -O- localhost || exit 1
SHELL ["/bin/sh", "-ec"]
RUN echo "shell $0" > /shell-used
ENTRYPOINT ["/bin/echo"]
CMD ["hi"]
""",
        "hello.txt": "hello file\n",
    })
    iu.write_tar(os.path.join(ctx, "data.tar"), [(iu.tarinfo("inner.txt"), b"from tar\n")])
    p = build(store, ctx, "-t", "every:1")
    assert "STEP 1/22: FROM bb:1" in p.err and "STEP 22/22: CMD [\"hi\"]" in p.err
    img = inspect(store, "every:1")
    cfg = img["Config"]
    assert img["Author"] == "someone@example.com"
    assert "GREETING=hello" in cfg["Env"] and "NAME=big world" in cfg["Env"]
    assert "OLD_STYLE=value with spaces" in cfg["Env"]
    assert not any(e.startswith("SUFFIX=") for e in cfg["Env"]), "ARG values are not persisted"
    assert cfg["Labels"] == {"org.example.title": "my app", "version": "1.0"}
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "root"
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "8000/udp", "8001/udp", "8002/udp"}
    assert set(cfg["Volumes"]) == {"/data", "/cache"}
    assert cfg["StopSignal"] == "SIGINT"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "Interval": 10 ** 10,
                                  "Timeout": 3 * 10 ** 9, "StartPeriod": 10 ** 9, "Retries": 4}
    assert cfg["Shell"] == ["/bin/sh", "-ec"]
    assert cfg["Entrypoint"] == ["/bin/echo"] and cfg["Cmd"] == ["hi"]
    t = ImageTree(store, "every:1")
    assert t.read("/srv/app/hello.txt") == "hello file\n"
    assert t.read("/unpacked/inner.txt") == "from tar\n"
    assert t.read("/srv/app/greeting") == "hello big world\nvalue with spaces\n"
    assert t.read("/srv/app/where") == "/srv/app\n"
    assert t.read("/tmp/uid") == "65534\n"
    assert t.read("/shell-used") == "shell /bin/sh\n"
    # history: one entry per instruction but ARG; layers only where files changed
    hist = img["History"]
    by = [h["created_by"] for h in hist[1:]]
    assert by[0] == "MAINTAINER someone@example.com"
    assert "RUN /bin/sh -c id -u > /tmp/uid" in by
    assert "RUN /bin/sh -ec echo \"shell $0\" > /shell-used" in by
    assert len(by) == 20
    assert len(img["RootFS"]["diff_ids"]) == 1 + sum(1 for h in hist[1:] if not h.get("empty_layer"))
    empty = {h["created_by"].split()[0] for h in hist[1:] if h.get("empty_layer")}
    assert empty == {"MAINTAINER", "ENV", "LABEL", "USER", "EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK",
                     "SHELL", "ENTRYPOINT", "CMD"}
    # hull history shows them newest first
    h = json.loads(store.run("history", "--format", "json", "every:1").out)
    assert h[0]["createdBy"] == 'CMD ["hi"]' and h[-1]["createdBy"] == "hull import"
    assert store.run("history", "every:1").out.splitlines()[0].split()[:3] == ["ID", "CREATED", "CREATED"]


def test_run_sees_user_workdir_env_and_args(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
RUN echo 'app:x:1500:1600:App:/home/app:/bin/sh' >> /etc/passwd && \\
    echo 'appgrp:x:1600:' >> /etc/group && echo 'extra:x:1700:app' >> /etc/group && \\
    mkdir -p /home/app && chown 1500:1600 /home/app
ARG LEVEL=3
ENV MODE=prod
USER app
WORKDIR /home/app/proj
RUN id > ids && echo "$HOME $MODE $LEVEL" > env && ls -ld . > perms
"""})
    build(store, ctx, "-t", "users:1")
    t = ImageTree(store, "users:1")
    ids = t.read("/home/app/proj/ids")
    assert ids.startswith("uid=1500(app) gid=1600(appgrp) groups=") and "1700(extra)" in ids
    assert t.read("/home/app/proj/env") == "/home/app prod 3\n"
    # WORKDIR made the directory for the USER in effect (as BuildKit does), so that the RUN could write there
    assert (t.stat("/home/app/proj").st_uid, t.stat("/home/app/proj").st_gid) == (1500, 1600)


def test_quotes_and_expansion_in_env_label_arg(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
ARG Q='$HOME'
ENV A="a\\"b" B='$HOME' C=$A D="x y"
ENV LEGACY  has "quotes" and $A
LABEL "quoted key"="v v" plain=$D
RUN echo "$Q|$A|$B|$C|$D|$LEGACY" > /out
"""})
    build(store, ctx, "-t", "kv:1")
    cfg = inspect(store, "kv:1")["Config"]
    # Single quotes keep '$', an ENV's values see the variables from before it (C), legacy ENV takes the line.
    assert cfg["Env"] == ['A=a"b', "B=$HOME", "C=", "D=x y", 'LEGACY=has quotes and a"b']
    assert cfg["Labels"] == {"quoted key": "v v", "plain": "x y"}
    assert ImageTree(store, "kv:1").read("/out") == '$HOME|a"b|$HOME||x y|has quotes and a"b\n'


def test_shell_and_exec_forms(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
ENV WHO=world
RUN ["/bin/sh", "-c", "echo exec $WHO > /exec"]
RUN echo shell $WHO > /shell
CMD echo $WHO
"""})
    build(store, ctx, "-t", "forms:1")
    t = ImageTree(store, "forms:1")
    assert t.read("/exec") == "exec world\n" and t.read("/shell") == "shell world\n"
    assert inspect(store, "forms:1")["Config"]["Cmd"] == ["/bin/sh", "-c", "echo $WHO"]


def test_entrypoint_resets_inherited_cmd(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nENTRYPOINT [\"/bin/date\"]\n"})
    build(store, ctx, "-t", "ep:1")
    cfg = inspect(store, "ep:1")["Config"]
    assert cfg["Entrypoint"] == ["/bin/date"] and "Cmd" not in cfg


def test_scratch_image_and_mount_points_left_out(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "true"]
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox echo made > /made"]
""", "busybox": (open("/bin/busybox", "rb").read(), 0o755)})
    p = build(store, ctx, "-t", "tiny:1")
    img = inspect(store, "tiny:1")
    # COPY and the second RUN make layers; RUN true makes none, and neither leaves /proc, /etc/hosts...
    assert len(img["RootFS"]["diff_ids"]) == 2
    t = ImageTree(store, "tiny:1")
    assert t.read("/made") == "made\n"
    for p in ("/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", "/etc"):
        assert not t.exists(p), p
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in img["Config"]["Env"]


# ---------------------------------------------------------------- COPY and ADD

def test_copy_semantics(store, tmp_path):
    files = {
        "Dockerfile": """FROM bb:1
COPY dir /copied/
COPY dir /copied-again
COPY one.txt /renamed.txt
COPY one.txt /into/
COPY *.md /docs/
COPY sub/*/leaf.txt /leaves/
COPY link-to-one /followed.txt
COPY dir/link /links/
COPY --chmod=600 one.txt /private
COPY exe /usr/local/bin/
""",
        "dir/a.txt": "a\n",
        "dir/nested/b.txt": "b\n",
        "one.txt": "one\n",
        "x.md": "x\n",
        "y.md": "y\n",
        "sub/p/leaf.txt": "p\n",
        "exe": ("#!/bin/sh\n", 0o755),
    }
    ctx = context(tmp_path, files)
    os.symlink("one.txt", os.path.join(ctx, "link-to-one"))
    os.symlink("../one.txt", os.path.join(ctx, "dir", "link"))
    os.link(os.path.join(ctx, "dir", "a.txt"), os.path.join(ctx, "dir", "hard"))
    os.utime(os.path.join(ctx, "one.txt"), (1600000000, 1600000000))
    build(store, ctx, "-t", "copy:1")
    t = ImageTree(store, "copy:1")
    assert t.read("/copied/a.txt") == "a\n" and t.read("/copied/nested/b.txt") == "b\n"
    assert not t.exists("/copied/dir"), "a directory source copies its contents"
    assert t.read("/copied-again/a.txt") == "a\n"
    assert t.read("/renamed.txt") == "one\n" and t.read("/into/one.txt") == "one\n"
    assert t.read("/docs/x.md") == "x\n" and t.read("/docs/y.md") == "y\n"
    assert t.read("/leaves/leaf.txt") == "p\n"
    assert t.read("/followed.txt") == "one\n", "a symlink named as source is followed"
    assert t.readlink("/copied/link") == "../one.txt", "symlinks inside a source stay links"
    assert t.read("/links/link") == "one\n", "a symlink named as source is followed, inside the context"
    a, hard = t.stat("/copied/a.txt"), t.stat("/copied/hard")
    assert a.st_ino == hard.st_ino, "hardlinks within one copy are kept"
    st = t.stat("/renamed.txt")
    assert st.st_mtime == 1600000000 and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644
    assert stat.S_IMODE(t.stat("/private").st_mode) == 0o600
    assert stat.S_IMODE(t.stat("/usr/local/bin/exe").st_mode) == 0o755


def test_copy_chown_by_name_and_number(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
RUN echo 'web:x:33:33:w:/var/www:/bin/false' >> /etc/passwd && echo 'www-data:x:33:' >> /etc/group && \\
    echo 'staff:x:50:' >> /etc/group
COPY --chown=web:staff f /a/b/f1
COPY --chown=web f /f2
COPY --chown=1234:5678 f /f3
ADD --chown=web:www-data f.tar /t/
""", "f": "f\n"})
    iu.write_tar(os.path.join(ctx, "f.tar"), [(iu.tarinfo("in-tar"), b"t\n")])
    build(store, ctx, "-t", "chown:1")
    t = ImageTree(store, "chown:1")
    assert (t.stat("/a/b/f1").st_uid, t.stat("/a/b/f1").st_gid) == (33, 50)
    assert (t.stat("/a/b").st_uid, t.stat("/a").st_gid) == (33, 50), "directories made for the copy are chowned"
    assert (t.stat("/f2").st_uid, t.stat("/f2").st_gid) == (33, 33)
    assert (t.stat("/f3").st_uid, t.stat("/f3").st_gid) == (1234, 5678)
    assert (t.stat("/t/in-tar").st_uid, t.stat("/t/in-tar").st_gid) == (33, 33)
    p = store.run("build", "-q", "-f", "-", ctx, input=b"FROM bb:1\nCOPY --chown=nosuch f /f\n", check=False)
    assert error_line(p) == "hull: build: Dockerfile:2: COPY: --chown: no user 'nosuch' in the image's /etc/passwd"


def test_add_unpacks_archives(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
ADD plain.tar /plain
ADD gz.tar.gz /gz/
ADD bz.tbz /bz/
ADD xz.txz /xz/
ADD notatar.gz /files/
ADD keep.txt /files/
"""})
    entries = [(iu.tarinfo("dir", tarfile.DIRTYPE, mode=0o750), None), (iu.tarinfo("dir/f"), b"in archive\n"),
               (iu.tarinfo("dir/l", tarfile.SYMTYPE, linkname="f"), None)]
    entries[1][0].uid, entries[1][0].gid = 42, 43
    for name, mode in (("plain.tar", "w"), ("gz.tar.gz", "w:gz"), ("bz.tbz", "w:bz2"), ("xz.txz", "w:xz")):
        iu.write_tar(os.path.join(ctx, name), entries, mode)
    subprocess.run(["sh", "-c", f"echo not a tar | gzip > {ctx}/notatar.gz; echo keep > {ctx}/keep.txt"], check=True)
    build(store, ctx, "-t", "add:1")
    t = ImageTree(store, "add:1")
    for d in ("/plain", "/gz", "/bz", "/xz"):
        assert t.read(d + "/dir/f") == "in archive\n", d
        assert (t.stat(d + "/dir/f").st_uid, t.stat(d + "/dir/f").st_gid) == (42, 43), "owners from the tar"
        assert stat.S_IMODE(t.stat(d + "/dir").st_mode) == 0o750
        assert t.readlink(d + "/dir/l") == "f"
    assert t.exists("/files/notatar.gz") and t.read("/files/keep.txt") == "keep\n"


def test_add_refuses_urls_and_whiteouts(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nADD https://example.com/x.tgz /x/\n"})
    before = store.store_files()
    assert error_line(build(store, ctx, "-q", check=False)) == (
        "hull: build: Dockerfile:2: ADD 'https://example.com/x.tgz': sources from URLs are not supported "
        "(download them in a RUN step, or COPY a local file)")
    ctx2 = context(tmp_path, {"Dockerfile": "FROM bb:1\nADD evil.tar /\n"}, "ctx2")
    iu.write_tar(os.path.join(ctx2, "evil.tar"), [(iu.tarinfo("bin/.wh.busybox"), b"")])
    line = error_line(build(store, ctx2, "-q", check=False))
    assert "ADD 'evil.tar': the archive holds 'bin/.wh.busybox', a name reserved for layer whiteouts" in line
    assert store.store_files() == before


def test_dockerignore(store, tmp_path):
    ctx = context(tmp_path, {
        "Dockerfile": "FROM bb:1\nCOPY . /ctx/\n",
        ".dockerignore": "# build junk\nnode_modules\n*.log\n!keep.log\nsecret/**\n",
        "app.js": "js\n",
        "node_modules/dep/index.js": "dep\n",
        "debug.log": "log\n",
        "keep.log": "kept\n",
        "secret/a/key": "k\n",
        "src/secret": "not the secret dir\n",
    })
    build(store, ctx, "-t", "ign:1")
    t = ImageTree(store, "ign:1")
    assert t.read("/ctx/app.js") == "js\n" and t.read("/ctx/keep.log") == "kept\n"
    assert t.read("/ctx/src/secret") == "not the secret dir\n"
    for p in ("/ctx/node_modules", "/ctx/debug.log", "/ctx/secret/a/key"):
        assert not t.exists(p), p
    p = store.run("build", "-q", "-f", "-", ctx, input=b"FROM bb:1\nCOPY debug.log /\n", check=False)
    assert error_line(p) == \
        "hull: build: Dockerfile:2: COPY: 'debug.log' not found in the build context (excluded by .dockerignore)"


def test_copy_errors_name_the_line(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\n", "a": "a", "b": "b"})
    before = store.store_files()
    cases = {
        "COPY missing /x\n": "COPY: 'missing' not found in the build context",
        "COPY ../etc/passwd /x\n": "COPY: source '../etc/passwd' is outside the build context",
        "COPY nomatch* /x/\n": "COPY: no file in the build context matches 'nomatch*'",
        "COPY a b /x\n": "COPY: with more than one source file the destination must be a directory ending with "
                         "'/', got '/x'",
        "COPY --chmod=999 a /x\n": "COPY: --chmod: invalid mode '999' (octal, e.g. 755)",
        "COPY --from=localhost:1/nope:1 a /x\n": "COPY --from=localhost:1/nope:1: registry localhost:1:",
        "COPY --from=5 a /x\n": "COPY --from=5: no such stage before this one",
        "RUN --mount=type=cache,target=/x true\n": "RUN --mount is not supported",
        "EXPOSE 99999\n": "EXPOSE: invalid port '99999' (1-65535, a range like 8000-8010, optionally /tcp, "
                          "/udp or /sctp)",
        "STOPSIGNAL SIGNOPE\n": "STOPSIGNAL: invalid signal 'SIGNOPE'",
        "USER nosuchuser\nRUN true\n": "RUN: USER 'nosuchuser': no user 'nosuchuser' in the image's /etc/passwd",
    }
    for tail, msg in cases.items():
        p = store.run("build", "-q", "-f", "-", ctx, input=("FROM bb:1\n" + tail).encode(), check=False)
        line = error_line(p)
        assert line.startswith("hull: build: Dockerfile:"), line
        assert line.split(": ", 3)[3] == msg if tail.count("\n") == 1 and not msg.endswith(":") \
            else msg in line, (tail, line)
    # Nothing changed in the store but cache entries of steps that succeeded (none here: FROM only).
    assert store.store_files() == before


# ---------------------------------------------------------------- stages

def test_multistage_target_and_copy_from(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """ARG VARIANT=one
FROM bb:1 AS base
RUN echo base > /base.txt

FROM base AS builder
ARG VARIANT
RUN mkdir -p /out && echo "built $VARIANT" > /out/result && echo 'svc:x:700:700::/:/bin/false' >> /etc/passwd \\
    && chown 700:700 /out/result

FROM bb:1 AS unused
RUN echo this stage is never needed && false

FROM bb:1 AS final
COPY --from=builder /out /app/
COPY --from=0 /base.txt /from-index/
COPY --from=bb:1 /bin/busybox /from-image/busybox

FROM final AS after-target
RUN false
"""})
    p = build(store, ctx, "--target", "final", "--build-arg", "VARIANT=two", "-t", "ms:1")
    assert "[1/3] STEP 1/2: FROM bb:1 AS base" in p.err and "[3/3] STEP 4/4" in p.err
    assert "never needed" not in p.err and "RUN false" not in p.err
    t = ImageTree(store, "ms:1")
    assert t.read("/app/result") == "built two\n"
    assert (t.stat("/app/result").st_uid, t.stat("/app/result").st_gid) == (700, 700), "--from keeps owners"
    assert t.read("/from-index/base.txt") == "base\n"
    assert t.exists("/from-image/busybox") and not t.exists("/base.txt")
    assert "svc:x:700" not in t.read("/etc/passwd"), "only what was copied comes from another stage"
    # Only the target is named; intermediate stages are not tagged.
    assert [n for n in store.names() if "ms" in n or "base" in n or "builder" in n] == ["docker.io/library/ms:1"]
    # Without --target the last stage is built: its RUN false fails.
    assert "Dockerfile:19: RUN false: exit status 1" in error_line(build(store, ctx, "-q", check=False))
    assert error_line(build(store, ctx, "-q", "--target", "nope", check=False)) == \
        "hull: build: --target: no stage named 'nope' in the Dockerfile"


def test_build_args(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """ARG TAG=1
FROM bb:${TAG}
ARG TAG
ARG WHO=nobody
ARG FROMENV
RUN echo "$TAG $WHO ${FROMENV:-unset}" > /args
"""})
    p = build(store, ctx, "--build-arg", "WHO=alice", "--build-arg", "FROMENV", "--build-arg", "NEVER=1",
              "-t", "args:1", env={"FROMENV": "from-env"})
    assert ImageTree(store, "args:1").read("/args") == "1 alice from-env\n"
    assert "hull: warning: the build arg 'NEVER' was not consumed by any ARG" in p.err
    build(store, ctx, "-t", "args:2")
    assert ImageTree(store, "args:2").read("/args") == "1 nobody unset\n"
    # A base image the store lacks is pulled, from docker.io here.
    assert error_line(build(store, ctx, "-q", "--build-arg", "TAG=9", check=False)).startswith(
        "hull: build: Dockerfile:2: FROM bb:9: ")


# ---------------------------------------------------------------- cache

def test_cache_hit_runs_no_step(store, tmp_path, runlog):
    env, runs = runlog
    ctx = context(tmp_path, {"Dockerfile": """FROM bb:1
ARG V=1
COPY app.txt /app.txt
RUN echo "v$V" > /v && cat /app.txt
RUN echo second > /second
CMD ["cat", "/v"]
""", "app.txt": "app 1\n", "unrelated": "x"})
    first = build(store, ctx, "-t", "c:1", env=env)
    assert runs() == 2
    files = store.store_files()
    images = store.images()
    again = build(store, ctx, "-t", "c:1", env=env)
    assert runs() == 2, "an unchanged rebuild runs no RUN step"
    assert again.id == first.id
    assert again.err.count("--> Using cache") == 4
    assert store.store_files() == files and store.images() == images, "and creates nothing"
    # The cached steps' images are intermediate: listed with --all only, as podman does.
    listed = [i["Id"] for i in store.images()]
    every = json.loads(store.run("images", "-a", "--format", "json").out)
    assert len(every) > len(listed) and all(i["Names"] == [] for i in every if i["Id"] not in listed)
    # A file that is not copied changes nothing.
    (tmp_path / "ctx" / "unrelated").write_text("y")
    assert build(store, ctx, "-t", "c:1", env=env).id == first.id and runs() == 2
    # The copied file changes: COPY and what follows run again, what is before stays cached.
    (tmp_path / "ctx" / "app.txt").write_text("app 2\n")
    p = build(store, ctx, "-t", "c:2", env=env)
    assert runs() == 4 and p.err.count("--> Using cache") == 0 and "app 2" in p.err
    # A build arg changes only the steps that see it.
    p = build(store, ctx, "--build-arg", "V=2", "-t", "c:3", env=env)
    assert runs() == 6 and p.err.count("--> Using cache") == 1
    assert ImageTree(store, "c:3").read("/v") == "v2\n"
    # A mode change of a copied file is a change too.
    os.chmod(tmp_path / "ctx" / "app.txt", 0o600)
    build(store, ctx, "-t", "c:4", env=env)
    assert runs() == 8
    # --no-cache runs everything and still gives a working image.
    p = build(store, ctx, "--no-cache", "-t", "c:5", env=env)
    assert runs() == 10 and "Using cache" not in p.err
    # The cache survives the removal of the images it built; `image prune` clears it.
    store.run("rmi", "c:1", "c:2", "c:3", "c:4", "c:5")
    build(store, ctx, "-t", "c:6", env=env)
    assert runs() == 10
    store.run("rmi", "c:6")
    store.run("image", "prune")
    build(store, ctx, "-t", "c:7", env=env)
    assert runs() == 12


def test_cache_keys_follow_the_instruction_and_the_base(store, tmp_path, runlog):
    env, runs = runlog
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo a > /a\n"})
    build(store, ctx, "-t", "k:1", env=env)
    p = store.run("build", "-q", "-f", "-", ctx, input=b"FROM bb:1\nRUN echo b > /a\n", env=env)
    assert runs() == 2
    # Another base image: the same RUN runs again.
    store.run("tag", "k:1", "base2:1")
    store.run("build", "-q", "-f", "-", ctx, input=b"FROM base2:1\nRUN echo a > /a\n", env=env)
    assert runs() == 3
    # ENV changes the environment of the RUN after it.
    store.run("build", "-q", "-f", "-", ctx, input=b"FROM bb:1\nENV X=1\nRUN echo a > /a\n", env=env)
    assert runs() == 4
    assert p.returncode == 0


# ---------------------------------------------------------------- failures

def test_syntax_errors_give_the_line(store, tmp_path):
    before = store.store_files()
    cases = {
        "FROM bb:1\nRUN true\nRUNN false\n": "hull: build: Dockerfile:3: unknown instruction 'RUNN'",
        "FROM bb:1\n\n# c\nCOPY onlyone\n": "hull: build: Dockerfile:4: COPY needs at least one source and a "
                                           "destination",
        "RUN true\n": "hull: build: Dockerfile:1: the first instruction must be FROM (only ARG may come before "
                      "it), got RUN",
        "FROM bb:1\nONBUILD RUN x\n": "hull: build: Dockerfile:2: ONBUILD is not supported",
        "FROM bb:1\nENV $X=1\n": "hull: build: Dockerfile:2: ENV: invalid name ''",
        "FROM bb:1\nSHELL /bin/bash\n": "hull: build: Dockerfile:2: SHELL needs a JSON array of strings, e.g. "
                                        "[\"/bin/sh\", \"-c\"]",
    }
    for text, msg in cases.items():
        ctx = context(tmp_path, {"Dockerfile": text})
        assert error_line(build(store, ctx, "-q", check=False)) == msg
    assert store.store_files() == before
    assert os.listdir(os.path.join(store.root, "build")) == []


def test_failing_run_leaves_no_image_and_no_mount(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo partial > /p\nRUN echo about to fail; exit 3\n"})
    names = store.names()
    p = build(store, ctx, "-t", "broken:1", check=False)
    assert error_line(p) == "hull: build: Dockerfile:3: RUN echo about to fail; exit 3: exit status 3"
    assert "about to fail" in p.err
    # Quiet, a failure still shows what the failing step printed.
    p = build(store, ctx, "-q", "-t", "broken:1", check=False)
    assert p.err.splitlines() == ["about to fail", "hull: build: Dockerfile:3: RUN echo about to fail; exit 3: "
                                                   "exit status 3"]
    assert store.names() == names
    assert mounts_under(store.root) == []
    assert os.listdir(os.path.join(store.root, "build")) == []
    # A command that does not exist.
    p = store.run("build", "-f", "-", ctx, input=b"FROM bb:1\nRUN [\"/no/such/thing\"]\n", check=False)
    assert error_line(p) == "hull: build: Dockerfile:2: RUN [\"/no/such/thing\"]: exit status 1"
    assert "/no/such/thing" in p.err.splitlines()[-2], "the runtime says why"


def test_bad_input_leaves_the_store_unchanged(store, tmp_path):
    before = store.store_files()
    assert error_line(store.run("build", "-q", str(tmp_path / "nope"), check=False)).startswith(
        "hull: build: build context '" + str(tmp_path / "nope") + "': No such file or directory")
    ctx = context(tmp_path, {"x": "x"})
    assert error_line(store.run("build", "-q", ctx, check=False)).startswith(
        "hull: build: cannot read the Dockerfile '" + ctx + "/Dockerfile': No such file or directory")
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\n"}, "ok")
    assert error_line(store.run("build", "-q", "-t", "Bad:Name!", ctx, check=False)).startswith(
        "hull: build: --tag: invalid reference 'Bad:Name!'")
    assert error_line(store.run("build", "-q", "--build-arg", "=x", ctx, check=False)) == \
        "hull: build: --build-arg '=x': expected NAME=VALUE or NAME"
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\n", ".dockerignore": "[\n"}, "badignore")
    assert error_line(store.run("build", "-q", ctx, check=False)) == "hull: build: .dockerignore:1: bad pattern '['"
    assert store.store_files() == before


# ---------------------------------------------------------------- robustness

def _wait_for(cond, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _running_step(root):
    """The runtime state directories of build containers under root/build."""
    base = os.path.join(root, "build")
    out = []
    for d in os.listdir(base) if os.path.isdir(base) else []:
        rt = os.path.join(base, d, "runtime")
        if os.path.isdir(rt):
            out += [os.path.join(rt, c) for c in os.listdir(rt)]
    return out


def test_kill9_leaves_garbage_the_next_build_removes(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo started; sleep 60\n"})
    names = store.names()
    p = subprocess.Popen([iu.HULL, "--root", store.root, "build", "-t", "killed:1", ctx],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert _wait_for(lambda: _running_step(store.root)), "the RUN step did not start"
    time.sleep(0.3)
    p.kill()
    p.wait()
    assert mounts_under(store.root) == [], "the build's mounts died with its mount namespace"
    assert store.names() == names, "no half image"
    # The next build collects the dead one: its container, cgroup, directory.
    ok = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN true\n"}, "ok")
    build(store, ok, "-t", "after:1")
    assert os.listdir(os.path.join(store.root, "build")) == []
    assert "docker.io/library/killed:1" not in store.names()


def test_interrupt_stops_the_build(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo started; sleep 60\n"})
    p = subprocess.Popen([iu.HULL, "--root", store.root, "build", "-t", "int:1", ctx],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: _running_step(store.root)), "the RUN step did not start"
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 125 and "hull: build: interrupted" in err
    assert os.listdir(os.path.join(store.root, "build")) == []
    assert "docker.io/library/int:1" not in store.names()


def test_prune_during_a_build_is_reported(store, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo a > /a\nRUN sleep 2\nRUN echo b > /b\n"})
    p = subprocess.Popen([iu.HULL, "--root", store.root, "build", "-q", "-t", "pruned:1", ctx],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: any(c.endswith("-2") for c in _running_step(store.root))), "RUN sleep did not start"
    # The layer of RUN echo a is held by an unnamed image, which prune removes at once (its collection
    # waits for the build to end).
    store.run("image", "prune")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 125
    assert err.startswith("hull: build: Dockerfile:4: RUN: image sha256:") and \
        err.endswith(", which holds the layers so far, was removed during the build\n"), err
    assert mounts_under(store.root) == [] and os.listdir(os.path.join(store.root, "build")) == []


def test_parallel_builds(store, tmp_path):
    ctxs = [context(tmp_path, {"Dockerfile": f"FROM bb:1\nRUN echo {i} > /n && sleep 0.3\nCOPY f /f\n", "f": str(i)},
                    f"ctx{i}") for i in range(3)]
    procs = [subprocess.Popen([iu.HULL, "--root", store.root, "build", "-q", "-t", f"par:{i}", c],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, c in enumerate(ctxs)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    for i in range(3):
        t = ImageTree(store, f"par:{i}")
        assert t.read("/n") == f"{i}\n" and t.read("/f") == str(i)


# ---------------------------------------------------------------- output

def test_progress_on_a_terminal(store, tmp_path):
    import pty
    ctx = context(tmp_path, {"Dockerfile": "FROM bb:1\nRUN echo visible && sleep 0.5\n"})
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(iu.HULL, [iu.HULL, "--root", store.root, "build", "--no-cache", "-t", "tty:1", ctx])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode(errors="replace")
    assert "\x1b[1mSTEP 2/2: RUN echo visible && sleep 0.5\x1b[0m" in text
    assert "visible" in text and "\r\x1b[K" in text, "a status line with the elapsed time while the step runs"
    plain = build(store, ctx, "--no-cache", "-t", "tty:2")
    assert "\x1b" not in plain.err and "STEP 2/2: RUN echo visible && sleep 0.5\nvisible\nCOMMIT " in plain.err


def test_quiet_and_stdin_dockerfile(store, tmp_path):
    ctx = context(tmp_path, {"f": "x"})
    p = store.run("build", "-q", "-f", "-", "-t", "q:1", ctx, input=b"FROM bb:1\nRUN echo noisy\nCOPY f /f\n")
    assert p.err == "" and len(p.out.strip()) == 64
    assert "sha256:" + p.out.strip() == inspect(store, "q:1")["Id"] or p.out.strip() == inspect(store, "q:1")["Id"]


# ---------------------------------------------------------------- Debian

@pytest.fixture
def debian(store, tmp_path):
    tar = os.path.join(iu.ASSETS, "debian-rootfs.tar")
    if not os.path.exists(tar):
        pytest.skip("assets/debian-rootfs.tar is missing: run scripts/image-assets (needs debootstrap and a mirror)")
    store.run("import", "-q", tar, "debian:12")
    return store


def test_debian_image(debian, tmp_path):
    ctx = context(tmp_path, {"Dockerfile": """FROM debian:12
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN dpkg -l | awk '/^ii/ {print $2}' > /installed && dpkg-query -W -f='${Version}' base-files > /base-files
RUN useradd --create-home --uid 2000 builder && getent passwd builder > /builder
COPY --chown=builder:builder hello.sh /home/builder/
USER builder
WORKDIR /home/builder
RUN bash hello.sh > out && stat -c '%U %G' hello.sh >> out
""", "hello.sh": "echo \"hello from $(id -un) on $(. /etc/os-release; echo $ID $VERSION_ID)\"\n"})
    build(debian, ctx, "-t", "deb-app:1")
    t = ImageTree(debian, "deb-app:1")
    pkgs = t.read("/installed").split()
    assert "dpkg" in pkgs and "base-files" in pkgs and "bash" in pkgs
    assert t.read("/base-files").startswith("12")
    assert t.read("/builder").startswith("builder:x:2000:2000::/home/builder:")
    assert t.read("/home/builder/out") == "hello from builder on debian 12\nbuilder builder\n"
    hist = json.loads(debian.run("history", "--format", "json", "deb-app:1").out)
    assert hist[0]["createdBy"].startswith("RUN /bin/bash -o pipefail -c bash hello.sh")
