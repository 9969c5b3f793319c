"""The network lab of tests/integration/net: a private "host" namespace per test.

Each test gets its own host network namespace (<tag>h) in which hull's networks, bridges,
nftables table and sysctls live, so that tests never touch the real host's links or rules and
parallel runs cannot collide. A second namespace (<tag>c) is another machine on the host's LAN,
linked by a veth (<tag>u0 in the host, <tag>u1 in the client, 198.51.100.0/24 and fd0f::/64):
it is also the host's default router ("the Internet") and runs a small DNS server that the
host's /etc/resolv.conf points to (ip netns exec bind-mounts /etc/netns/<tag>h/resolv.conf).
Containers are further namespaces (<tag>x...), attached with net-tool.

At the end of a test the lab checks that hull left nothing in the host namespace (links besides
lo and the uplink, addresses on them, table inet hull, state files) before deleting it; the
autouse leak check of tests/integration/conftest.py then covers namespaces and processes.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from hulltest import BUILD

HERE = os.path.dirname(os.path.abspath(__file__))
NET_TOOL = os.path.join(BUILD, "tests", "integration", "net", "net-tool")
HULL_DNS = os.path.join(BUILD, "cmd", "hull-dns", "hull-dns")
PEER = os.path.join(HERE, "netpeer.py")
PY = "/usr/bin/python3"

UPLINK4, CLIENT4 = "198.51.100.1", "198.51.100.2"
UPLINK6, CLIENT6 = "fd0f::1", "fd0f::2"


def run(*args, check=True, timeout=30, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


class Proc:
    """A background process in a namespace that prints "ready" once it serves."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, *map(str, args)], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise AssertionError(f"{' '.join(map(str, args))} did not start: {line}")

    def wait(self, timeout=10):
        out, _ = self.p.communicate(timeout=timeout)
        return self.p.returncode, out

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.communicate()


class Container:
    def __init__(self, lab, name):
        self.lab = lab
        self.ns = f"{lab.tag}x{name}"
        self.files = os.path.join(lab.dir, f"files-{name}")
        run("ip", "netns", "add", self.ns)
        lab.namespaces.append(self.ns)

    @property
    def path(self):
        return f"/run/netns/{self.ns}"

    def sh(self, *args, check=True, timeout=30):
        return run("ip", "netns", "exec", self.ns, *args, check=check, timeout=timeout)

    def peer(self, *args, check=True, timeout=30):
        return self.sh(PY, PEER, *args, check=check, timeout=timeout)

    def serve(self, kind, port, count=1, bind=None):
        extra = ["--bind", bind] if bind else []
        return Proc(self.ns, PY, PEER, f"serve-{kind}", port, "--count", count, *extra)

    def resolve(self, name, family="v4"):
        """Resolve through glibc with the container's generated resolv.conf and hosts."""
        cmd = (f"mount --bind {self.files}/resolv.conf /etc/resolv.conf && "
               f"mount --bind {self.files}/hosts /etc/hosts && exec getent ahosts{family} {name}")
        p = run("ip", "netns", "exec", self.ns, "unshare", "-m", "--propagation", "private", "sh", "-c", cmd,
                check=False)
        return sorted({line.split()[0] for line in p.stdout.splitlines() if line.strip()})


