"""Service discovery: the per-network responder answers names and aliases, forwards the rest to
the host's resolvers (or a container's --dns servers) over UDP and TCP, and goes away with its
network. Resolution is checked with glibc (getent) through the generated files, and on the wire
with netpeer.py."""
import fcntl
import os
import signal
import subprocess
import time

from netlab import CLIENT4, HULL_DNS, wait_for


def responder_pid(lab, net):
    return lab.json("inspect", net)["dns_responder"]["responder_pid"]


def test_names_aliases_and_forwarding(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.100.0/24")
    web, db, cli = lab.container("web"), lab.container("db"), lab.container("cli")
    lab.attach(net, web, "--name", "web", "--alias", "frontend", "--alias", "www")
    lab.attach(net, db, "--name", "db", "--alias", "frontend")
    lab.attach(net, cli, "--name", "cli")
    pid = responder_pid(lab, net)
    assert pid and open(f"/proc/{pid}/status").read().count("\nUid:\t65534") == 1  # runs as nobody

    # glibc, through the generated resolv.conf: names, aliases (shared alias: both), case-insensitive
    assert cli.resolve("web") == ["10.89.100.2"]
    assert cli.resolve("WWW") == ["10.89.100.2"]
    assert cli.resolve("frontend") == ["10.89.100.2", "10.89.100.3"]
    assert cli.resolve("db") == ["10.89.100.3"]
    # other names go to the host's resolver (the lab's upstream on the client host)
    assert cli.resolve("shop.example.test") == ["203.0.113.7"]
    assert cli.resolve("nowhere.invalid") == []

    # on the wire: authoritative answers for ours, NODATA for a missing family, PTR, TCP, MX
    out = cli.peer("dns-query", "10.89.100.1", "web").stdout.split("\n")
    assert out[0] == "rcode=0 aa=1 tc=0" and out[1] == "10.89.100.2"
    assert cli.peer("dns-query", "10.89.100.1", "web", "--type", "AAAA").stdout.strip() == "rcode=0 aa=1 tc=0"
    out = cli.peer("dns-query", "10.89.100.1", "3.100.89.10.in-addr.arpa", "--type", "PTR").stdout.split()
    assert out[-1] == "db"
    out = cli.peer("dns-query", "10.89.100.1", "db", "--tcp").stdout.split()
    assert out[-1] == "10.89.100.3"
    out = cli.peer("dns-query", "10.89.100.1", "x.test", "--tcp").stdout.split()
    assert out == ["rcode=0", "aa=0", "tc=0", "203.0.113.7"]
    # a big upstream answer: truncated over UDP (relayed as is), complete over TCP
    assert cli.peer("dns-query", "10.89.100.1", "big.test").stdout.split()[2] == "tc=1"
    assert len(cli.peer("dns-query", "10.89.100.1", "big.test", "--tcp").stdout.split()) == 3 + 40
    assert cli.resolve("big.test") != []

    # a name goes away with its container; the table is reread without restarting the responder
    lab.tool("detach", net, web.ns)
    assert cli.resolve("web") == []
    assert cli.resolve("frontend") == ["10.89.100.3"]
    assert responder_pid(lab, net) == pid

    for c in (db, cli):
        lab.tool("detach", net, c.ns)
    lab.tool("rm", net)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                    open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z")


def test_per_container_dns_and_internal_network(lab):
    net, internal = f"{lab.tag}n1", f"{lab.tag}in"
    lab.create(net, "--subnet", "10.89.101.0/24")
    lab.create(internal, "--subnet", "10.89.102.0/24", "--internal")
    a, b, i1, i2 = (lab.container(n) for n in ("a", "b", "i1", "i2"))
    # a's questions go to its own server (the client host); the name table still answers first
    lab.attach(net, a, "--name", "a", "--dns", CLIENT4, "--dns-search", "corp.example", "--dns-option", "ndots:2")
    lab.attach(net, b, "--name", "b")
    resolv = open(os.path.join(a.files, "resolv.conf")).read()
    assert "nameserver 10.89.101.1" in resolv and "search corp.example" in resolv and "options ndots:2" in resolv
    assert a.resolve("b") == ["10.89.101.3"]
    assert a.resolve("q.test") == ["203.0.113.7"]

    # internal: names answer, nothing is forwarded outside
    lab.attach(internal, i1, "--name", "i1")
    lab.attach(internal, i2, "--name", "i2")
    assert i1.resolve("i2") == ["10.89.102.3"]
    out = i1.peer("dns-query", "10.89.102.1", "q.test").stdout.split()
    assert out[0] == "rcode=3"
    for c, n in ((a, net), (b, net), (i1, internal), (i2, internal)):
        lab.tool("detach", n, c.ns)
    lab.tool("rm", net)
    lab.tool("rm", internal)


def test_responder_restarts_after_kill(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.103.0/24")
    a, b = lab.container("a"), lab.container("b")
    lab.attach(net, a, "--name", "a")
    pid = responder_pid(lab, net)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: responder_pid(lab, net) is None)
    # the next attach sees it gone (its pid-file lock is free) and starts a new one
    lab.attach(net, b, "--name", "b")
    new = responder_pid(lab, net)
    assert new and new != pid
    assert b.resolve("a") == ["10.89.103.2"]
    lab.tool("detach", net, a.ns)
    lab.tool("detach", net, b.ns)
    lab.tool("rm", net)


def test_responder_idle_exit_and_bad_start(lab, tmp_path):
    """hull-dns on its own: it leaves after an empty table, but only holding the store lock."""
    lock = tmp_path / "lock"
    lock.write_text("")
    lab.hsh("ip", "addr", "add", "10.89.104.1/24", "dev", "lo")

    def responder(name, idle):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        return [*lab.host.enter(), HULL_DNS, "--network", "t", "--dir", str(d), "--lock", str(lock),
                "--listen", "10.89.104.1", "--idle", str(idle), "--keep-privileges", "--ready-fd", "1"]

    p = subprocess.Popen(responder("d1", 1), stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ok"
        # holding the store lock keeps it alive past its idle time
        with open(lock) as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            time.sleep(2.5)
            assert p.poll() is None
        assert p.wait(timeout=5) == 0
    finally:
        p.kill()
        p.communicate()
    # a second responder for the same address cannot bind: the reason comes back on the ready fd
    p1 = subprocess.Popen(responder("d1", 0), stdout=subprocess.PIPE, text=True)
    try:
        assert p1.stdout.readline().strip() == "ok"
        p2 = subprocess.run(responder("d2", 0), capture_output=True, text=True, timeout=10)
        assert p2.returncode == 1
        assert "cannot listen on 10.89.104.1 port 53/udp: Address already in use" in p2.stdout
        p1.send_signal(signal.SIGTERM)
        assert p1.wait(timeout=5) == 0
    finally:
        p1.kill()
        p1.communicate()
    lab.hsh("ip", "addr", "del", "10.89.104.1/24", "dev", "lo")
