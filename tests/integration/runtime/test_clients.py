"""hull-runtime driven the way podman (through conmon) and containerd's runc shim drive it.

Each test repeats, with hull-runtime alone, a call sequence or an edge case that one of these
clients depends on; tests/integration/clients/ runs the clients themselves.
"""
import json
import os
import time


def wait_status(rt, cid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        st = rt.state(cid)["status"]
        if st == want or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def test_delete_force_of_missing_container_succeeds(rt, bundle):
    """podman runs `delete --force` after a failed create, containerd's shim after its shim died:
    both log an error when the runtime fails because the container is already gone (runc does not)."""
    p = rt.run("delete", "--force", "missing-" + bundle.id, check=False)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    p = rt.run("delete", "missing-" + bundle.id, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_delete_force_removes_unfinished_create(rt, bundle):
    """A create killed before it saved state.json leaves its directory behind, and the id stays
    taken until a forced delete removes it (runc does the same)."""
    leftover = os.path.join(rt.root, bundle.id)
    os.mkdir(leftover, 0o700)
    p = rt.run("create", "--bundle", bundle.path, bundle.id, check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    rt.run("delete", "--force", bundle.id)
    assert not os.path.exists(leftover)
    bundle.set_args("/bin/true")
    rt.run("run", "--bundle", bundle.path, bundle.id)


def test_kill_of_exited_container_says_container_not_running(rt, bundle, tmp_path):
    """containerd's shim signals a task that may have exited meanwhile; it recognises runc's
    "container not running" in the error (from --log or stderr) and reports the task as gone."""
    bundle.set_args("/bin/true")
    rt.run("run", "-d", "--bundle", bundle.path, bundle.id)
    try:
        assert wait_status(rt, bundle.id, "stopped") == "stopped"
        log = tmp_path / "log.json"
        p = rt.run("kill", bundle.id, "9", check=False, log=log, log_format="json")
        assert p.returncode != 0 and "container not running" in p.stderr
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["level"] == "error" and "container not running" in last["msg"]
        # --all signals whatever is left in the cgroup: nothing, and that is no error
        rt.run("kill", "--all", bundle.id, "9")
    finally:
        rt.run("delete", bundle.id)
