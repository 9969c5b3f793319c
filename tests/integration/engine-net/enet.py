"""The `enet` fixture of tests/integration/engine-net: hull (the CLI, a private store) on the network
lab of tests/integration/net (netlab.py).

hull runs in the lab's "host" namespace (its bridges, nftables table and forwarding sysctls live
there, never in the machine's own); the lab's second namespace is another machine on the host's LAN
(CLIENT4/CLIENT6 over the <tag>u0/<tag>u1 veth), the host's default router and an upstream DNS server
(*.test -> 203.0.113.7). Containers are real hull containers of the busybox image; the network peers
of netpeer.py run in a container's namespace through nsenter (busybox has no UDP client or server).

At the end every container and user network is removed, then the fixture checks that hull left in
the host namespace nothing but the default network (bridge hull0 and the table's fixed part): no
veth, no address of a container, no element in hull's maps and sets, no endpoint, lease or port row.
Helpers live here, not in a conftest.py (with all of tests/integration collected, "conftest" is
another directory's module).
"""
import json
import os
import time
import sqlite3
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))
sys.path.insert(0, os.path.join(HERE, "..", "engine"))

import engine_util as eu  # noqa: E402
from netlab import CLIENT4, CLIENT6, PEER, PY, UPLINK4, UPLINK6, Lab, run  # noqa: E402,F401

TOOL = os.path.join(eu.BUILD, "tests", "integration", "engine-net", "engine-net-tool")
HULL_DNS = os.path.join(eu.BUILD, "cmd", "hull-dns", "hull-dns")


class Ns:
    """A container's network namespace, for nsenter."""

    def __init__(self, pid):
        self.path = f"/proc/{pid}/ns/net"

    def enter(self):
        return ["nsenter", f"--net={self.path}"]


