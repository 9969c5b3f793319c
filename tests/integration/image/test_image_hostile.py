"""Bad input: hostile layers, broken archives, a registry that lies. One clear line, exit 125,
and the store exactly as it was (no half-imported image, no staging left, no mount)."""
import gzip
import hashlib
import json
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull, registry_basic, registry_http, registry_https, registry_token  # noqa: F401

pytestmark = ROOT_ONLY


def hostile_layer(tmp_path, name, entries, gz=False):
    p = str(tmp_path / name)
    iu.write_tar(p, entries, "w:gz" if gz else "w")
    return p


def assert_unchanged(hull, before_files, before_images):
    assert hull.store_files() == before_files
    assert hull.images() == before_images


@pytest.mark.parametrize("case", ["dotdot", "dotdot_deep", "hardlink_passwd", "hardlink_dotdot",
                                  "whiteout_dotdot", "truncated_gzip", "not_a_tar", "huge_size"])
def test_hostile_import(case, hull, busybox, tmp_path):
    ti = iu.tarinfo
    before_files, before_images = hull.store_files(), hull.images()
    if case == "dotdot":
        p = hostile_layer(tmp_path, "l.tar", [(ti("../pwned"), b"x")])
        want = "path leaves the layer"
    elif case == "dotdot_deep":
        p = hostile_layer(tmp_path, "l.tar", [(ti("a/b/../../../../pwned"), b"x")])
        want = "path leaves the layer"
    elif case == "hardlink_passwd":
        p = hostile_layer(tmp_path, "l.tar", [(ti("passwd", tarfile.LNKTYPE, "/etc/passwd"), None)])
        want = "is not in the layer"
    elif case == "hardlink_dotdot":
        p = hostile_layer(tmp_path, "l.tar", [(ti("passwd", tarfile.LNKTYPE, "../../../../etc/passwd"), None)])
        want = "leaves the layer"
    elif case == "whiteout_dotdot":
        p = hostile_layer(tmp_path, "l.tar", [(ti("../.wh.x"), b"")])
        want = "leaves the layer"
    elif case == "truncated_gzip":
        full = hostile_layer(tmp_path, "full.tar.gz", [(ti("f%d" % i), os.urandom(4096)) for i in range(20)], gz=True)
        data = open(full, "rb").read()
        p = str(tmp_path / "cut.tar.gz")
        open(p, "wb").write(data[: len(data) // 2])
        want = "layer"
    elif case == "not_a_tar":
        p = str(tmp_path / "junk")
        open(p, "wb").write(b"this is not a tarball\n" * 100)
        want = "layer"
    elif case == "huge_size":
        p = hostile_layer(tmp_path, "l.tar", [(ti("f"), b"0123456789")])
        raw = bytearray(open(p, "rb").read())
        raw[124:135] = b"77777777777"  # a 8 GiB file in the header, 10 bytes of data
        raw[148:156] = b"        "
        raw[148:155] = ("%06o\0" % sum(raw[:512])).encode()
        open(p, "wb").write(bytes(raw))
        want = "layer"
    line = hull.fail("import", p, "evil:1")
    assert want in line, line
    assert_unchanged(hull, before_files, before_images)
    assert not os.path.exists(tmp_path / "pwned")


def test_symlink_tricks_stay_inside(hull, tmp_path):
    ti = iu.tarinfo
    outside = tmp_path / "outside"
    outside.mkdir()
    p = hostile_layer(tmp_path, "l.tar", [
        (ti("escape", tarfile.SYMTYPE, str(outside)), None),
        (ti("escape/pwned"), b"x"),
        (ti("up", tarfile.SYMTYPE, "../../../../.."), None),
        (ti("up/pwned2"), b"x"),
    ])
    r = hull.run("import", p, "tricky:1", check=False)
    assert list(outside.iterdir()) == []
    assert not os.path.exists("/pwned2")
    if r.returncode == 0:
        layer = json.loads(hull.run("inspect", "tricky:1").out)[0]["Layers"][0]["Path"]
        assert os.path.exists(os.path.join(layer, "pwned2"))


def _docker_archive(tmp_path, layer_bytes, diff_id=None, tags=("x/y:1",)):
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers",
                                 "diff_ids": [diff_id or "sha256:" + hashlib.sha256(layer_bytes).hexdigest()]}}).encode()
    p = str(tmp_path / "arch.tar")
    iu.write_tar(p, [(iu.tarinfo("layer.tar"), layer_bytes), (iu.tarinfo("c.json"), cfg),
                     (iu.tarinfo("manifest.json"),
                      json.dumps([{"Config": "c.json", "RepoTags": list(tags), "Layers": ["layer.tar"]}]).encode())])
    return p


