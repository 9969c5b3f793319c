"""hull disk create/convert/inspect/resize, checked with qemu-img (Debian's qemu-utils): what
hull writes, QEMU reads as the same disk, and the other way round."""
import json
import os
import shutil
import subprocess

import pytest

import vm_util as vu

pytestmark = pytest.mark.skipif(not shutil.which("qemu-img") or not shutil.which("qemu-io"),
                                reason="qemu-img/qemu-io are missing (Debian package qemu-utils)")


def hull(*args, check=True):
    if not os.path.exists(vu.HULL):
        pytest.skip(f"{vu.HULL} is not built: run scripts/build release")
    p = subprocess.run([vu.HULL] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"hull {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def qemu_img(*args):
    return subprocess.run(["qemu-img"] + [str(a) for a in args], capture_output=True, text=True, check=True).stdout


def qemu_write(path, fmt, pattern, offset, length):
    subprocess.run(["qemu-io", "-f", fmt, "-c", f"write -P {pattern} {offset} {length}", str(path)],
                   capture_output=True, check=True)


@pytest.mark.parametrize("fmt,qfmt", [("raw", "raw"), ("qcow2", "qcow2"), ("vhd", "vpc")])
def test_create_matches_qemu_img(tmp_path, fmt, qfmt):
    p = tmp_path / f"d.{fmt}"
    hull("disk", "create", "--format", fmt, "--size", "64M", p)
    info = json.loads(qemu_img("info", "--output=json", p))
    assert info["format"] == qfmt and info["virtual-size"] == 64 << 20
    if fmt == "qcow2":
        assert "No errors" in qemu_img("check", p)
    mine = json.loads(hull("disk", "inspect", "--format", "json", p).stdout)
    assert mine["format"] == qfmt and mine["virtual-size"] == info["virtual-size"]
    assert abs(mine["actual-size"] - info["actual-size"]) < 1 << 20


def test_convert_every_way(tmp_path):
    src = tmp_path / "src.qcow2"
    qemu_img("create", "-f", "qcow2", src, "32M")
    qemu_write(src, "qcow2", "0xab", "1M", "64k")
    qemu_write(src, "qcow2", "0x5c", "31M", "512")
    last = src
    for fmt in ("vhd", "raw", "qcow2", "raw"):
        dst = tmp_path / f"to-{fmt}-{len(os.listdir(tmp_path))}.{fmt}"
        hull("disk", "convert", "-O", fmt, last, dst)
        assert "Images are identical" in qemu_img("compare", src, dst)
        last = dst
    # Zero blocks are not written: the raw copy stays sparse.
    assert os.stat(last).st_blocks * 512 < 1 << 20
    fixed = tmp_path / "fixed.vhd"
    hull("disk", "convert", "-O", "vhd", "--fixed", src, fixed)
    assert json.loads(hull("disk", "inspect", "--format", "json", fixed).stdout)["subformat"] == "fixed"
    # A fixed VHD has no header, only a footer: QEMU probes it as raw unless told.
    assert "Images are identical" in qemu_img("compare", "-F", "vpc", src, fixed)


def test_resize(tmp_path):
    for fmt in ("raw", "qcow2", "vhd"):
        p = tmp_path / f"r.{fmt}"
        hull("disk", "create", "--format", fmt, "--size", "16M", p)
        qfmt = "vpc" if fmt == "vhd" else fmt
        qemu_write(p, qfmt, "0x11", "8M", "4k")
        hull("disk", "resize", p, "+16M")
        assert json.loads(qemu_img("info", "--output=json", p))["virtual-size"] == 32 << 20
        out = subprocess.run(["qemu-io", "-f", qfmt, "-c", "read -P 0x11 8M 4k", str(p)], capture_output=True,
                             text=True).stdout
        assert "read 4096/4096" in out, out
        if fmt == "qcow2":
            assert "No errors" in qemu_img("check", p)
    r = hull("disk", "resize", tmp_path / "r.raw", "8M", check=False)
    assert r.returncode == 125 and "--shrink" in r.stderr
    hull("disk", "resize", "--shrink", tmp_path / "r.raw", "8M")
    assert os.path.getsize(tmp_path / "r.raw") == 8 << 20


def test_backing_file(tmp_path):
    base = tmp_path / "base.raw"
    qemu_img("create", "-f", "raw", base, "16M")
    qemu_write(base, "raw", "0x42", "0", "4k")
    top = tmp_path / "top.qcow2"
    hull("disk", "create", "--format", "qcow2", "--backing", base, top)
    info = json.loads(qemu_img("info", "--output=json", top))
    assert info["virtual-size"] == 16 << 20 and info["backing-filename"] == str(base)
    assert json.loads(hull("disk", "inspect", "--format", "json", top).stdout)["backing-filename"] == str(base)
    assert "Images are identical" in qemu_img("compare", base, top)
    r = hull("disk", "resize", top, "+1M", check=False)
    assert r.returncode == 125 and "backing file" in r.stderr


def test_errors(tmp_path):
    r = hull("disk", "create", "--format", "vmdk", "--size", "1M", tmp_path / "x", check=False)
    assert r.returncode == 125 and "unknown disk format 'vmdk'" in r.stderr
    r = hull("disk", "create", "--size", "1000", tmp_path / "x", check=False)
    assert r.returncode == 125 and "multiple of 512" in r.stderr
    (tmp_path / "exists").write_text("")
    r = hull("disk", "create", "--size", "1M", tmp_path / "exists", check=False)
    assert r.returncode == 125
    r = hull("disk", "inspect", tmp_path / "missing", check=False)
    assert r.returncode == 125 and "missing" in r.stderr
