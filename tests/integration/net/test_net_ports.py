"""Published ports: from another host, from the host's loopback, from other containers; TCP and
UDP, ranges, -P, conflicts, and exact removal of the rules."""
import json
import re

from netlab import CLIENT4, PEER, PY, UPLINK4, Proc


def pub_elements(lab):
    """The elements of maps pub4 and pub4any, as nft prints them."""
    elems = []
    for m in ("pub4", "pub4any"):
        out = lab.hsh("nft", "-j", "list", "map", "inet", "hull", m).stdout
        elems += json.loads(out)["nftables"][1]["map"].get("elem", [])
    return elems


def test_tcp_and_udp_from_another_host_and_loopback(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.97.0.0/24")
    c = lab.container("c1")
    res = lab.attach(net, c, "-p", "8080:80", "-p", "5353:53/udp", "-p", "127.0.0.1:9090:90")
    assert [(p["host_port"], p["container_port"], p["protocol"]) for p in res["ports"]] == [
        (8080, 80, "tcp"), (5353, 53, "udp"), (9090, 90, "tcp")]

    # from another host, over the LAN link: the container sees the client's own address
    srv = c.serve("tcp", 80)
    assert lab.client_peer("tcp", UPLINK4, 8080).stdout.strip() == CLIENT4
    assert srv.wait()[0] == 0
    srv = c.serve("udp", 53)
    assert lab.client_peer("udp", UPLINK4, 5353).stdout.strip() == CLIENT4
    assert srv.wait()[0] == 0

    # from the host itself, through loopback (route_localnet + masquerade to the gateway)
    srv = c.serve("tcp", 80)
    assert lab.host_peer("tcp", "127.0.0.1", 8080).stdout.strip() == "10.97.0.1"
    assert srv.wait()[0] == 0
    srv = c.serve("tcp", 90)
    assert lab.host_peer("tcp", "127.0.0.1", 9090).stdout.strip() == "10.97.0.1"
    assert srv.wait()[0] == 0
    # ... but a binding to 127.0.0.1 is not reachable from outside
    p = lab.client_peer("tcp", UPLINK4, 9090, "--timeout", "1", check=False)
    assert p.returncode == 1

    lab.tool("detach", net, c.ns)
    assert pub_elements(lab) == []
    p = lab.client_peer("tcp", UPLINK4, 8080, "--timeout", "1", check=False)
    assert p.returncode == 1
    lab.tool("rm", net)


def test_from_other_containers(lab):
    a, b = f"{lab.tag}a", f"{lab.tag}b"
    lab.create(a, "--subnet", "10.98.0.0/24")
    lab.create(b, "--subnet", "10.98.1.0/24")
    web = lab.container("web")
    same = lab.container("same")
    other = lab.container("other")
    lab.attach(a, web, "-p", "8080:80")
    lab.attach(a, same)
    lab.attach(b, other)
    # same network, through the host's address (hairpin): answered, source NATed to the gateway
    srv = web.serve("tcp", 80, count=2)
    assert same.peer("tcp", UPLINK4, 8080).stdout.strip() == "10.98.0.1"
    # another network, through the host's address: published ports are reachable from anywhere
    assert other.peer("tcp", UPLINK4, 8080).stdout.strip() == "10.98.0.1"
    assert srv.wait()[0] == 0
    for c, n in ((web, a), (same, a), (other, b)):
        lab.tool("detach", n, c.ns)
    lab.tool("rm", a)
    lab.tool("rm", b)


def test_ranges_and_publish_all(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.99.0.0/24")
    c = lab.container("c1")
    res = lab.attach(net, c, "-p", "7000-7002:8000-8002", "--expose", "9000/tcp", "--expose", "9001/udp")
    ports = {(p["container_port"], p["protocol"]): p["host_port"] for p in res["ports"]}
    assert ports[(8000, "tcp")] == 7000 and ports[(8002, "tcp")] == 7002
    lo, hi = map(int, lab.hsh("sysctl", "-n", "net.ipv4.ip_local_port_range").stdout.split())
    assert lo <= ports[(9000, "tcp")] <= hi and lo <= ports[(9001, "udp")] <= hi
    srv = c.serve("tcp", 8001)
    assert lab.client_peer("tcp", UPLINK4, 7001).stdout.strip() == CLIENT4
    srv.wait()
    srv = c.serve("tcp", 9000)
    assert lab.client_peer("tcp", UPLINK4, ports[(9000, "tcp")]).stdout.strip() == CLIENT4
    srv.wait()
    assert len(pub_elements(lab)) == 5
    lab.tool("detach", net, c.ns)
    assert pub_elements(lab) == []
    lab.tool("rm", net)


def test_port_conflicts(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.90.7.0/24")
    c1, c2 = lab.container("c1"), lab.container("c2")
    lab.attach(net, c1, "-p", "8080:80")
    links = set(lab.links())
    # taken by another container: clear error, nothing of c2 is left
    p = lab.tool("attach", net, c2.ns, "--netns", c2.path, "-p", "8080:81", check=False)
    assert p.returncode == 1 and f"host port 8080/tcp is already published by '{c1.ns}@{net}'" in p.stderr
    assert set(lab.links()) == links and "eth0" not in c2.sh("ip", "link").stdout
    # a specific address against a wildcard binding of the same port
    p = lab.tool("attach", net, c2.ns, "--netns", c2.path, "-p", "127.0.0.1:8080:81", check=False)
    assert p.returncode == 1 and "already published" in p.stderr
    # taken by a host process
    srv = Proc(lab.host, PY, PEER, "serve-tcp", 8181)
    p = lab.tool("attach", net, c2.ns, "--netns", c2.path, "-p", "8181:80", check=False)
    assert p.returncode == 1 and "host port 8181/tcp is already in use on the host" in p.stderr
    srv.stop()
    # a host address that is not the host's
    p = lab.tool("attach", net, c2.ns, "--netns", c2.path, "-p", "192.0.2.77:8282:80", check=False)
    assert p.returncode == 1 and "host address 192.0.2.77 is not an address of this host" in p.stderr
    # malformed specs
    for spec, msg in (("80:80:80:80", "brackets"), ("7000-7005:80-81", "differ in length"),
                      ("0:99999", "invalid container port"), ("80/icmp", "unknown protocol 'icmp'")):
        p = lab.tool("attach", net, c2.ns, "--netns", c2.path, "-p", spec, check=False)
        assert p.returncode == 1 and msg in p.stderr, (spec, p.stderr)
    assert set(lab.links()) == links
    # the same port over UDP is another binding
    lab.attach(net, c2, "-p", "8080:80/udp")
    assert len(pub_elements(lab)) == 2
    lab.tool("detach", net, c1.ns)
    lab.tool("detach", net, c2.ns)
    lab.tool("rm", net)


def test_internal_network_cannot_publish(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--internal")
    c = lab.container("c1")
    p = lab.tool("attach", net, c.ns, "--netns", c.path, "-p", "8080:80", check=False)
    assert p.returncode == 1 and "is internal: it cannot publish ports" in p.stderr
    assert re.search(r"10\.\d+\.\d+\.\d+", lab.json("inspect", net)["ipv4"]["subnet"])
    lab.tool("rm", net)


def test_host_loopback_not_reachable_from_containers(lab):
    """route_localnet=1 on the bridge (for loopback-published ports) must not let a container reach
    the host's 127.0.0.1 services by routing 127/8 to its gateway (CVE-2020-8558)."""
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.97.8.0/24")
    c = lab.container("c1")
    lab.attach(net, c)
    srv = Proc(lab.host, PY, PEER, "serve-tcp", 7777, "--bind", "127.0.0.1")
    # the container does all it can to send to 127.0.0.1 through its gateway
    c.sh("sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
    c.sh("ip", "route", "add", "127.0.0.1/32", "via", "10.97.8.1", "dev", "eth0", "table", "100")
    c.sh("ip", "rule", "add", "to", "127.0.0.1", "lookup", "100", "pref", "10")
    c.sh("ip", "rule", "del", "pref", "0")
    c.sh("ip", "rule", "add", "lookup", "local", "pref", "100")
    assert "via 10.97.8.1 dev eth0" in c.sh("ip", "route", "get", "127.0.0.1").stdout
    assert c.peer("tcp", "127.0.0.1", 7777, "--timeout", "1", check=False).returncode == 1
    nat = lab.hsh("nft", "list", "chain", "inet", "hull", "nat_pre").stdout
    assert re.search(r"ip daddr 127\.0\.0\.0/8 iifname @bridges counter packets [1-9]", nat), nat
    srv.stop()
    lab.tool("detach", net, c.ns)
    lab.tool("rm", net)