class Server:
    """netpeer.py serve-tcp|serve-udp in a namespace; prints "ready" once it listens."""

    def __init__(self, ns, kind, port, count=1, bind=None):
        extra = ["--bind", bind] if bind else []
        self.p = subprocess.Popen([*ns.enter(), PY, PEER, f"serve-{kind}", str(port), "--count", str(count), *extra],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise AssertionError(f"serve-{kind} {port} did not start: {line}")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        if not self.p.stdout.closed:
            self.p.communicate()


class Enet:
    def __init__(self, lab, tmp_path, tag, leak_check):
        self.lab = lab
        self.tag = tag
        root = tmp_path / f"root-{tag}"
        self.hull = eu.Hull(str(root), netns=lab.host_ns)
        tar = eu.busybox_tar(str(tmp_path / "bb.tar"))
        self.hull.run("import", "--change", 'CMD ["/bin/sh"]', "--change", "EXPOSE 80/tcp", "--change", "EXPOSE 53/udp", tar, "bb")
        leak_check.watch_dir(str(root / "containers"))
        leak_check.watch_dir(str(root / "run" / "net" / "dns"))
        self.servers = []

    # ------------------------------------------------------------ hull
    def run(self, *args, **kw):
        return self.hull.run(*args, **kw)

    def fail(self, *args, **kw):
        return self.hull.fail(*args, **kw)

    def d(self, name, *opts, cmd=("sleep", "300")):
        """hull run -d --name <tag><name> OPTS bb CMD; the container's name."""
        full = f"{self.tag}{name}"
        self.run("run", "-d", "--name", full, *opts, "bb", *cmd)
        return full

    def inspect(self, name):
        return self.hull.inspect(name)

    def ip(self, name, network=None):
        ns = self.inspect(name)["NetworkSettings"]
        return ns["Networks"][network]["IPAddress"] if network else ns["IPAddress"]

    def ns(self, name):
        return Ns(self.inspect(name)["State"]["Pid"])

    def sh(self, name, script, check=True, timeout=30):
        """A shell command in the container (busybox)."""
        return self.run("exec", name, "sh", "-c", script, check=check, timeout=timeout)

    def peer(self, name, *args, check=True, timeout=30):
        """netpeer.py in the container's network namespace."""
        p = subprocess.run([*self.ns(name).enter(), PY, PEER, *map(str, args)], capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"netpeer {args} in {name} failed: {p.stdout}{p.stderr}")
        return p

    def serve(self, name, kind, port, count=1):
        s = Server(self.ns(name), kind, port, count)
        self.servers.append(s)
        return s

    def can_reach(self, name, host, port, timeout=1):
        """A TCP connection from the container with busybox nc (0: connected)."""
        return self.sh(name, f"echo x | nc -w {timeout} {host} {port} >/dev/null 2>&1", check=False).returncode == 0

    def resolve(self, name, target):
        """The IPv4 addresses busybox nslookup gets for target from the container's resolv.conf."""
        out = self.sh(name, f"nslookup {target} 2>/dev/null", check=False).out
        lines = out.split("\n\n", 1)[-1] if "\n\n" in out else ""
        return sorted({l.split()[-1] for l in lines.splitlines() if l.startswith("Address") and "." in l})

    # ------------------------------------------------------------ host namespace
    def host(self, *args, check=True):
        return self.hull.sh(*args, check=check)

    def peer_host(self, *args):
        """netpeer.py in the host namespace (the host's own processes, its loopback)."""
        return self.host(PY, PEER, *map(str, args), check=False)

    def links(self):
        return {l["ifname"]: l for l in json.loads(self.host("ip", "-j", "link", "show").stdout)}

    def leftovers(self):
        out = []
        for name in self.links():
            if name not in ("lo", f"{self.tag}u0", "hull0"):
                out.append(f"link {name}")
        for l in json.loads(self.host("ip", "-j", "addr", "show").stdout):
            for a in l.get("addr_info", []):
                if a.get("scope") == "link" or l["ifname"] in ("lo", f"{self.tag}u0"):
                    continue
                if l["ifname"] == "hull0" and a["local"] == "10.88.0.1":
                    continue
                out.append(f"address {a['local']} on {l['ifname']}")
        rules = self.host("nft", "-j", "list", "ruleset").stdout
        for item in json.loads(rules or '{"nftables": []}')["nftables"]:
            for kind in ("set", "map"):
                # The default network's own entries stay with it.
                elems = [e for e in item.get(kind, {}).get("elem", []) if "hull0" not in json.dumps(e)
                         and "10.88.0.0" not in json.dumps(e)]
                if elems:
                    out.append(f"nft {kind} {item[kind]['name']}: {elems}")
        db = os.path.join(self.hull.root, "run", "net", "run.db")
        if os.path.exists(db):
            with sqlite3.connect(db) as c:
                for tbl, key in c.execute("SELECT tbl, key FROM net_rows"):
                    if tbl.split("/")[0] not in ("cursors", "sysctl"):
                        out.append(f"row {tbl}/{key}")
        for d in os.listdir(os.path.join(self.hull.root, "containers")) if os.path.isdir(
                os.path.join(self.hull.root, "containers")) else []:
            out.append(f"container directory {d}")
        return out

    def settled_leftovers(self, ignore=()):
        """leftovers(), once links alone remain for up to 3 s: a veth whose container's namespace
        is gone leaves with the namespace, which the kernel tears down asynchronously (cleanup_net)."""
        deadline = time.monotonic() + 3
        while True:
            left = [l for l in self.leftovers() if not l.startswith(tuple(ignore))]
            if not left or not all(l.startswith("link ") for l in left) or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def close(self):
        for s in self.servers:
            s.stop()
        self.run("rm", "-a", "-f", check=False, timeout=120)
        for n in self.run("network", "ls", "-q").out.split():
            if n != "hull":
                self.run("network", "rm", "-f", n, check=False)
        self.run("volume", "prune", check=False)


@pytest.fixture
def enet(tag, leak_check, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network tests need root (network namespaces, nftables)")
    for b in (eu.HULL, HULL_DNS, os.path.join(eu.BUILD, "cmd", "hull-monitor", "hull-monitor")):
        if not os.path.exists(b):
            pytest.skip(f"{b} is not built: run scripts/build release")
    if not os.path.isdir(eu.BUSYBOX_ROOTFS):
        pytest.skip("assets/busybox-rootfs is missing: run scripts/prepare-assets")
    lab = Lab(tag, leak_check, tmp_path)
    e = None
    try:
        e = Enet(lab, tmp_path, tag, leak_check)
        yield e
        e.close()
        left = e.settled_leftovers()
        assert not left, "hull left behind in the host namespace:\n  " + "\n  ".join(left)
    finally:
        if e:
            for s in e.servers:
                s.stop()
        lab.close()
