"""hull's disk backends against Debian's qemu-img (qemu-utils) as the reference.

- images that hull creates and writes pass `qemu-img check` and are identical, for
  `qemu-img compare`, to the raw image of what was written;
- images that qemu-img creates (qcow2 v2/v3, small clusters, other refcount widths,
  compressed clusters, zero clusters, backing chains, VHD fixed and dynamic) read the
  same through hull as `qemu-img convert -O raw` gives;
- after hull writes into qemu-img's images (into compressed clusters, over zero clusters,
  over backing data), `qemu-img check` is clean and the content is what was written.

The helper tests/integration/vmm/disk-tool.c drives the library (built by meson).
"""
import json
import os
import random
import re
import shutil
import subprocess

import pytest

from hulltest import BUILD

DISK_TOOL = os.path.join(BUILD, "tests", "integration", "vmm", "disk-tool")
MIB = 1 << 20

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed"),
    pytest.mark.skipif(not os.path.exists(DISK_TOOL), reason="disk-tool is not built (scripts/build release)"),
]


def tool(*args, data=None, check=True):
    p = subprocess.run([DISK_TOOL, *map(str, args)], input=data, capture_output=True)
    if check and p.returncode != 0:
        raise AssertionError(f"disk-tool {' '.join(map(str, args))}: {p.stderr.decode()}")
    return p