def test_bad_archives(hull, busybox, tmp_path):
    before_files, before_images = hull.store_files(), hull.images()
    bb = open(iu.busybox_tar(str(tmp_path / "bb.tar")), "rb").read()
    # diff_id in the config does not match the layer.
    p = _docker_archive(tmp_path, bb, diff_id="sha256:" + "0" * 64)
    line = hull.fail("load", "-i", p)
    assert "uncompressed digest mismatch" in line
    assert_unchanged(hull, before_files, before_images)
    # A truncated archive.
    good = _docker_archive(tmp_path, bb)
    data = open(good, "rb").read()
    open(p, "wb").write(data[: len(data) // 3])
    line = hull.fail("load", "-i", p)
    assert "archive" in line or "manifest.json" in line
    assert_unchanged(hull, before_files, before_images)
    # Not an image archive at all.
    line = hull.fail("load", "-i", str(tmp_path / "bb.tar"))
    assert "not a docker-archive or oci-archive" in line
    assert_unchanged(hull, before_files, before_images)
    # manifest.json that is not JSON.
    iu.write_tar(p, [(iu.tarinfo("manifest.json"), b"[{oops")])
    line = hull.fail("load", "-i", p)
    assert "manifest.json: invalid JSON" in line
    assert_unchanged(hull, before_files, before_images)


class LyingRegistry:
    """An HTTP server that speaks just enough of the registry API to lie in one way."""

    def __init__(self, mode, layer):
        self.mode = mode
        self.layer = layer
        self.cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + hashlib.sha256(self.cfg).hexdigest(), "size": len(self.cfg)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}]}).encode()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def send(self, code, body, ctype="application/octet-stream", length=None, headers=()):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                m = outer.mode
                if self.path == "/v2/":
                    return self.send(500 if m == "always_500" else 200, b"{}", "application/json")
                if "/manifests/" in self.path:
                    if m == "garbage_manifest":
                        return self.send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
                    if m == "wrong_manifest_digest":
                        return self.send(200, outer.manifest, "application/vnd.oci.image.manifest.v1+json",
                                         headers=[("Docker-Content-Digest", "sha256:" + "1" * 64)])
                    if m == "huge_manifest":
                        return self.send(200, b"{" + b" " * (5 << 20) + b"}", "application/vnd.oci.image.manifest.v1+json")
                    return self.send(200, outer.manifest, "application/vnd.oci.image.manifest.v1+json")
                if self.path.startswith("/storage/"):
                    return self.send(200, outer.layer)
                if "/blobs/" in self.path:
                    digest = self.path.rsplit("/", 1)[1]
                    if m == "redirect" and digest != "sha256:" + hashlib.sha256(outer.cfg).hexdigest():
                        self.send_response(307)
                        self.send_header("Location", "/storage/" + digest)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if digest == "sha256:" + hashlib.sha256(outer.cfg).hexdigest():
                        return self.send(200, outer.cfg)
                    if m == "wrong_blob":
                        return self.send(200, outer.layer[:-1] + b"\x01")
                    if m == "short_body":
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(outer.layer)))
                        self.end_headers()
                        self.wfile.write(outer.layer[: len(outer.layer) // 2])
                        self.wfile.flush()
                        self.connection.close()
                        return
                    if m == "long_body":
                        return self.send(200, outer.layer + b"\0" * 4096)
                    if m == "blob_404":
                        return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}',
                                         "application/json")
                    return self.send(200, outer.layer)
                self.send(404, b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.mark.parametrize("mode,want", [
    ("garbage_manifest", "invalid JSON"),
    ("wrong_manifest_digest", "Docker-Content-Digest"),
    ("huge_manifest", "larger than"),
    ("wrong_blob", "does not match its digest"),
    ("short_body", "registry"),
    ("long_body", "more than"),
    ("blob_404", "BLOB_UNKNOWN: blob unknown to registry"),
    ("always_500", "GET /v2/: HTTP 500"),
])
def test_lying_registry(mode, want, hull, tmp_path):
    layer = open(iu.busybox_tar(str(tmp_path / "bb.tar")), "rb").read()
    srv = LyingRegistry(mode, layer)
    try:
        before_files, before_images = hull.store_files(), hull.images()
        line = hull.fail("pull", "--tls-verify=false", f"{srv.host}/lies/bb:1")
        assert want in line, line
        assert_unchanged(hull, before_files, before_images)
    finally:
        srv.close()


@pytest.mark.parametrize("mode", ["honest", "redirect"])
def test_honest_fake_registry_works(mode, hull, tmp_path):
    """The same fake server without lies (and with blobs redirected to "storage", as registries
    in front of object stores do): the failures above are the lies, not the server."""
    layer = open(iu.busybox_tar(str(tmp_path / "bb.tar")), "rb").read()
    srv = LyingRegistry(mode, layer)
    try:
        hull.run("pull", "--tls-verify=false", f"{srv.host}/lies/bb:1")
        assert len(hull.images()) == 1
    finally:
        srv.close()
