"""Daemonless and safe under concurrency and crashes: many hull processes at once, and kill -9
of hull, hull-monitor and hull-runtime at random moments. Afterwards `ps -a` must work, every
container must be removable, the database must be intact, and the leak check (mounts, cgroups,
processes, container files) must find nothing."""
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY


def integrity(hull):
    db = sqlite3.connect(os.path.join(hull.root, "state.db"), timeout=30)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


def test_parallel_runs_and_listing(hull, tag):
    n = 12
    results = {}

    def work(i):
        if i % 3 == 0:
            p = hull.run("run", "--rm", "bb", "sh", "-c", f"echo job{i}", check=False)
        elif i % 3 == 1:
            p = hull.run("run", "-d", "--name", f"{tag}-{i}", "bb", "sleep", "300", check=False)
        else:
            p = hull.run("ps", "-a", check=False)
        results[i] = p

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, p in results.items():
        assert p.returncode == 0, (i, p.err)
        if i % 3 == 0:
            assert p.out == f"job{i}\n"
    names = sorted(c["Names"][0] for c in hull.ps())
    assert names == sorted(f"{tag}-{i}" for i in range(n) if i % 3 == 1)
    assert all(c["State"] == "running" for c in hull.ps())
    # Parallel removal of everything.
    threads = [threading.Thread(target=hull.run, args=("rm", "-f", nm)) for nm in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hull.ps() == []
    integrity(hull)


def test_one_name_one_container(hull, tag):
    procs = [subprocess.Popen(hull.cmd("create", "--name", tag, "bb"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(8)]
    codes = [p.wait() for p in procs]
    errs = [p.stderr.read().decode() for p in procs]
    assert codes.count(0) == 1, errs
    assert all("already in use" in e for c, e in zip(codes, errs) if c != 0)
    assert len(hull.ps()) == 1 and len(hull.files_of_containers()) == 1
    hull.run("rm", tag)


def test_kill_monitor(hull, tag):
    hull.run("run", "-d", "--name", tag, "bb", "sleep", "300")
    pid = hull.inspect(tag)["State"]["Pid"]
    [mon] = eu.monitors_of(hull.root)
    os.kill(mon, signal.SIGKILL)
    time.sleep(0.2)
    # The next command sees the monitor gone, stops the orphaned container and records why.
    st = hull.inspect(tag)["State"]
    assert st["Status"] == "exited" and "monitor" in st["Error"]
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    hull.run("start", tag)
    assert hull.state(tag) == "running"
    hull.run("rm", "-f", tag)
    integrity(hull)


def test_kill_attached_cli(hull, tag):
    p = subprocess.Popen(hull.cmd("run", "--name", tag, "bb", "sh", "-c", "echo up; exec sleep 300"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"up\n"
    p.kill()
    p.wait()
    # The container does not depend on the CLI that started it.
    assert hull.state(tag) == "running"
    assert hull.run("logs", tag).out == "up\n"
    hull.run("stop", "-t", "0", tag)
    assert hull.inspect(tag)["State"]["ExitCode"] == 137


def test_kill_attached_cli_of_rm_container(hull, tag):
    p = subprocess.Popen(hull.cmd("run", "--rm", "--name", tag, "bb", "sh", "-c", "echo up; sleep 1"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"up\n"
    p.kill()
    p.wait()
    # Nobody is left to remove it but its monitor, which runs `hull container cleanup` at the end.
    deadline = time.monotonic() + 20
    while hull.ps() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hull.ps() == []
    assert hull.files_of_containers() == []


def kill_at_random(hull, args, rnd, victim, max_delay):
    """Run hull ARGS and kill -9 one process of the victim's kind of the store after a random delay."""
    p = subprocess.Popen(hull.cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + rnd.uniform(0.0, max_delay)
    killed = False
    while time.monotonic() < deadline or not killed:
        kinds = ["hull", "hull-monitor", "hull-runtime"] if victim == "any" else [victim]
        cands = [pid for k in kinds for pid in eu.pids_of(k, hull.root)]
        if time.monotonic() >= deadline:
            if cands:
                try:
                    os.kill(rnd.choice(cands), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed = True
        elif p.poll() is not None and not cands:
            break
        time.sleep(0.005)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@pytest.mark.parametrize("victim", ["hull", "hull-monitor", "hull-runtime", "any"])
def test_random_kill9(hull, tag, victim):
    """Start containers in every mode and kill -9 one process of the given kind at a random moment."""
    rnd = random.Random(f"{tag}{victim}")
    modes = [["run", "--rm"], ["run"], ["run", "-d"], ["create"], ["run", "--rm", "-d"]]
    for it in range(12):
        mode = modes[it % len(modes)]
        args = mode + ["--name", f"{tag}-{it}", "bb", "sh", "-c", "echo hi; sleep 0.3"]
        kill_at_random(hull, args, rnd, victim, 0.25)
    # The state the kills left is understood: listing works and repairs, everything can be removed.
    for c in hull.ps():
        assert c["State"] in ("created", "running", "exited", "stopping", "restarting", "removing"), c
    p = hull.run("rm", "-a", "-f", check=False)
    if p.returncode != 0:
        os.system(f"find {hull.root}/containers -maxdepth 3 | head -50; cat /proc/self/mountinfo | grep {hull.root}")
        raise AssertionError(p.err)
    # Directories a killed create left without a record are swept by listing once a few seconds old.
    deadline = time.monotonic() + 30
    while (hull.ps() or eu.monitors_of(hull.root) or hull.files_of_containers()) and time.monotonic() < deadline:
        hull.run("rm", "-a", "-f", check=False)
        time.sleep(0.2)
    assert hull.ps() == []
    assert eu.monitors_of(hull.root) == []
    assert hull.files_of_containers() == []
    integrity(hull)


def network_leftovers(hull):
    """Endpoints, leases, port reservations, veths and published-port elements left in the store's namespace."""
    out = []
    db = os.path.join(hull.root, "run", "net", "run.db")
    if os.path.exists(db):
        c = sqlite3.connect(db, timeout=30)
        try:
            out += [f"row {t}/{k}" for t, k in c.execute("SELECT tbl, key FROM net_rows")
                    if t.split("/")[0] not in ("cursors", "sysctl")]
        finally:
            c.close()
    links = hull.sh("ip", "-o", "link").stdout
    out += [f"link {l.split(':')[1].strip()}" for l in links.splitlines() if l.split(":")[1].strip().startswith("vh")]
    rules = hull.sh("nft", "list", "table", "inet", "hull", check=False).stdout
    out += [f"nft: {l.strip()}" for l in rules.splitlines() if "dnat" in l and "elements" in l]
    return out


@pytest.mark.parametrize("victim", ["hull", "hull-monitor", "any"])
def test_random_kill9_network(hull, tag, victim):
    """The same on a user network with a published port: what a kill leaves, the next commands reclaim."""
    rnd = random.Random(f"{tag}{victim}net")
    hull.run("network", "create", f"{tag}n")
    modes = [["run", "--rm"], ["run", "-d"], ["run"], ["run", "--rm", "-d"]]
    for it in range(8):
        mode = modes[it % len(modes)]
        args = mode + ["--name", f"{tag}-{it}", "--network", f"{tag}n", "-p", f"{21000 + it}:80", "bb", "sh", "-c",
                       "echo hi; sleep 0.3"]
        kill_at_random(hull, args, rnd, victim, 0.2)
    for c in hull.ps():
        assert c["State"] in ("created", "running", "exited", "stopping", "restarting", "removing"), c
    deadline = time.monotonic() + 30
    while (hull.ps() or eu.monitors_of(hull.root)) and time.monotonic() < deadline:
        hull.run("rm", "-a", "-f", check=False)
        time.sleep(0.2)
    assert hull.ps() == []
    # Removal and prune reclaim every endpoint, lease, port and rule the kills left; the network goes.
    assert hull.run("network", "prune").out.split() == [f"{tag}n"]
    assert network_leftovers(hull) == []
    integrity(hull)
