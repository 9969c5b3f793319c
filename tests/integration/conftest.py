"""Fixtures shared by every integration test: `tag` and the autouse `leak_check` (see hulltest.py)."""
import os
import shutil
import stat

import pytest

from hulltest import (LeakCheck, SESSION_TAG, _cleanup, _descendants, _files_under,  # noqa: F401
                      _wait_descendants_gone, _counter)


@pytest.fixture
def tag():
    """A short unique name for this test's objects (container ids, links: keep names <= 15 chars)."""
    _counter[0] += 1
    return f"{SESSION_TAG}{_counter[0]:03d}"


@pytest.fixture(autouse=True)
def leak_check(request, tag):
    lc = LeakCheck(tag)
    if os.geteuid() != 0:
        yield lc
        return
    before = lc.snapshot()
    before_procs = set(_descendants())
    yield lc
    procs = {p: c for p, c in _wait_descendants_gone().items() if p not in before_procs}
    after = lc.snapshot()
    leaks = lc.diff(before, after)
    files = _files_under(lc.state_dirs)
    msgs = [f"{k}: {e}" for k, e in leaks]
    msgs += [f"process: {pid} {cmd}" for pid, cmd in procs.items()]
    msgs += [f"state file: {f}" for f in files]
    st = os.stat("/dev/null")
    if not (stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3):
        msgs.append("host damage: /dev/null is no longer the null device")
        os.unlink("/dev/null")
        os.mknod("/dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod("/dev/null", 0o666)
    if msgs:
        # Clean up only what is certainly ours (our processes, entries carrying this session's
        # tag): in strict mode a run on a shared machine also sees other programs' mounts and
        # cgroups, which it reports but must never tear down.
        _cleanup([(k, e) for k, e in leaks if SESSION_TAG in e], procs)
        for d in lc.state_dirs:
            shutil.rmtree(d, ignore_errors=True)
        pytest.fail("leak check: test left behind:\n  " + "\n  ".join(msgs), pytrace=False)
