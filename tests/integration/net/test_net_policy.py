"""Isolation between networks, internal networks, and egress/ingress allow/deny lists of
containers and networks, enforced in nftables and shown by inspect."""
import re

from netlab import CLIENT4, PEER, PY, UPLINK4, Proc, run


def reach(c, host, port, kind="tcp"):
    return c.peer(kind, host, port, "--timeout", "1", check=False).returncode == 0


def test_networks_are_isolated(lab):
    a, b = f"{lab.tag}a", f"{lab.tag}b"
    lab.create(a, "--subnet", "10.89.110.0/24")
    lab.create(b, "--subnet", "10.89.111.0/24")
    a1, a2, b1 = lab.container("a1"), lab.container("a2"), lab.container("b1")
    lab.attach(a, a1)
    lab.attach(a, a2)
    lab.attach(b, b1)
    srv = a1.serve("tcp", 80, count=1)
    assert not reach(b1, "10.89.110.2", 80)      # another network: dropped
    assert a2.peer("tcp", "10.89.110.2", 80).stdout.strip() == "10.89.110.3"
    srv.wait()
    # the outside cannot reach a container's address directly either (only published ports)
    run(*lab.client.enter(), "ip", "route", "add", "10.89.110.0/24", "via", UPLINK4)
    srv = a1.serve("tcp", 80, count=1)
    assert lab.client_peer("tcp", "10.89.110.2", 80, "--timeout", "1", check=False).returncode == 1
    srv.stop()
    for c, n in ((a1, a), (a2, a), (b1, b)):
        lab.tool("detach", n, c.ns)
    lab.tool("rm", a)
    lab.tool("rm", b)


def test_internal_network(lab):
    net = f"{lab.tag}in"
    info = lab.create(net, "--internal", "--subnet", "10.89.112.0/24")
    assert info["internal"] is True
    c1, c2 = lab.container("c1"), lab.container("c2")
    res = lab.attach(net, c1)
    lab.attach(net, c2)
    assert res["gateway4"] is None
    assert "default" not in c1.sh("ip", "route").stdout
    # members talk to each other
    srv = c2.serve("tcp", 80)
    assert c1.peer("tcp", "10.89.112.3", 80).stdout.strip() == "10.89.112.2"
    srv.wait()
    # no way out: not to another host, not even through a route via the bridge address
    srv = Proc(lab.client, PY, PEER, "serve-tcp", 7000)
    assert not reach(c1, CLIENT4, 7000)
    c1.sh("ip", "route", "add", "default", "via", "10.89.112.1")
    assert not reach(c1, CLIENT4, 7000)
    # and not to the host's own services
    hsrv = Proc(lab.host, PY, PEER, "serve-tcp", 7001)
    assert not reach(c1, "10.89.112.1", 7001)
    srv.stop()
    hsrv.stop()
    # the routed network for comparison: forwarding is off as long as only internal networks exist
    assert lab.sysctl("net.ipv4.ip_forward") == "0"
    lab.tool("detach", net, c1.ns)
    lab.tool("detach", net, c2.ns)
    lab.tool("rm", net)


