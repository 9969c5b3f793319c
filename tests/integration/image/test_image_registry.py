"""hull pull/push against real registries: HTTP, HTTPS, basic and bearer auth, skopeo interop."""
import base64
import hashlib
import json
import os
import subprocess
import urllib.request
import ssl

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull, registry_basic, registry_http, registry_https, registry_token  # noqa: F401

pytestmark = ROOT_ONLY


def skopeo(*args):
    p = subprocess.run(["skopeo"] + list(args), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("kind", ["http", "https", "basic", "token"])
def test_push_pull_round_trip(kind, request, hull, busybox, tmp_path):
    reg = request.getfixturevalue(f"registry_{kind}")
    ref = f"{reg.host}/rt/{kind}:v1"
    hull.run("push", *reg.opts(), "bb:1", ref)
    # skopeo sees what hull pushed, with the same manifest digest as the store has.
    info = json.loads(skopeo("inspect", *[o.replace("--src-", "--") for o in reg.skopeo_opts("src")],
                             f"docker://{ref}"))
    local = json.loads(hull.run("inspect", "bb:1").out)[0]
    assert info["Digest"] == local["Digest"]
    hull.run("rmi", "bb:1")
    out = hull.run("pull", *reg.opts(), ref).out.strip()
    assert out == busybox
    img = hull.images()[0]
    assert img["Names"] == [ref]
    assert img["RepoDigests"] == [f"{reg.host}/rt/{kind}@{local['Digest']}"]
    # By digest too.
    hull.run("rmi", ref)
    hull.run("pull", *reg.opts(), f"{reg.host}/rt/{kind}@{local['Digest']}")
    assert hull.images()[0]["Id"] == busybox


def test_second_pull_fetches_nothing(hull, busybox, registry_http):
    reg = registry_http
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/again/bb:1")
    p = hull.run("pull", *reg.opts(), f"{reg.host}/again/bb:1")
    assert "Copying blob" not in p.err or "skipped" in p.err
    assert len(hull.images()) == 1


def test_skopeo_push_hull_pull_and_back(hull, registry_https, tmp_path):
    reg = registry_https
    tar = iu.busybox_tar(str(tmp_path / "bb.tar"))
    # A gzip layer made by skopeo (docker v2 schema 2 manifest), pulled by hull.
    oci = tmp_path / "layout"
    os.makedirs(oci / "blobs" / "sha256")
    subprocess.run(["gzip", "-k", tar], check=True)
    layer = open(tar + ".gz", "rb").read()
    diff_id = iu.sha256_file(tar)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": "sha256:" + hashlib.sha256(cfg).hexdigest(), "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}]}).encode()
    for blob in (layer, cfg, man):
        (oci / "blobs" / "sha256" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (oci / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (oci / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + hashlib.sha256(man).hexdigest(),
         "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
    skopeo("copy", "--format", "v2s2", *reg.skopeo_opts("dest"), f"oci:{oci}:v1", f"docker://{reg.host}/sk/bb:v1")
    hull.run("pull", *reg.opts(), f"{reg.host}/sk/bb:v1")
    info = json.loads(hull.run("inspect", f"{reg.host}/sk/bb:v1").out)[0]
    assert info["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert info["Config"]["Cmd"] == ["/bin/sh"]
    assert os.path.exists(os.path.join(info["Layers"][0]["Path"], "bin/busybox"))
    # hull pushes it elsewhere (cross-repository mount on the same registry) and skopeo copies it back out.
    hull.run("push", *reg.opts(), f"{reg.host}/sk/bb:v1", f"{reg.host}/other/bb:v2")
    skopeo("copy", *reg.skopeo_opts("src"), f"docker://{reg.host}/other/bb:v2", f"oci:{tmp_path}/back:x")


def test_multi_arch_index_picks_linux_amd64(hull, busybox, registry_http, tmp_path):
    reg = registry_http
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/multi/bb:amd64")
    local = json.loads(hull.run("inspect", "bb:1").out)[0]
    manifest = open(os.path.join(hull.root, "image/blobs/sha256", local["Digest"][7:]), "rb").read()
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": local["Digest"], "size": len(manifest),
         "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": local["Digest"], "size": len(manifest),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    req = urllib.request.Request(f"http://{reg.host}/v2/multi/bb/manifests/latest", data=index, method="PUT",
                                 headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    urllib.request.urlopen(req).read()
    hull.run("rmi", "bb:1")
    hull.run("pull", *reg.opts(), f"{reg.host}/multi/bb:latest")
    img = hull.images()[0]
    assert img["Id"] == busybox
    index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
    assert f"{reg.host}/multi/bb@{index_digest}" in img["RepoDigests"]
    # An index without this platform names what it has.
    only_arm = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": local["Digest"], "size": len(manifest),
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}).encode()
    req = urllib.request.Request(f"http://{reg.host}/v2/multi/bb/manifests/arm", data=only_arm, method="PUT",
                                 headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    urllib.request.urlopen(req).read()
    line = hull.fail("pull", *reg.opts(), f"{reg.host}/multi/bb:arm")
    assert "no linux/amd64 image in the index (available: linux/arm64/v8)" in line


def test_tls_is_verified_by_default(hull, busybox, registry_https, registry_http):
    line = hull.fail("push", "bb:1", f"{registry_https.host}/tls/bb:1")
    assert "certificate" in line.lower() or "ssl" in line.lower()
    # --tls-verify=false accepts the self-signed certificate.
    hull.run("push", "--tls-verify=false", "bb:1", f"{registry_https.host}/tls/bb:1")
    # A plain HTTP registry needs the same switch, and says so.
    line = hull.fail("pull", f"{registry_http.host}/tls/bb:1")
    assert "--tls-verify=false" in line


def test_auth_errors(hull, busybox, registry_basic, registry_token):
    line = hull.fail("push", *registry_basic.opts(creds=False), "bb:1", f"{registry_basic.host}/a/bb:1")
    assert "authentication required" in line
    line = hull.fail("push", *registry_basic.opts(creds=False), "--creds", "alice:wrong", "bb:1",
                     f"{registry_basic.host}/a/bb:1")
    assert "refused" in line or "UNAUTHORIZED" in line
    line = hull.fail("pull", *registry_token.opts(creds=False), f"{registry_token.host}/a/bb:1")
    assert "token server" in line and "UNAUTHORIZED" in line
    # Credentials from the environment.
    hull.run("push", *registry_basic.opts(creds=False), "bb:1", f"{registry_basic.host}/a/bb:1",
             env={"HULL_REGISTRY_CREDS": "alice:wonderland"})


def test_token_scopes(hull, busybox, registry_token):
    reg = registry_token
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/scoped/bb:1")
    log = [json.loads(l) for l in open(os.path.join(reg.dir, "token.log"))]
    scopes = {s for e in log for s in e["scope"]}
    assert "repository:scoped/bb:pull,push" in scopes


def test_missing_image_and_repository(hull, registry_http):
    line = hull.fail("pull", *registry_http.opts(), f"{registry_http.host}/nope/nothing:1")
    assert "MANIFEST_UNKNOWN" in line or "NAME_UNKNOWN" in line
    assert hull.images() == []
    assert hull.store_files() == []


def test_signatures(hull, busybox, registry_http, tmp_path):
    reg = registry_http
    key, pub, other = tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "o.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", other],
                   check=True)
    other_pub = tmp_path / "o.pub"
    subprocess.run(["openssl", "pkey", "-in", other, "-pubout", "-out", other_pub], check=True)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": "accept", "repositories": {
        f"{reg.host}/secure": {"require": "signed", "keys": [str(pub)]},
        f"{reg.host}/blocked": {"require": "reject"}}}))
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/secure/bb:1")
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/secure/bb:unsigned")
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/secure/bb:wrongkey")
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/blocked/bb:1")
    hull.run("rmi", "bb:1")
    before = hull.store_files()
    # Unsigned: refused, store unchanged.
    line = hull.fail("pull", *reg.opts(), "--policy", policy, f"{reg.host}/secure/bb:unsigned")
    assert "is not signed" in line
    assert hull.store_files() == before
    line = hull.fail("pull", *reg.opts(), "--policy", policy, f"{reg.host}/blocked/bb:1")
    assert "refuses images" in line
    # Signed with the trusted key: accepted.
    out = hull.run("image", "sign", *reg.opts(), "--key", key, f"{reg.host}/secure/bb:1").out
    assert out.startswith("Signed sha256:")
    hull.run("pull", *reg.opts(), "--policy", policy, f"{reg.host}/secure/bb:1")
    # Tags share the digest: bb:unsigned now carries the same signature, and a P-256 key the policy
    # does not trust does not help either.
    hull.run("image", "sign", *reg.opts(), "--key", other, f"{reg.host}/secure/bb:wrongkey")
    policy.write_text(json.dumps({"default": "signed", "keys": [str(other_pub)]}))
    hull.run("rmi", "-a")
    hull.run("pull", *reg.opts(), "--policy", policy, f"{reg.host}/secure/bb:wrongkey")
    policy.write_text(json.dumps({"default": "signed", "keys": [str(pub)]}))
    hull.run("rmi", "-a")
    # The signature was made for repository secure/bb: it does not transfer to blocked/bb.
    line = hull.fail("pull", *reg.opts(), "--policy", policy, f"{reg.host}/blocked/bb:1")
    assert "not signed" in line
    policy.write_text("{not json")
    line = hull.fail("pull", *reg.opts(), "--policy", policy, f"{reg.host}/secure/bb:1")
    assert "policy" in line


