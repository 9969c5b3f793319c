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
