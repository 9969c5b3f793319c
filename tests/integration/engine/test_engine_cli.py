"""The container and volume commands on the command line: generated man-page help, argument
checks, bash completion, options after the image belonging to the container, and the image
commands handed to the hull-image helper."""
import os
import re
import subprocess

import pytest

import engine_util as eu
from engine_fixtures import ROOT_ONLY, hull  # noqa: F401

pytestmark = ROOT_ONLY

COMMANDS = ["run", "create", "start", "stop", "restart", "kill", "rm", "ps", "logs", "exec", "attach", "inspect",
            "container inspect", "top", "stats", "wait", "cp", "pause", "unpause", "rename", "container prune",
            "volume create", "volume ls", "volume inspect", "volume rm", "volume prune"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_per_command(cmd, hull):
    out = hull.run(*cmd.split(), "--help").out
    assert out.startswith(f"Usage: hull {cmd} [OPTIONS]")
    assert "Exit status:" in out and "Global options:" in out
    # Every option of the table is documented with its argument.
    lines = out.split("Options:\n")[1].split("\n\n")[0].splitlines() if "Options:\n" in out else []
    assert all(re.match(r"^ +(-\w, )?--[a-z-]+", l) and len(l.split(None, 2)) >= 2 for l in lines), lines


def test_run_help_is_a_manual(hull):
    out = hull.run("run", "--help").out
    for opt in ("--detach", "--interactive", "--tty", "--rm", "--name", "--env", "--env-file", "--volume", "--mount",
                "--workdir", "--user", "--entrypoint", "--restart", "--memory", "--cpus", "--pids-limit", "--cap-add",
                "--cap-drop", "--privileged", "--read-only", "--security-opt", "--hostname", "--label", "--health-cmd",
                "--health-interval", "--health-timeout", "--health-retries", "--health-start-period", "--network"):
        assert opt in out, opt
    assert "126 when COMMAND could not be executed, 127 when it was not found" in out


def test_main_help_and_aliases(hull, tag):
    out = hull.run("--help").out
    for c in ("run", "ps", "logs", "exec", "volume create", "container prune"):
        assert f"  {c} " in out
    assert "container cleanup" not in out  # internal
    hull.run("container", "create", "--name", tag, "bb")
    assert hull.run("container", "ls", "-a", "-q").out.strip() != ""
    hull.run("container", "rm", tag)


def test_argument_checks(hull):
    line = hull.fail("run")
    assert "missing arguments" in line and "IMAGE" in line
    assert "too many arguments" in hull.fail("rename", "a", "b", "c")
    assert "unknown command" in hull.fail("frobnicate")
    assert "--time: invalid number" in hull.fail("stop", "-t", "soon", "x")
    assert "--signal: unknown signal" in hull.fail("kill", "-s", "NOPE", "x")


def test_options_after_image_belong_to_the_container(hull):
    # -l is hull's --label before the image, ls's option after it.
    out = hull.run("run", "--rm", "bb", "ls", "-l", "-d", "/").out
    assert out.startswith("d")
    assert hull.run("run", "--rm", "-e", "V=1", "bb", "sh", "-c", "echo $V", "-e").out == "1\n"


def test_completion_covers_engine_commands(hull, tag):
    script = hull.run("completion", "bash").out
    assert "container) if" in script and "volume) if" in script
    for c in ("run", "exec", "logs", "volume rm"):
        assert f'"{c}"' in script
    hull.run("create", "--name", tag, "bb")
    comp = subprocess.run(["bash", "-c", f"source /dev/stdin; export PATH={os.path.dirname(eu.HULL)}:$PATH; "
                           f"HULL_ROOT={hull.root}; export HULL_ROOT; COMP_WORDS=(hull logs {tag[:4]}); COMP_CWORD=2; "
                           "_hull; echo ${COMPREPLY[@]}"], input=script, capture_output=True, text=True)
    assert tag in comp.stdout.split(), comp.stderr
    hull.run("rm", tag)


def test_transfer_commands_run_in_the_helper(hull, tmp_path):
    # `hull save` is served by hull-image with the same arguments and result.
    out = tmp_path / "bb.tar"
    hull.run("save", "-o", str(out), "bb")
    assert out.stat().st_size > 100000
    assert hull.run("save", "--help").out.startswith("Usage: hull save")
    # The light binary does not load the transfer libraries.
    ldd = subprocess.run(["ldd", eu.HULL], capture_output=True, text=True).stdout
    assert "libcurl" not in ldd and "libarchive" not in ldd
