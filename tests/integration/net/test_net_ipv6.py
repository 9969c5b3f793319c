"""IPv6 networks: addresses from the same IPAM, AAAA names, NAT66 outbound, published ports."""
import json
import re

from netlab import CLIENT6, PEER, PY, UPLINK6, Proc


def test_ipv6_network(lab):
    net = f"{lab.tag}n6"
    info = lab.create(net, "--subnet", "10.89.120.0/24", "--ipv6", "--subnet6", "fd42:120::/64")
    assert info["ipv6"] == {"subnet": "fd42:120::/64", "gateway": "fd42:120::1", "ip_range": "fd42:120::/64"}
    assert lab.sysctl("net.ipv6.conf.all.forwarding") == "1"
    a, b = lab.container("a"), lab.container("b")
    ra = lab.attach(net, a, "--name", "a")
    rb = lab.attach(net, b, "--name", "b", "--ip6", "fd42:120::b", "-p", "8080:80")
    assert ra["ipv6"] == "fd42:120::2/64" and ra["gateway6"] == "fd42:120::1"
    assert rb["ipv6"] == "fd42:120::b/64"
    addrs = json.loads(a.sh("ip", "-j", "-6", "addr", "show", "eth0").stdout)[0]["addr_info"]
    assert any(x["local"] == "fd42:120::2" and "tentative" not in x for x in addrs)
    assert "default via fd42:120::1 dev eth0" in a.sh("ip", "-6", "route").stdout
    hosts = open(f"{b.files}/hosts").read()
    assert "fd42:120::b\tb\n" in hosts

    # container to container over IPv6, and names with AAAA records
    srv = b.serve("tcp", 80)
    assert a.peer("tcp", "fd42:120::b", 80).stdout.strip() == "fd42:120::2"
    srv.wait()
    assert a.resolve("b", "v6") == ["fd42:120::b"]
    out = a.peer("dns-query", "10.89.120.1", "b", "--type", "AAAA").stdout.split()
    assert out[-1] == "fd42:120::b"

    # outbound: NAT66 to the host's address
    srv = Proc(lab.client, PY, PEER, "serve-tcp", 7000)
    assert a.peer("tcp", CLIENT6, 7000).stdout.strip() == UPLINK6
    srv.wait()
    # a published port over IPv6, from another host
    srv = b.serve("tcp", 80)
    assert lab.client_peer("tcp", UPLINK6, 8080).stdout.strip() == CLIENT6
    srv.wait()
    lab.tool("detach", net, a.ns)
    lab.tool("detach", net, b.ns)
    lab.tool("rm", net)
    assert lab.sysctl("net.ipv6.conf.all.forwarding") == "0"


def test_ipv6_auto_subnet_and_errors(lab):
    net = f"{lab.tag}n6"
    info = lab.create(net, "--ipv6")
    sub = info["ipv6"]["subnet"]
    assert re.fullmatch(r"fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:1::/64", sub), sub
    p = lab.tool("create", f"{lab.tag}x", "--subnet6", sub, check=False)
    assert p.returncode == 1 and f"overlaps network '{net}'" in p.stderr
    p = lab.tool("create", f"{lab.tag}x", "--subnet6", "10.0.0.0/8", check=False)
    assert p.returncode == 1 and "is not an IPv6 subnet" in p.stderr
    c = lab.container("c")
    p = lab.tool("attach", net, c.ns, "--netns", c.path, "--ip6", "fd00::1", check=False)
    assert p.returncode == 1 and "is not in network" in p.stderr
    lab.tool("rm", net)
    v4 = lab.create(f"{lab.tag}v4")
    p = lab.tool("attach", v4["name"], c.ns, "--netns", c.path, "--ip6", "fd00::1", check=False)
    assert p.returncode == 1 and "has no IPv6 subnet" in p.stderr
    lab.tool("rm", v4["name"])
