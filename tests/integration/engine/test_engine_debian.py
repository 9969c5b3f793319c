"""A real distribution image (Debian 12 made by debootstrap, scripts/image-assets): users and
groups from its /etc/passwd and /etc/group, a package manager, bash, exec into it."""
import pytest

from engine_fixtures import ROOT_ONLY, debian, debian_store  # noqa: F401

pytestmark = ROOT_ONLY


def test_debian_runs(debian):
    out = debian.run("run", "--rm", "debian:12", "cat", "/etc/os-release").out
    assert 'ID=debian' in out and 'VERSION_ID="12"' in out
    assert "apt " in debian.run("run", "--rm", "debian:12", "apt-get", "--version").out


def test_debian_users_and_groups(debian):
    out = debian.run("run", "--rm", "-u", "nobody", "debian:12", "id").out
    assert out.startswith("uid=65534(nobody) gid=65534(nogroup)")
    # _apt's primary group comes from passwd; supplementary groups from group's member lists.
    assert debian.run("run", "--rm", "-u", "_apt", "debian:12", "id", "-u").out == "42\n"
    assert debian.run("run", "--rm", "-u", "daemon:adm", "debian:12", "id", "-g").out == "4\n"
    assert debian.run("run", "--rm", "-u", "nobody", "debian:12", "bash", "-c", "echo $HOME").out == "/nonexistent\n"


def test_debian_exec_and_shell(debian, tag):
    debian.run("run", "-d", "--name", tag, "debian:12", "sleep", "300")
    assert debian.run("exec", tag, "bash", "-c", "echo ${BASH_VERSION%%.*}").out.strip().isdigit()
    assert debian.run("exec", "-u", "nobody", tag, "whoami").out == "nobody\n"
    debian.run("rm", "-f", tag)
