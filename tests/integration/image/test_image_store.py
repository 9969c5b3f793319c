"""hull import/load/save/images/tag/rmi/inspect/history/prune against a private store."""
import json
import os
import subprocess
import shutil
import tarfile
import tempfile

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull, registry_basic, registry_http, registry_https, registry_token  # noqa: F401

pytestmark = ROOT_ONLY


def test_import_inspect_history(hull, busybox):
    imgs = hull.images()
    assert len(imgs) == 1 and imgs[0]["Id"] == busybox
    assert imgs[0]["Names"] == ["docker.io/library/bb:1"]
    info = json.loads(hull.run("inspect", "bb:1").out)[0]
    assert info["Id"] == busybox
    assert info["Config"]["Cmd"] == ["/bin/sh"]
    assert info["Os"] == "linux" and info["Architecture"] == "amd64"
    layer = info["Layers"][0]["Path"]
    assert os.path.islink(os.path.join(layer, "bin/sh"))
    assert os.stat(os.path.join(layer, "bin/busybox")).st_mode & 0o111
    assert hull.run("inspect", "--format", "{{.Id}} {{.Config.Cmd}}", "bb:1").out.strip() == \
        busybox + ' ["/bin/sh"]'
    hist = hull.run("history", "bb:1").out.splitlines()
    assert hist[0].split()[:3] == ["ID", "CREATED", "CREATED"]
    assert "hull import" in hist[1]
    assert json.loads(hull.run("history", "--format", "json", "bb:1").out)[0]["createdBy"] == "hull import"


def test_images_table_and_templates(hull, busybox):
    out = hull.run("images").out.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert out[1].split()[:3] == ["docker.io/library/bb", "1", busybox[:12]]
    assert hull.run("images", "-q").out.split() == [busybox[:12]]
    assert hull.run("images", "--noheading", "--format", "{{.Repository}}:{{.Tag}}").out.split() == \
        ["docker.io/library/bb:1"]
    assert hull.run("images", "--no-trunc", "-q").out.split() == [busybox]
    line = hull.fail("images", "--format", "{{.Nope}}")
    assert "unknown field" in line


def test_tag_untag_rmi(hull, busybox):
    hull.run("tag", "bb:1", "example.com/team/bb:2", "bb:latest")
    assert hull.names() == ["docker.io/library/bb:1", "docker.io/library/bb:latest", "example.com/team/bb:2"]
    # An id with several names needs --force.
    line = hull.fail("rmi", busybox[:12])
    assert "has 3 names" in line
    # Removing a name keeps the image while it has others.
    out = hull.run("rmi", "bb:latest").out
    assert "Untagged: docker.io/library/bb:latest" in out and "Deleted" not in out
    hull.run("rmi", "example.com/team/bb:2")
    out = hull.run("rmi", "bb:1").out
    assert f"Deleted: {busybox}" in out
    assert hull.images() == []
    # Layers and blobs went with the last image.
    assert [f for f in hull.store_files() if "/layers/" in f or "/blobs/" in f] == []
    line = hull.fail("rmi", "bb:1")
    assert line == "hull: removing 'bb:1': image 'bb:1' not found"
    hull.run("rmi", "-f", "bb:1")


def test_save_load_formats(hull, busybox, tmp_path):
    for fmt in ("docker-archive", "oci-archive", "oci-dir"):
        out = tmp_path / f"bb-{fmt}"
        hull.run("save", "--format", fmt, "-o", out, "bb:1")
        hull.run("rmi", "bb:1")
        assert hull.images() == []
        res = hull.run("load", "-i", out)
        assert res.out.strip() == "Loaded image: docker.io/library/bb:1"
        assert hull.images()[0]["Id"] == busybox


def test_load_from_stdin_and_compressed(hull, busybox, tmp_path):
    out = tmp_path / "bb.tar"
    hull.run("save", "-o", out, "bb:1")
    subprocess.run(["gzip", "-k", str(out)], check=True)
    hull.run("rmi", "bb:1")
    with open(str(out) + ".gz", "rb") as f:
        hull.run("load", input=f.read())
    assert hull.images()[0]["Id"] == busybox