class Lab:
    def __init__(self, tag, leak_check, tmp_path):
        self.tag = tag
        self.host = f"{tag}h"
        self.client = f"{tag}c"
        self.dir = str(tmp_path)
        self.root = os.path.join(self.dir, "state")
        self.namespaces = []
        self.procs = []
        self.etc = f"/etc/netns/{self.host}"
        for table in ("networks", "endpoints", "leases", "ports", "dns", "sysctl"):
            leak_check.watch_dir(os.path.join(self.root, "net", table))
        for ns in (self.host, self.client):
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.host, "link", "add", f"{tag}u0", "type", "veth", "peer", "name", f"{tag}u1",
            "netns", self.client)
        for ns, dev, a4, a6 in ((self.host, f"{tag}u0", UPLINK4, UPLINK6), (self.client, f"{tag}u1", CLIENT4, CLIENT6)):
            run("ip", "-n", ns, "addr", "add", f"{a4}/24", "dev", dev)
            run("ip", "-n", ns, "addr", "add", f"{a6}/64", "dev", dev, "nodad")
            run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", self.host, "route", "add", "default", "via", CLIENT4)
        run("ip", "-n", self.host, "-6", "route", "add", "default", "via", CLIENT6)
        # Off, so that the tests see hull turn forwarding on, and back off.
        for key in ("net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"):
            run("ip", "netns", "exec", self.host, "sysctl", "-qw", key)
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write(f"search example.org\nnameserver {CLIENT4}\n")
        self.upstream = Proc(self.client, PY, PEER, "dns-serve", CLIENT4)

    # -------------------------------------------------------------- hull
    def tool(self, *args, check=True, timeout=30, ns=None, env=None):
        cmd = ["ip", "netns", "exec", ns or self.host, NET_TOOL, "--root", self.root, "--dns-helper", HULL_DNS,
               *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"net-tool {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
        return p

    def json(self, *args):
        out = self.tool(*args).stdout
        return json.loads(out) if out.strip() else None

    def create(self, name, *opts):
        return self.json("create", name, "--opt", f"bridge={self.tag}{name[-3:]}", *opts)

    def container(self, name):
        return Container(self, name)

    def attach(self, net, c, *opts, endpoint=None):
        return self.json("attach", net, endpoint or c.ns, "--netns", c.path, "--files-dir", c.files, *opts)

    def hsh(self, *args, check=True, timeout=30):
        return run("ip", "netns", "exec", self.host, *args, check=check, timeout=timeout)

    def client_peer(self, *args, check=True, timeout=30):
        return run("ip", "netns", "exec", self.client, PY, PEER, *args, check=check, timeout=timeout)

    def host_peer(self, *args, check=True, timeout=30):
        return run("ip", "netns", "exec", self.host, PY, PEER, *args, check=check, timeout=timeout)

    def links(self):
        out = run("ip", "-n", self.host, "-j", "link", "show").stdout
        return {l["ifname"]: l for l in json.loads(out)}

    def nft(self):
        return self.hsh("nft", "list", "ruleset").stdout

    def sysctl(self, key):
        return self.hsh("sysctl", "-n", key).stdout.strip()

    # -------------------------------------------------------------- end of test
    def leftovers(self):
        """What hull left in the host namespace, as a list of strings (empty: clean)."""
        out = []
        for name in self.links():
            if name not in ("lo", f"{self.tag}u0"):
                out.append(f"link {name}")
        addrs = json.loads(run("ip", "-n", self.host, "-j", "addr", "show").stdout)
        for l in addrs:
            for a in l.get("addr_info", []):
                if l["ifname"] in ("lo", f"{self.tag}u0") and a["local"] in ("127.0.0.1", "::1", UPLINK4, UPLINK6):
                    continue
                if a.get("scope") == "link":
                    continue
                out.append(f"address {a['local']} on {l['ifname']}")
        tables = self.hsh("nft", "list", "tables").stdout.strip()
        if tables:
            out.append(f"nft: {tables}")
        if self.sysctl("net.ipv4.ip_forward") != "0":
            out.append("net.ipv4.ip_forward was left on")
        return out

    def close(self):
        self.upstream.stop()
        for p in self.procs:
            p.stop()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)
        try:
            os.rmdir("/etc/netns")
        except OSError:
            pass


@pytest.fixture
def lab(tag, leak_check, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network tests need root (network namespaces, nftables)")
    if not os.path.exists(NET_TOOL) or not os.path.exists(HULL_DNS):
        pytest.skip("net-tool or hull-dns is not built (scripts/build release)")
    if shutil.which("nft") is None:
        pytest.skip("nft (nftables) is not installed")
    lab = Lab(tag, leak_check, tmp_path)
    try:
        yield lab
        # Every test removes what it made; whatever a failed step left is reclaimed here so that
        # the check below and the next test start clean.
        names = [n["name"] for n in lab.json("ls") or []]
        for n in names:
            lab.tool("rm", "--force", n, check=False)
        left = lab.leftovers()
        assert not names, f"networks left behind: {names}"
        assert not left, "hull left behind in the host namespace:\n  " + "\n  ".join(left)
    finally:
        lab.close()


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
