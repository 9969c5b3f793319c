"""Helpers for the image tests: run hull against a private store, start real registries.

Registries are Debian's docker-registry (distribution 2.8) started on 127.0.0.1 with a free
port and storage in a temporary directory, in four flavours: plain HTTP, HTTPS with a
self-signed CA, HTTPS with htpasswd (bcrypt) basic auth, and bearer tokens issued by a small
token server (token_server.py, JWTs signed with a key whose certificate is the registry's
auth.token.rootcertbundle: the real registry token flow). Every process started here is
stopped by the fixture that started it.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("HULL_BUILD", os.path.join(ROOT, "build"))
ASSETS = os.path.join(ROOT, "assets")
HULL = os.path.join(BUILD, "cmd", "hull", "hull")
HERE = os.path.dirname(os.path.abspath(__file__))


PROGRESS = ("Copying blob ", "Extracting ", "Writing blob ", "Writing manifest ")


class Hull:
    """hull with --root set to a private store."""

    def __init__(self, root):
        self.root = root

    def run(self, *args, check=True, input=None, env=None, timeout=300):
        e = dict(os.environ)
        e.pop("HULL_ROOT", None)
        if env:
            e.update(env)
        p = subprocess.run([HULL, "--root", self.root] + [str(a) for a in args], capture_output=True,
                           input=input, env=e, timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))} failed ({p.returncode}):\n{p.err}")
        return p

    def fail(self, *args, **kw):
        """Run, expect exit status 125 and exactly one error line on stderr starting with 'hull'
        (besides the plain progress lines a non-terminal gets)."""
        p = self.run(*args, check=False, **kw)
        assert p.returncode == 125, f"expected 125, got {p.returncode}: {p.err}"
        lines = [l for l in p.err.splitlines() if l.strip() and not l.startswith(PROGRESS)]
        assert len(lines) == 1, f"expected one line of error, got:\n{p.err}"
        assert lines[0].startswith("hull"), lines[0]
        return lines[0]

    def images(self):
        return json.loads(self.run("images", "--format", "json").out)

    def names(self):
        return sorted(n for i in self.images() for n in i["Names"])

    def store_files(self):
        """Every file of the store except the database (for 'store unchanged' checks)."""
        out = []
        for d, _, files in os.walk(os.path.join(self.root, "image")):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), self.root))
        return sorted(x for x in out if not x.endswith("/lock"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_cert(d, name, cn, ca=None):
    """A key and certificate (self-signed when ca is None) valid for 127.0.0.1 and localhost."""
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:%s\n" % ("TRUE" if ca is None else "FALSE"))
    if ca is None:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "2", "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
    else:
        csr = os.path.join(d, name + ".csr")
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                        "-subj", "/CN=" + cn], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
                        "-out", crt, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    return key, crt


class Registry:
    """A docker-registry process. kind: http, https, basic, token."""

    def __init__(self, workdir, kind):
        self.kind = kind
        self.dir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.procs = []
        self.cert_dir = None
        self.creds = None
        os.makedirs(workdir, exist_ok=True)
        cfg = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true", "storage:",
               "  filesystem:", f"    rootdirectory: {workdir}/data", "  delete:", "    enabled: true",
               "http:", f"  addr: 127.0.0.1:{self.port}", "  secret: hull-test-secret"]
        if kind in ("https", "basic"):
            ca = make_cert(workdir, "ca", "hull test CA")
            key, crt = make_cert(workdir, "server", "127.0.0.1", ca=ca)
            self.cert_dir = os.path.join(workdir, "certs")
            os.makedirs(self.cert_dir)
            shutil.copy(ca[1], os.path.join(self.cert_dir, "ca.crt"))
            cfg += ["  tls:", f"    certificate: {crt}", f"    key: {key}"]
        if kind == "basic":
            self.creds = ("alice", "wonderland")
            htp = subprocess.run(["htpasswd", "-Bbn", *self.creds], check=True, capture_output=True, text=True).stdout
            with open(os.path.join(workdir, "htpasswd"), "w") as f:
                f.write(htp)
            cfg += ["auth:", "  htpasswd:", "    realm: hull-test", f"    path: {workdir}/htpasswd"]
        if kind == "token":
            self.creds = ("bob", "builder")
            tkey, tcrt = make_cert(workdir, "token", "hull token issuer")
            tport = free_port()
            self.token_port = tport
            env = dict(os.environ, TOKEN_KEY=tkey, TOKEN_CERT=tcrt, TOKEN_PORT=str(tport),
                       TOKEN_USER=self.creds[0], TOKEN_PASS=self.creds[1],
                       TOKEN_LOG=os.path.join(workdir, "token.log"))
            tp = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "token_server.py")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "token.err"), "w"))
            self.procs.append(tp)
            wait_port(tport, tp)
            cfg += ["auth:", "  token:", f"    realm: http://127.0.0.1:{tport}/token", "    service: hull-test",
                    "    issuer: hull-test-issuer", f"    rootcertbundle: {tcrt}"]
        with open(os.path.join(workdir, "config.yml"), "w") as f:
            f.write("\n".join(cfg) + "\n")
        p = subprocess.Popen(["/usr/bin/docker-registry", "serve", os.path.join(workdir, "config.yml")],
                             stdout=open(os.path.join(workdir, "registry.log"), "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        try:
            wait_port(self.port, p)
        except Exception:
            self.close()
            raise

    def opts(self, creds=True):
        """hull options to reach this registry."""
        o = []
        if self.kind in ("http", "token"):
            o.append("--tls-verify=false")
        if self.cert_dir:
            o += ["--cert-dir", self.cert_dir]
        if creds and self.creds:
            o += ["--creds", "%s:%s" % self.creds]
        return o

    def skopeo_opts(self, direction):
        o = []
        if self.kind in ("http", "token"):
            o.append(f"--{direction}-tls-verify=false")
        if self.cert_dir:
            o.append(f"--{direction}-cert-dir={self.cert_dir}")
        if self.creds:
            o.append(f"--{direction}-creds=%s:%s" % self.creds)
        return o

    def close(self):
        for p in reversed(self.procs):
            stop(p)
        self.procs = []


def busybox_tar(path):
    """A tar of assets/busybox-rootfs (scripts/prepare-assets makes it)."""
    src = os.path.join(ASSETS, "busybox-rootfs")
    if not os.path.isdir(src):
        import pytest
        pytest.skip("assets/busybox-rootfs is missing: run scripts/prepare-assets")
    subprocess.run(["tar", "--numeric-owner", "-C", src, "-cf", path, "."], check=True)
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return "sha256:" + h.hexdigest()


def write_tar(path, entries, mode="w"):
    """entries: list of (TarInfo, bytes or None)."""
    with tarfile.open(path, mode) as t:
        for ti, data in entries:
            if data is not None:
                import io
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return path


def tarinfo(name, type=tarfile.REGTYPE, linkname="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.linkname = linkname
    ti.mode = mode
    ti.mtime = 1700000000
    return ti