def test_save_to_a_device_writes_in_place(hull, busybox, tmp_path):
    import stat
    hull.run("save", "-o", "/dev/null", "bb:1")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out = tmp_path / "through-fifo.tar"
    with open(out, "wb") as f:
        reader = subprocess.Popen(["cat", str(fifo)], stdout=f)
        hull.run("save", "-o", fifo, "bb:1", timeout=60)
        reader.wait(30)
    assert os.path.getsize(out) > 1 << 20 and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_save_to_stdout_is_a_tar(hull, busybox, tmp_path):
    p = hull.run("save", "bb:1")
    (tmp_path / "o.tar").write_bytes(p.stdout)
    names = tarfile.open(tmp_path / "o.tar").getnames()
    assert "manifest.json" in names and f"{busybox}.json" in names


def test_skopeo_and_podman_read_what_hull_saves(hull, busybox, tmp_path):
    out = tmp_path / "bb.tar"
    hull.run("save", "-o", out, "bb:1")
    info = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"], check=True,
                                     capture_output=True, text=True).stdout)
    assert info["Layers"] and info["Os"] == "linux"
    oci = tmp_path / "bb.oci.tar"
    hull.run("save", "--format", "oci-archive", "-o", oci, "bb:1")
    dst = tmp_path / "copied"
    subprocess.run(["skopeo", "copy", f"oci-archive:{oci}:docker.io/library/bb:1", f"oci:{dst}:bb"], check=True,
                   capture_output=True)
    # And the other way: skopeo's OCI layout loads into hull with the same image id.
    hull.run("rmi", "bb:1")
    hull.run("load", "-i", dst)
    assert hull.images()[0]["Id"] == busybox


def test_podman_save_loads_into_hull(hull, tmp_path):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    tar = iu.busybox_tar(str(tmp_path / "bb.tar"))
    proot = tmp_path / "podman-root"
    # podman refuses a runroot longer than 50 characters.
    prun = tempfile.mkdtemp(prefix="hull-prun-")
    pod = ["podman", "--root", str(proot), "--runroot", str(prun), "--cgroup-manager=cgroupfs",
           "--events-backend=file", "--storage-driver=vfs"]
    try:
        for args in (["import", tar, "localhost/pbb:1"], ["save", "-o", str(tmp_path / "p.tar"), "localhost/pbb:1"]):
            p = subprocess.run(pod + args, capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
    finally:
        subprocess.run(pod + ["system", "reset", "-f"], capture_output=True)
        shutil.rmtree(prun, ignore_errors=True)
    out = hull.run("load", "-i", tmp_path / "p.tar").out
    assert "localhost/pbb:1" in out
    assert hull.run("images", "--format", "{{.Repository}}").out.split() == ["localhost/pbb"]


def test_prune(hull, busybox, tmp_path):
    tar = iu.busybox_tar(str(tmp_path / "bb2.tar"))
    other = hull.run("import", "--change", "CMD [\"true\"]", tar).out.strip()
    assert {i["Id"] for i in hull.images()} == {busybox, other}
    hull.run("image", "prune")
    assert [i["Id"] for i in hull.images()] == [busybox]
    hull.run("image", "prune", "-a")
    assert hull.images() == []
    assert [f for f in hull.store_files() if "/blobs/" in f or "/layers/" in f] == []


def test_aliases(hull, busybox):
    assert hull.run("image", "ls", "-q").out.split() == [busybox[:12]]
    hull.run("image", "tag", "bb:1", "bb:2")
    hull.run("image", "rm", "bb:2")
    assert hull.names() == ["docker.io/library/bb:1"]


def test_import_change_takes_dockerfile_words(hull, tmp_path):
    """--change EXPOSE/VOLUME take several blank-separated values, each with the Dockerfile's rules."""
    tar = iu.busybox_tar(str(tmp_path / "bb3.tar"))
    img = hull.run("import", "--change", "EXPOSE 80 53/udp 8000-8001/tcp", "--change", "VOLUME /data /cache",
                   tar, "ch:1").out.strip()
    cfg = json.loads(hull.run("inspect", "--type", "image", img).out)[0]["Config"]
    assert sorted(cfg["ExposedPorts"]) == ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]
    assert sorted(cfg["Volumes"]) == ["/cache", "/data"]
    err = hull.fail("import", "--change", "EXPOSE 80/icmp", tar, "ch:2")
    assert "EXPOSE: invalid protocol in '80/icmp'" in err
