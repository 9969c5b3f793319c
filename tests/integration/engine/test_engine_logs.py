"""The json-file log: its format on disk, logs --tail/-t/-f/--since, rotation with --log-opt,
and the restart policy and health checks that the monitor applies."""
import json
import subprocess
import time

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY


def log_records(hull, name):
    path = hull.inspect(name)["LogPath"]
    with open(path) as f:
        return [json.loads(l) for l in f]


def test_log_file_is_docker_json_file(hull, tag):
    hull.run("run", "--name", tag, "bb", "sh", "-c", "echo one; echo two >&2; printf 'no newline'")
    recs = log_records(hull, tag)
    assert [(r["stream"], r["log"]) for r in recs] == [("stdout", "one\n"), ("stderr", "two\n"),
                                                       ("stdout", "no newline")]
    for r in recs:
        assert set(r) == {"log", "stream", "time"} and r["time"].endswith("Z") and "T" in r["time"]
    p = hull.run("logs", tag)
    assert p.out == "one\nno newline" and p.err == "two\n"


def test_logs_of_attached_run_are_recorded(hull, tag):
    assert hull.run("run", "--name", tag, "bb", "echo", "attached").out == "attached\n"
    assert hull.run("logs", tag).out == "attached\n"


def test_tail_timestamps_since(hull, tag):
    hull.run("run", "--name", tag, "bb", "sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done")
    assert hull.run("logs", "--tail", "2", tag).out == "l4\nl5\n"
    assert hull.run("logs", "--tail", "0", tag).out == ""
    assert hull.run("logs", "--tail", "all", tag).out.count("\n") == 5
    line = hull.run("logs", "-t", "--tail", "1", tag).out
    ts, text = line.split(" ", 1)
    assert text == "l5\n" and ts.endswith("Z")
    assert hull.run("logs", "--since", "1h", tag).out.count("\n") == 5
    assert hull.run("logs", "--until", "1h", tag).out == ""
    assert "--tail" in hull.fail("logs", "--tail", "many", tag)


def test_follow_until_exit(hull, tag):
    hull.run("run", "-d", "--name", tag, "bb", "sh", "-c", "for i in 1 2 3; do echo f$i; sleep 0.3; done")
    t0 = time.monotonic()
    p = hull.run("logs", "-f", tag, timeout=30)
    assert p.out == "f1\nf2\nf3\n"
    assert time.monotonic() - t0 < 20


def test_rotation(hull, tag):
    hull.run("run", "--name", tag, "--log-opt", "max-size=4k", "--log-opt", "max-file=3", "bb", "sh", "-c",
             "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done")
    path = hull.inspect(tag)["LogPath"]
    import os
    assert os.path.getsize(path) <= 4096
    assert os.path.exists(path + ".1") and os.path.exists(path + ".2") and not os.path.exists(path + ".3")
    out = hull.run("logs", tag).out.split()
    assert out[-1] == "line-399"
    # What is kept is a contiguous end of the output.
    first = int(out[0].split("-")[1])
    assert out == [f"line-{i}" for i in range(first, 400)]
    assert hull.run("logs", "--tail", "3", tag).out.split() == ["line-397", "line-398", "line-399"]


def test_restart_on_failure(hull, tag):
    hull.run("run", "-d", "--name", tag, "--restart", "on-failure:2", "bb", "sh", "-c", "echo try; exit 3")
    c = hull.wait_for(tag, lambda c: c["State"]["Status"] == "exited" and c["RestartCount"] == 2, timeout=30,
                      what="two restarts")
    assert c["State"]["ExitCode"] == 3
    assert hull.run("logs", tag).out == "try\n" * 3


def test_restart_always_and_stop(hull, tag):
    hull.run("run", "-d", "--name", tag, "--restart", "always", "bb", "sh", "-c", "sleep 0.2; exit 0")
    hull.wait_for(tag, lambda c: c["RestartCount"] >= 2, timeout=30, what="restarts")
    hull.run("stop", "-t", "1", tag)
    c = hull.inspect(tag)
    n = c["RestartCount"]
    assert c["State"]["Status"] == "exited"
    time.sleep(1)
    assert hull.inspect(tag)["RestartCount"] == n and hull.state(tag) == "exited"


def test_restart_no_and_kill(hull, tag):
    hull.run("run", "-d", "--name", tag, "--restart", "always", "bb", "sleep", "300")
    hull.run("kill", tag)
    hull.wait_for(tag, lambda c: c["State"]["Status"] == "exited", what="exit")
    time.sleep(0.5)
    assert hull.state(tag) == "exited"  # a kill is a stop: no restart


def test_health_check(hull, tag):
    hull.run("run", "-d", "--name", tag, "--health-cmd", "test -f /tmp/ready", "--health-interval", "200ms",
             "--health-retries", "2", "bb", "sh", "-c", "sleep 1.2; touch /tmp/ready; sleep 300")
    assert hull.inspect(tag)["State"]["Health"]["Status"] in ("starting", "unhealthy")
    hull.wait_for(tag, lambda c: c["State"]["Health"]["Status"] == "unhealthy", timeout=10, what="unhealthy")
    c = hull.wait_for(tag, lambda c: c["State"]["Health"]["Status"] == "healthy", timeout=10, what="healthy")
    h = c["State"]["Health"]
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0
    assert any(l["ExitCode"] == 1 for l in h["Log"])
    assert "(healthy)" in hull.run("ps").out


def test_health_timeout_and_none(hull, tag):
    hull.run("run", "-d", "--name", tag, "--health-cmd", "sleep 5", "--health-interval", "200ms",
             "--health-timeout", "300ms", "--health-retries", "1", "bb", "sleep", "300")
    c = hull.wait_for(tag, lambda c: c["State"]["Health"]["Status"] == "unhealthy", timeout=15, what="timeout")
    assert c["State"]["Health"]["Log"][-1]["ExitCode"] == -1
    assert "timeout" in c["State"]["Health"]["Log"][-1]["Output"]
    # Processes of timed-out checks do not pile up in the container.
    top = hull.run("top", tag).out
    assert top.count("sleep 5") <= 1
    hull.run("rm", "-f", tag)
    hull.run("run", "-d", "--name", tag, "--health-cmd", "true", "--no-healthcheck", "bb", "sleep", "300")
    assert "Health" not in hull.inspect(tag)["State"]