def test_container_egress_policy(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.113.0/24")
    c, other = lab.container("c"), lab.container("o")
    lab.attach(net, c, "--egress", "allow=tcp:443", "--egress", "allow=udp:53", "--egress", "deny=all")
    lab.attach(net, other)
    info = lab.json("inspect", net)
    assert info["endpoints"][c.ns]["egress"] == ["allow=tcp:443", "allow=udp:53", "deny=all"]
    s443 = Proc(lab.client, PY, PEER, "serve-tcp", 443)
    s80 = Proc(lab.client, PY, PEER, "serve-tcp", 80, "--count", 2)
    assert c.peer("tcp", CLIENT4, 443).stdout.strip() == UPLINK4
    assert not reach(c, CLIENT4, 80)                   # denied: rejected, fails fast
    assert other.peer("tcp", CLIENT4, 80).stdout.strip() == UPLINK4  # other containers unaffected
    s443.stop()
    # the policy also covers the host itself and other containers of the network
    hsrv = Proc(lab.host, PY, PEER, "serve-tcp", 8000)
    assert not reach(c, "10.89.113.1", 8000)
    osrv = other.serve("tcp", 8000)
    assert not reach(c, "10.89.113.3", 8000)
    hsrv.stop()
    osrv.stop()
    # DNS to the network's responder stays allowed
    assert c.peer("dns-query", "10.89.113.1", "x.test").returncode == 0

    # replaced at run time, atomically
    lab.tool("endpoint-policy", net, c.ns, "--egress", "allow=10.89.113.0/24", "--egress", "deny=tcp")
    assert lab.json("inspect", net)["endpoints"][c.ns]["egress"] == ["allow=10.89.113.0/24", "deny=tcp"]
    osrv = other.serve("tcp", 8000)
    assert reach(c, "10.89.113.3", 8000)
    osrv.wait()
    assert not reach(c, CLIENT4, 80)
    lab.tool("endpoint-policy", net, c.ns, "--clear-egress")
    assert c.peer("tcp", CLIENT4, 80).stdout.strip() == UPLINK4
    s80.wait()
    lab.tool("detach", net, c.ns)
    lab.tool("detach", net, other.ns)
    assert not re.search(r"\be-[0-9a-f]{12}-", lab.nft())
    lab.tool("rm", net)


def test_ingress_and_network_policy(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.114.0/24", "--ingress", "deny=tcp:22")
    web, cli = lab.container("web"), lab.container("cli")
    lab.attach(net, web, "-p", "8080:80", "-p", "2222:22", "-p", "9000:9000",
               "--ingress", "allow=tcp:80", "--ingress", "allow=tcp:22", "--ingress", "deny=all")
    lab.attach(net, cli)
    info = lab.json("inspect", net)
    assert info["ingress"] == ["deny=tcp:22"] and info["policy_scope"] == "all"
    # allowed through the published port, from another host and from the host's loopback
    srv = web.serve("tcp", 80, count=2)
    assert lab.client_peer("tcp", UPLINK4, 8080).stdout.strip() == CLIENT4
    assert lab.host_peer("tcp", "127.0.0.1", 8080).stdout.strip() == "10.89.114.1"
    srv.wait()
    # the container allows 22, the network denies it: both lists must agree
    srv = web.serve("tcp", 22)
    assert lab.client_peer("tcp", UPLINK4, 2222, "--timeout", "1", check=False).returncode == 1
    srv.stop()
    # port 9000 is published but not allowed in
    srv = web.serve("tcp", 9000)
    assert lab.client_peer("tcp", UPLINK4, 9000, "--timeout", "1", check=False).returncode == 1
    assert not reach(cli, "10.89.114.2", 9000)
    srv.stop()
    # the network's list changes at run time
    lab.tool("policy", net, "--clear-ingress")
    srv = web.serve("tcp", 22)
    assert lab.client_peer("tcp", UPLINK4, 2222).stdout.strip() == CLIENT4
    srv.wait()
    assert lab.json("inspect", net)["ingress"] == []
    lab.tool("detach", net, web.ns)
    lab.tool("detach", net, cli.ns)
    lab.tool("rm", net)


def test_network_egress_policy_and_spoofing(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.115.0/24", "--egress", "deny=tcp:25")
    c, d = lab.container("c"), lab.container("d")
    lab.attach(net, c, "--egress", "allow=all")
    lab.attach(net, d, "--egress", "deny=all")
    s25 = Proc(lab.client, PY, PEER, "serve-tcp", 25)
    s26 = Proc(lab.client, PY, PEER, "serve-tcp", 26)
    assert not reach(c, CLIENT4, 25)                        # the network's deny wins over allow=all
    assert c.peer("tcp", CLIENT4, 26).stdout.strip() == UPLINK4
    s26.wait()
    s25.stop()
    # d takes another address to escape its deny=all: the port guard drops it
    d.sh("ip", "addr", "add", "10.89.115.77/24", "dev", "eth0")
    d.sh("ip", "route", "replace", "default", "via", "10.89.115.1", "src", "10.89.115.77")
    s27 = Proc(lab.client, PY, PEER, "serve-tcp", 27)
    assert not reach(d, CLIENT4, 27)
    s27.stop()
    guard = lab.hsh("nft", "list", "chain", "bridge", "hull", "ports").stdout
    drops = int(re.search(r"counter packets (\d+) bytes \d+ drop", guard).group(1))
    assert drops > 0, guard
    # ... and so does a new MAC address (the port guard pins the one hull gave)
    d.sh("ip", "addr", "del", "10.89.115.77/24", "dev", "eth0")
    d.sh("ip", "route", "replace", "default", "via", "10.89.115.1")
    d.sh("ip", "link", "set", "eth0", "address", "02:66:66:66:66:66")
    s28 = Proc(lab.client, PY, PEER, "serve-tcp", 28)
    assert not reach(d, CLIENT4, 28)
    s28.stop()
    guard = lab.hsh("nft", "list", "chain", "bridge", "hull", "ports").stdout
    assert int(re.search(r"counter packets (\d+) bytes \d+ drop", guard).group(1)) > drops, guard
    lab.tool("detach", net, c.ns)
    lab.tool("detach", net, d.ns)
    lab.tool("rm", net)


def test_bad_policies(lab):
    net = f"{lab.tag}n1"
    for rule, msg in (("allow", "needs allow= or deny="), ("permit=tcp", "unknown action 'permit'"),
                      ("allow=tcp:0", "invalid port"), ("deny=icmp:80", "ports need tcp, udp or sctp"),
                      ("deny=gre", "unknown protocol 'gre'"), ("allow=icmp@fd00::/8", "address family differ"),
                      ("deny=10.0.0.0/40", "invalid CIDR")):
        p = lab.tool("create", net, "--egress", rule, check=False)
        assert p.returncode == 1 and msg in p.stderr, (rule, p.stderr)
    assert lab.json("ls") == []
