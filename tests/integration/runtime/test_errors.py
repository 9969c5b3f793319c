"""Bad input: one clear line naming the field or value, a non-zero exit, and nothing left behind.

The leak check after each test verifies "nothing left behind": no state directory entry, no
cgroup, no mount, no process.
"""
import json
import os

import pytest


def fails(rt, *args, log=None, **kw):
    p = rt.run(*args, check=False, log=log, log_format="json" if log else None, **kw)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("hull-runtime: ")
    return lines[0]


def test_malformed_json(rt, bundle):
    with open(bundle.config_path, "w") as f:
        f.write('{\n  "ociVersion": "1.2.0",\n  "process": {\n')
    msg = fails(rt, "run", "--bundle", bundle.path, bundle.id)
    assert "config.json" in msg and "line 4" in msg


@pytest.mark.parametrize("mutate,field", [
    (lambda c: c["process"].__setitem__("args", "sh"), "process.args"),
    (lambda c: c["process"]["user"].__setitem__("uid", "root"), "process.user.uid"),
    (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "'bogus'"),
    (lambda c: c["mounts"][0].__setitem__("destination", "relative"), "mounts[0].destination"),
    (lambda c: c["process"]["capabilities"]["bounding"].append("CAP_NOPE"), "CAP_NOPE"),
    (lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}), "RLIMIT_NOPE"),
    (lambda c: c.__setitem__("ociVersion", "2.0.0"), "ociVersion"),
    (lambda c: c["linux"].__setitem__("intelRdt", {"closID": "x"}), "linux.intelRdt"),
])
def test_schema_violations(rt, bundle, mutate, field):
    mutate(bundle.config)
    bundle.save()
    assert field in fails(rt, "create", "--bundle", bundle.path, bundle.id)


def test_missing_rootfs(rt, bundle):
    bundle.config["root"]["path"] = "nonexistent"
    bundle.save()
    msg = fails(rt, "run", "--bundle", bundle.path, bundle.id)
    assert "root.path" in msg and "nonexistent" in msg


def test_missing_bundle(rt, tmp_path):
    assert "--bundle" in fails(rt, "run", "--bundle", tmp_path / "nope", "x")


def test_duplicate_id(rt, bundle):
    bundle.set_args("/bin/sleep", "30")
    rt.run("create", "--bundle", bundle.path, bundle.id)
    try:
        assert "already exists" in fails(rt, "create", "--bundle", bundle.path, bundle.id)
    finally:
        rt.run("delete", "--force", bundle.id)


def test_bad_signal_and_missing_container(rt, bundle):
    bundle.set_args("/bin/sleep", "30")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    try:
        assert "invalid signal 'SIGNOPE'" in fails(rt, "kill", bundle.id, "SIGNOPE")
    finally:
        rt.run("delete", "--force", bundle.id)
    for verb in ("state", "start", "kill", "delete", "pause", "resume", "ps", "events"):
        assert "does not exist" in fails(rt, verb, "missing-" + bundle.id)
    assert "invalid container id" in fails(rt, "state", "../etc")


def test_unknown_option_and_command(rt):
    assert "unknown option" in fails(rt, "create", "--bogus", "x")
    assert "unknown command 'frobnicate'" in fails(rt, "frobnicate")
    assert "expected" in fails(rt, "kill")


def test_program_not_found(rt, bundle):
    bundle.set_args("/no/such/program")
    msg = fails(rt, "run", "--bundle", bundle.path, bundle.id)
    assert "/no/such/program" in msg and "No such file or directory" in msg
    bundle.set_args("missing-tool")
    assert "executable file `missing-tool` not found in $PATH" in fails(rt, "create", "--bundle", bundle.path,
                                                                         bundle.id)


def test_error_in_log_file(rt, bundle, tmp_path):
    bundle.config["linux"]["namespaces"].append({"type": "bogus"})
    bundle.save()
    log = tmp_path / "runtime.log"
    fails(rt, "create", "--bundle", bundle.path, bundle.id, log=str(log))
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert entries[-1]["level"] == "error" and "bogus" in entries[-1]["msg"]


def test_failure_after_clone_leaves_nothing(rt, bundle):
    """A mount that fails inside the container process: create is undone completely."""
    bundle.config["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
    bundle.save()
    msg = fails(rt, "create", "--bundle", bundle.path, bundle.id)
    assert "mounts[" in msg and "nosuchfs" in msg
    assert [e for e in os.listdir(rt.root) if not e.startswith(".")] == []


def test_seccomp_profile_libseccomp_cannot_compile(rt, bundle):
    # Four rules of three overlapping argument conditions under different actions make
    # libseccomp 2.5 loop; hull-runtime compiles in a child bounded by 10 s and says so.
    here = os.path.dirname(os.path.abspath(__file__))
    seed = os.path.join(here, "..", "..", "fuzz", "corpus", "seccomp", "libseccomp-loops.json")
    with open(seed) as f:
        bundle.config["linux"]["seccomp"] = json.load(f)["linux"]["seccomp"]
    bundle.save()
    msg = fails(rt, "run", "--bundle", bundle.path, bundle.id)
    assert "linux.seccomp: libseccomp did not compile the filter within 10000 ms" in msg