def test_chunked_upload(hull, busybox, registry_https):
    """Blobs above the chunk size go up in PATCH chunks with Content-Range (distribution spec)."""
    reg = registry_https
    hull.run("push", *reg.opts(), "bb:1", f"{reg.host}/chunked/bb:1", env={"HULL_PUSH_CHUNK_SIZE": "256k"})
    hull.run("rmi", "bb:1")
    assert hull.run("pull", *reg.opts(), f"{reg.host}/chunked/bb:1").out.strip() == busybox


@pytest.mark.skipif(not os.path.exists(os.path.join(iu.ASSETS, "debian-rootfs.tar")),
                    reason="assets/debian-rootfs.tar is missing (scripts/prepare-assets runs debootstrap)")
def test_debian_image_round_trip(hull, registry_http, tmp_path):
    """A real distribution: every entry of the debootstrap tarball comes out of the layer as it went in."""
    import tarfile
    tar = os.path.join(iu.ASSETS, "debian-rootfs.tar")
    img = hull.run("import", "--change", 'CMD ["/bin/bash"]', tar, "debian:test").out.strip()
    layer = json.loads(hull.run("inspect", "debian:test").out)[0]["Layers"][0]["Path"]
    checked = 0
    with tarfile.open(tar) as t:
        for m in t:
            name = os.path.normpath(m.name)
            if name == ".":
                continue
            st = os.lstat(os.path.join(layer, name))
            assert (st.st_uid, st.st_gid) == (m.uid, m.gid), name
            if m.issym():
                assert os.readlink(os.path.join(layer, name)) == m.linkname, name
            else:
                assert st.st_mode & 0o7777 == m.mode & 0o7777, name
            if m.isreg():
                assert st.st_size == m.size, name
                assert int(st.st_mtime) == int(m.mtime), name
            if m.islnk():
                assert os.path.samefile(os.path.join(layer, name), os.path.join(layer, os.path.normpath(m.linkname)))
            checked += 1
    assert checked > 3000
    assert os.stat(os.path.join(layer, "usr/bin/passwd")).st_mode & 0o4000  # setuid kept
    reg = registry_http
    hull.run("push", *reg.opts(), "debian:test", f"{reg.host}/debian:test")
    hull.run("rmi", "debian:test")
    assert hull.run("pull", *reg.opts(), f"{reg.host}/debian:test").out.strip() == img
