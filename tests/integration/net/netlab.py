"""The network lab of tests/integration/net (the `lab` fixture is in conftest.py): a private "host" namespace per test.

Each test gets its own host network namespace in which hull's networks, bridges, nftables
table and sysctls live, so that tests never touch the real host's links or rules and parallel
runs cannot collide. A second namespace is another machine on the host's LAN, linked by a veth
(<tag>u0 in the host, <tag>u1 in the client, 198.51.100.0/24 and fd0f::/64): it is also the
host's default router ("the Internet") and runs a small DNS server that the host's resolv.conf
points to. Containers are further namespaces, attached with net-tool.

The namespaces are anonymous, each held by a sleeping process (unshare -n) and entered through
/proc/PID/ns/net: nothing appears in /run/netns or the host's link table, where the leak checks
of other test runs on this shared machine would take them for their own leftovers. Commands run
in the host namespace get their own mount namespace with that namespace's /sys and the lab's
resolv.conf bound over /etc/resolv.conf (as `ip netns exec` does for named namespaces).

At the end of a test the lab checks that hull left nothing in the host namespace (links besides
lo and the uplink, addresses on them, table inet hull, forwarding, state files) before killing
the holders; the autouse leak check of tests/integration/conftest.py then covers processes.
"""
import json
import os
import sqlite3
import subprocess
import time

from hulltest import BUILD

HERE = os.path.dirname(os.path.abspath(__file__))
NET_TOOL = os.path.join(BUILD, "tests", "integration", "net", "net-tool")
HULL_DNS = os.path.join(BUILD, "cmd", "hull-dns", "hull-dns")
PEER = os.path.join(HERE, "netpeer.py")
PY = "/usr/bin/python3"

UPLINK4, CLIENT4 = "198.51.100.1", "198.51.100.2"
UPLINK6, CLIENT6 = "fd0f::1", "fd0f::2"


class Netns:
    """An anonymous network namespace held by a sleeping process."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 1d"],
                                       stdout=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            raise AssertionError("cannot create a network namespace")
        self.pid = self.holder.pid
        self.path = f"/proc/{self.pid}/ns/net"

    def enter(self):
        return ["nsenter", f"--net={self.path}"]

    def close(self):
        if self.holder.returncode is not None:
            return
        self.holder.kill()
        self.holder.communicate()


def run(*args, check=True, timeout=30, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


class Proc:
    """A background process in a namespace that prints "ready" once it serves."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen([*ns.enter(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
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
        self.name = name
        self.ns = f"{lab.tag}x{name}"  # its endpoint id
        self.netns = Netns()
        self.files = os.path.join(lab.dir, f"files-{name}")
        lab.netns.append(self.netns)

    @property
    def path(self):
        return self.netns.path

    def enter(self):
        return self.netns.enter()

    def kill(self):
        self.netns.close()

    def sh(self, *args, check=True, timeout=30):
        return run(*self.enter(), *args, check=check, timeout=timeout)

    def peer(self, *args, check=True, timeout=30):
        return self.sh(PY, PEER, *args, check=check, timeout=timeout)

    def serve(self, kind, port, count=1, bind=None):
        extra = ["--bind", bind] if bind else []
        return Proc(self, PY, PEER, f"serve-{kind}", port, "--count", count, *extra)

    def resolve(self, name, family="v4"):
        """Resolve through glibc with the container's generated resolv.conf and hosts."""
        cmd = (f"mount --bind {self.files}/resolv.conf /etc/resolv.conf && "
               f"mount --bind {self.files}/hosts /etc/hosts && exec getent ahosts{family} {name}")
        p = run(*self.enter(), "unshare", "-m", "--propagation", "private", "sh", "-c", cmd, check=False)
        return sorted({line.split()[0] for line in p.stdout.splitlines() if line.strip()})


class HostNs:
    """The lab's host namespace as seen by a command: its /sys and the lab's resolv.conf."""

    def __init__(self, netns, resolv):
        self.netns = netns
        self.resolv = resolv

    def enter(self):
        setup = f"mount -t sysfs sysfs /sys && mount --bind {self.resolv} /etc/resolv.conf && exec \"$@\""
        return [*self.netns.enter(), "unshare", "-m", "--propagation", "private", "sh", "-c", setup, "sh"]


class Lab:
    def __init__(self, tag, leak_check, tmp_path):
        self.tag = tag
        self.dir = str(tmp_path)
        self.root = os.path.join(self.dir, "state")
        self.run = os.path.join(self.dir, "run")
        self.netns = []
        self.procs = []
        leak_check.watch_dir(os.path.join(self.run, "net", "dns"))
        self.resolv = os.path.join(self.dir, "host-resolv.conf")
        with open(self.resolv, "w") as f:
            f.write(f"search example.org\nnameserver {CLIENT4}\n")
        self.host_ns, self.client_ns = Netns(), Netns()
        self.netns += [self.host_ns, self.client_ns]
        self.host = HostNs(self.host_ns, self.resolv)
        self.client = self.client_ns
        h, c = self.host_ns.enter(), self.client_ns.enter()
        run(*h, "ip", "link", "add", f"{tag}u0", "type", "veth", "peer", "name", f"{tag}u1", "netns",
            self.client_ns.pid)
        for e, dev, a4, a6 in ((h, f"{tag}u0", UPLINK4, UPLINK6), (c, f"{tag}u1", CLIENT4, CLIENT6)):
            run(*e, "ip", "addr", "add", f"{a4}/24", "dev", dev)
            run(*e, "ip", "addr", "add", f"{a6}/64", "dev", dev, "nodad")
            run(*e, "ip", "link", "set", dev, "up")
        run(*h, "ip", "route", "add", "default", "via", CLIENT4)
        run(*h, "ip", "-6", "route", "add", "default", "via", CLIENT6)
        # Off, so that the tests see hull turn forwarding on, and back off.
        run(*h, "sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0")
        self.upstream = Proc(self.client, PY, PEER, "dns-serve", CLIENT4)

    # -------------------------------------------------------------- hull
    def tool(self, *args, check=True, timeout=30, ns=None, env=None):
        cmd = [*(ns or self.host).enter(), *self.tool_args(), *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"net-tool {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
        return p

    def tool_args(self):
        return [NET_TOOL, "--root", self.root, "--run", self.run, "--dns-helper", HULL_DNS]

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
        return run(*self.host.enter(), *args, check=check, timeout=timeout)

    def client_peer(self, *args, check=True, timeout=30):
        return run(*self.client.enter(), PY, PEER, *args, check=check, timeout=timeout)

    def host_peer(self, *args, check=True, timeout=30):
        return self.hsh(PY, PEER, *args, check=check, timeout=timeout)

    def links(self):
        out = run(*self.host_ns.enter(), "ip", "-j", "link", "show").stdout
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
        addrs = json.loads(run(*self.host_ns.enter(), "ip", "-j", "addr", "show").stdout)
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
        # rows: only the node's ULA prefix outlives the networks
        for db, allowed in ((os.path.join(self.root, "state.db"), {("node", "ula48")}),
                            (os.path.join(self.run, "net", "run.db"), set())):
            if not os.path.exists(db):
                continue
            with sqlite3.connect(db) as c:
                for tbl, key in c.execute("SELECT tbl, key FROM net_rows"):
                    if (tbl, key) not in allowed:
                        out.append(f"row {tbl}/{key} in {os.path.basename(db)}")
        return out

    def close(self):
        self.upstream.stop()
        for p in self.procs:
            p.stop()
        for ns in reversed(self.netns):
            ns.close()


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
