"""The hull command line: generated help, argument checks, exit codes, completion."""
import os
import subprocess

import pytest

import image_util as iu
from image_fixtures import ROOT_ONLY, busybox, hull, registry_basic, registry_http, registry_https, registry_token  # noqa: F401

pytestmark = ROOT_ONLY

COMMANDS = ["pull", "push", "load", "save", "import", "images", "rmi", "tag", "inspect", "history",
            "image prune", "image sign", "completion", "help", "version"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_per_command(cmd, hull):
    p = hull.run(*cmd.split(), "--help")
    assert p.out.startswith(f"Usage: hull {cmd} [OPTIONS]")
    assert "Global options:" in p.out and "--root DIR" in p.out
    assert "Exit status:" in p.out


def test_main_help_lists_every_command(hull):
    out = hull.run("--help").out
    for c in COMMANDS:
        assert f"  {c} " in out
    p = hull.run(check=False)
    assert p.returncode == 125 and "Usage: hull" in p.err


def test_usage_errors(hull):
    assert hull.fail("images", "--bogus") == "hull images: unknown option '--bogus' (see 'hull images --help')"
    assert hull.fail("frobnicate") == "hull: unknown command 'frobnicate' (see 'hull --help')"
    assert hull.fail("tag", "x") == "hull tag: missing arguments (usage: hull tag [OPTIONS] IMAGE NAME [NAME...])"
    assert hull.fail("history", "a", "b").startswith("hull history: too many arguments")
    assert hull.fail("pull", "--tls-verify=maybe", "x") == "hull pull: --tls-verify takes true or false, not 'maybe'"
    assert hull.fail("--log-level", "loud", "images").startswith("hull: invalid --log-level 'loud'")
    assert hull.fail("pull", "Not/Valid") == \
        "hull: pulling 'Not/Valid': invalid reference 'Not/Valid': repository name must be lowercase"
    assert hull.fail("inspect", "missing:1") == "hull: inspecting 'missing:1': image 'missing:1' not found"
    assert hull.fail("save", "--format", "zip", "-o", "/tmp/x", "y").startswith("hull: saving images: unknown --format")


def test_global_options_anywhere_and_env(hull, busybox):
    env_root = dict(HULL_ROOT=hull.root)
    p = subprocess.run([iu.HULL, "images", "-q"], capture_output=True, text=True, env=dict(os.environ, **env_root))
    assert p.stdout.split() == [busybox[:12]]
    p = subprocess.run([iu.HULL, "images", "-q", "--root", hull.root], capture_output=True, text=True)
    assert p.stdout.split() == [busybox[:12]]
    assert hull.run("version").out.startswith("hull version ")


def test_bash_completion(hull, busybox, tmp_path):
    script = hull.run("completion", "bash").out
    path = tmp_path / "hull.bash"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    # Complete "hull im" and "hull rmi <TAB>" in a real bash.
    probe = f"""
source {path}
hull() {{ {iu.HULL} --root {hull.root} "$@"; }}
COMP_WORDS=(hull im); COMP_CWORD=1; _hull; echo "A:${{COMPREPLY[*]}}"
COMP_WORDS=(hull rmi ''); COMP_CWORD=2; _hull; echo "B:${{COMPREPLY[*]}}"
COMP_WORDS=(hull image pr); COMP_CWORD=2; _hull; echo "C:${{COMPREPLY[*]}}"
COMP_WORDS=(hull pull --tls); COMP_CWORD=2; _hull; echo "D:${{COMPREPLY[*]}}"
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout
    lines = dict(l.split(":", 1) for l in out.splitlines())
    assert set(lines["A"].split()) == {"images", "import", "image"}
    assert lines["B"].split() == ["docker.io/library/bb:1"]
    assert lines["C"].split() == ["prune"]
    assert lines["D"].split() == ["--tls-verify"]
    assert hull.fail("completion", "fish") == "hull: completion: unsupported shell 'fish' (supported: bash)"


def test_not_root(hull, tmp_path):
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", iu.HULL, "--root",
                        str(tmp_path / "s"), "images"], capture_output=True, text=True)
    assert p.returncode == 125
    assert p.stderr.strip() == "hull images: must be run as root"