def qemu_img(*args):
    p = subprocess.run(["qemu-img", *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, f"qemu-img {' '.join(map(str, args))}: {p.stdout}{p.stderr}"
    return p.stdout


def qemu_io(fmt, path, *cmds):
    args = ["qemu-io", "-f", fmt]
    for c in cmds:
        args += ["-c", c]
    p = subprocess.run(args + [path], capture_output=True, text=True)
    assert p.returncode == 0 and "error" not in p.stdout.lower(), p.stdout + p.stderr


def compressible(n, seed):
    """Text-like data that zlib shrinks, so that qemu-img -c really stores compressed clusters."""
    rnd = random.Random(seed)
    words = [b"hull", b"qcow2", b"cluster", b"refcount", b"virtio", b"guest", b"sector", b"\n"]
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) + b" "
    return bytes(out[:n])


def make_raw(path, size, seed):
    """A raw reference image: compressible and random stretches, and holes."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for off in range(0, size, 512 * 1024):
            kind = rnd.randrange(3)
            if kind == 0:
                continue
            f.seek(off)
            n = rnd.choice([4096, 65536, 300 * 1024])
            f.write(compressible(n, off) if kind == 1 else rnd.randbytes(n))


def apply(raw, offset, data):
    with open(raw, "r+b") as f:
        f.seek(offset)
        f.write(data)


def hull_write(image, raw, offset, data, fmt=None):
    args = ["write", image, offset] + (["--format", fmt] if fmt else [])
    tool(*args, data=data)
    apply(raw, offset, data)


def qemu_check(image, fmt):
    if fmt != "qcow2":
        return  # qemu-img check supports only qcow2 (and a few others), not raw or vpc
    out = qemu_img("check", "-f", fmt, image)
    assert "No errors were found" in out, out


def assert_same(image, fmt, raw):
    out = qemu_img("compare", "-f", fmt, "-F", "raw", image, raw)
    assert "Images are identical" in out, out


def assert_hull_reads(image, raw, tmp_path, fmt=None):
    dump = tmp_path / "dump.raw"
    tool("dump", image, dump, *(["--format", fmt] if fmt else []))
    got, want = dump.read_bytes(), open(raw, "rb").read()
    assert len(got) == len(want), f"size {len(got)} != {len(want)}"
    if got != want:
        first = next(i for i in range(len(got)) if got[i] != want[i])
        pytest.fail(f"content differs from offset {first:#x}")


WRITES = [(0, 4096), (512, 1024), (65536 - 512, 8192), (3 * MIB - 4096, 300 * 1024), (8 * MIB - 512, 512)]


@pytest.mark.parametrize("fmt,opts,qfmt", [
    ("qcow2", [], "qcow2"),
    ("qcow2", ["--version", "2"], "qcow2"),
    ("qcow2", ["--cluster-bits", "9"], "qcow2"),
    ("qcow2", ["--cluster-bits", "21"], "qcow2"),
    ("vhd", [], "vpc"),
    ("vhd", ["--fixed"], "vpc"),
    ("raw", [], "raw"),
], ids=["qcow2-v3", "qcow2-v2", "qcow2-512", "qcow2-2M", "vhd-dynamic", "vhd-fixed", "raw"])
def test_hull_images_accepted_by_qemu(tmp_path, fmt, opts, qfmt):
    image, raw = tmp_path / f"img.{fmt}", tmp_path / "ref.raw"
    tool("create", fmt, image, 8 * MIB, *opts)
    with open(raw, "wb") as f:
        f.truncate(8 * MIB)
    for i, (off, n) in enumerate(WRITES):
        hull_write(image, raw, off, random.Random(i).randbytes(n))
    qemu_check(image, qfmt)
    assert_same(image, qfmt, raw)
    info = json.loads(qemu_img("info", "--output=json", "-f", qfmt, image))
    assert info["virtual-size"] == 8 * MIB


QEMU_IMAGES = {
    "qcow2-v2": ["-O", "qcow2", "-o", "compat=0.10"],
    "qcow2-v3": ["-O", "qcow2", "-o", "compat=1.1"],
    "qcow2-4k-clusters": ["-O", "qcow2", "-o", "cluster_size=4096"],
    "qcow2-refcount1": ["-O", "qcow2", "-o", "refcount_bits=1"],
    "qcow2-refcount64": ["-O", "qcow2", "-o", "refcount_bits=64"],
    "qcow2-compressed": ["-O", "qcow2", "-c"],
    "qcow2-v2-compressed": ["-O", "qcow2", "-c", "-o", "compat=0.10"],
    "vpc-dynamic": ["-O", "vpc", "-o", "subformat=dynamic,force_size=on"],
    "vpc-fixed": ["-O", "vpc", "-o", "subformat=fixed,force_size=on"],
}


def qemu_image(tmp_path, name):
    raw = tmp_path / "src.raw"
    make_raw(raw, 8 * MIB, 1)
    qfmt = "vpc" if name.startswith("vpc") else "qcow2"
    image = tmp_path / f"{name}.img"
    qemu_img("convert", "-f", "raw", *QEMU_IMAGES[name], raw, image)
    ref = tmp_path / "ref.raw"
    qemu_img("convert", "-f", qfmt, "-O", "raw", image, ref)
    return image, qfmt, ref


@pytest.mark.parametrize("name", sorted(QEMU_IMAGES))
def test_qemu_images_read_and_written_by_hull(tmp_path, name):
    image, qfmt, ref = qemu_image(tmp_path, name)
    if "compressed" in name:
        out = qemu_img("check", image)
        m = re.search(r"([0-9.]+)% compressed clusters", out)
        assert m and float(m.group(1)) > 0, "qemu-img stored no compressed cluster: " + out
    # A fixed VHD has no header at offset 0; QEMU itself cannot tell it from raw either.
    fmt = "vhd" if qfmt == "vpc" else None
    assert_hull_reads(image, ref, tmp_path, fmt)
    for i, (off, n) in enumerate(WRITES):
        hull_write(image, ref, off, compressible(n, 100 + i), fmt)
    qemu_check(image, qfmt)
    assert_same(image, qfmt, ref)
    assert_hull_reads(image, ref, tmp_path, fmt)


def test_zero_clusters_and_discard(tmp_path):
    image, ref = tmp_path / "z.qcow2", tmp_path / "ref.raw"
    make_raw(ref, 8 * MIB, 2)
    qemu_img("convert", "-f", "raw", "-O", "qcow2", ref, image)
    # Zero clusters with and without a preallocated host cluster.
    qemu_io("qcow2", str(image), "write -z 0 128k", "write -z -u 1M 64k")
    apply(ref, 0, bytes(128 * 1024))
    apply(ref, MIB, bytes(64 * 1024))
    assert_hull_reads(image, ref, tmp_path)
    hull_write(image, ref, 4096, b"x" * 512)
    hull_write(image, ref, MIB + 512, b"y" * 1024)
    tool("discard", image, 2 * MIB, MIB)
    apply(ref, 2 * MIB, bytes(MIB))
    qemu_check(image, "qcow2")
    assert_same(image, "qcow2", ref)


def test_backing_chain(tmp_path):
    base, ref = tmp_path / "base.raw", tmp_path / "ref.raw"
    make_raw(base, 8 * MIB, 3)
    shutil.copy(base, ref)
    mid, top = tmp_path / "mid.qcow2", tmp_path / "top.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", mid)
    qemu_io("qcow2", str(mid), "write -P 0x11 64k 64k", "write -P 0x22 1M 4k")
    apply(ref, 65536, b"\x11" * 65536)
    apply(ref, MIB, b"\x22" * 4096)
    # hull creates the top layer on qemu's chain.
    tool("create", "qcow2", top, 0, "--backing", "mid.qcow2")
    info = json.loads(qemu_img("info", "--output=json", top))
    assert info["backing-filename"] == "mid.qcow2" and info["backing-filename-format"] == "qcow2"
    assert_hull_reads(top, ref, tmp_path)
    hull_write(top, ref, 65536 + 512, b"t" * 512)    # copy-up of a cluster from mid
    hull_write(top, ref, 3 * MIB + 1024, b"u" * 2048)  # copy-up from base
    qemu_check(top, "qcow2")
    assert_same(top, "qcow2", ref)
    # The backing files are unchanged.
    qemu_img("compare", "-f", "raw", "-F", "raw", base, base)
    out = subprocess.run(["qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", mid, top],
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr


def test_corrupt_image_is_named(tmp_path):
    image = tmp_path / "bad.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", image, "16M")
    with open(image, "r+b") as f:
        f.seek(40)
        f.write((0x7FFF0000).to_bytes(8, "big"))
    p = tool("info", image, check=False)
    assert p.returncode == 1
    assert "qcow2: l1_table_offset 0x7fff0000 beyond end of file" in p.stderr.decode()


def test_encrypted_and_unsupported_refused(tmp_path):
    image = tmp_path / "enc.qcow2"
    # qemu-img times its PBKDF on the thread's CPU clock and gives up ("Unable to get
    # accurate CPU usage") when a loaded machine starves it; a short iteration time and a
    # few tries keep the reference image made by qemu-img itself.
    for attempt in range(5):
        p = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "--object",
                            "secret,id=s0,data=hunter2", "-o",
                            "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10",
                            str(image), "16M"], capture_output=True, text=True)
        if p.returncode == 0:
            break
        assert "CPU usage" in p.stderr, p.stderr
    else:
        pytest.fail(f"qemu-img could not make a LUKS image: {p.stderr}")
    p = tool("info", image, check=False)
    assert p.returncode == 1 and "encrypted" in p.stderr.decode(), p.stderr
    ext = tmp_path / "ext.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", ext, "16M")
    p = tool("info", ext, check=False)
    assert p.returncode == 1 and "subclusters" in p.stderr.decode(), p.stderr
    diff_base, diff = tmp_path / "base.vhd", tmp_path / "diff.vhd"
    tool("create", "vhd", diff_base, 4 * MIB)
    with open(diff_base, "r+b") as f:
        # Turn the dynamic disk into a differencing one (type 4) and fix both footers' checksums.
        data = bytearray(f.read())
        for at in (0, len(data) - 512):
            footer = data[at:at + 512]
            footer[60:64] = (4).to_bytes(4, "big")
            footer[64:68] = bytes(4)
            footer[64:68] = ((~sum(footer)) & 0xFFFFFFFF).to_bytes(4, "big")
            data[at:at + 512] = footer
        diff.write_bytes(bytes(data))
    p = tool("info", diff, check=False)
    assert p.returncode == 1 and "differencing" in p.stderr.decode(), p.stderr
