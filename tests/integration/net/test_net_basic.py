"""Networks and endpoints: create/inspect/ls/rm, attach/detach, outbound NAT, clear errors.

Everything runs in the lab's private host namespace (conftest.py).
"""
import json
import os

from netlab import CLIENT4, PEER, PY, UPLINK4, Proc


def test_create_inspect_ls_rm(lab):
    net = f"{lab.tag}n1"
    info = lab.create(net, "--subnet", "10.91.0.0/24", "--gateway", "10.91.0.254", "--ip-range", "10.91.0.128/25",
                      "--opt", "mtu=1400")
    assert info["name"] == net and info["driver"] == "bridge"
    assert info["ipv4"] == {"subnet": "10.91.0.0/24", "gateway": "10.91.0.254", "ip_range": "10.91.0.128/25"}
    assert info["mtu"] == 1400 and info["dns"] is True and info["internal"] is False
    br = lab.links()[info["bridge"]]
    assert br["mtu"] == 1400 and "UP" in br["flags"]
    addrs = json.loads(lab.hsh("ip", "-j", "addr", "show", "dev", info["bridge"]).stdout)[0]["addr_info"]
    assert any(a["local"] == "10.91.0.254" and a["prefixlen"] == 24 for a in addrs)
    # hull switched forwarding on for a routed network, and says so in nftables' table
    assert lab.sysctl("net.ipv4.ip_forward") == "1"
    assert "table inet hull" in lab.nft()

    listed = lab.json("ls")
    assert [n["name"] for n in listed] == [net] and listed[0]["subnet"] == "10.91.0.0/24"
    # inspect by id prefix as well as by name
    assert lab.json("inspect", info["id"][:10])["name"] == net

    lab.tool("rm", net)
    assert info["bridge"] not in lab.links()
    assert lab.sysctl("net.ipv4.ip_forward") == "0"
    assert "hull" not in lab.nft()
    p = lab.tool("inspect", net, check=False)
    assert p.returncode == 1 and f"network '{net}' not found" in p.stderr


def test_invalid_options_make_nothing(lab):
    net = f"{lab.tag}n1"
    cases = [
        (["--subnet", "10.0.0.0/33"], "invalid CIDR '10.0.0.0/33'"),
        (["--subnet", "10.0.0.1/24"], "has host bits set"),
        (["--subnet", "banana"], "invalid CIDR 'banana'"),
        (["--subnet", "10.92.0.0/24", "--gateway", "10.93.0.1"], "is not inside subnet"),
        (["--subnet", "10.92.0.0/24", "--ip-range", "10.92.1.0/25"], "is not inside subnet"),
        (["--subnet", "10.92.0.0/24", "--opt", "mtu=9"], "is not an MTU"),
        (["--subnet", "10.92.0.0/24", "--opt", "color=blue"], "unknown option 'color'"),
        (["--subnet", "10.92.0.0/24", "--egress", "allow=tcp:99999"], "invalid port"),
        (["--subnet", f"{UPLINK4.rsplit('.', 1)[0]}.0/24"], "overlaps the host route"),
    ]
    for args, msg in cases:
        p = lab.tool("create", net, *args, check=False)
        assert p.returncode == 1, args
        assert msg in p.stderr, (args, p.stderr)
        assert p.stderr.count("\n") == 1, p.stderr  # one line for the user
    assert lab.json("ls") == []
    assert lab.leftovers() == []
    p = lab.tool("create", "bad/name", check=False)
    assert p.returncode == 1 and "invalid network name" in p.stderr


def test_overlap_duplicate_unknown(lab):
    a, b = f"{lab.tag}a", f"{lab.tag}b"
    lab.create(a, "--subnet", "10.94.0.0/16")
    p = lab.tool("create", b, "--subnet", "10.94.3.0/24", check=False)
    assert p.returncode == 1 and f"subnet 10.94.3.0/24 overlaps network '{a}' (10.94.0.0/16)" in p.stderr
    p = lab.tool("create", a, check=False)
    assert p.returncode == 1 and f"network '{a}' already exists" in p.stderr
    c = lab.container("c1")
    p = lab.tool("attach", f"{lab.tag}zz", "c1", "--netns", c.path, check=False)
    assert p.returncode == 1 and f"network '{lab.tag}zz' not found" in p.stderr
    # an automatically chosen subnet avoids the taken ones
    info = lab.create(b)
    assert info["ipv4"]["subnet"].startswith("10.89.")
    lab.tool("rm", a)
    lab.tool("rm", b)


def test_attach_detach(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.95.0.0/24")
    c = lab.container("c1")
    res = lab.attach(net, c, "--name", "web", "--hostname", "webhost", "--mac", "02:aa:bb:cc:dd:01",
                     "--add-host", "db.local:10.1.2.3", "--add-host", "gw:host-gateway")
    assert res["ipv4"] == "10.95.0.2/24" and res["gateway4"] == "10.95.0.1" and res["mac"] == "02:aa:bb:cc:dd:01"
    link = json.loads(c.sh("ip", "-j", "addr", "show", "eth0").stdout)[0]
    assert link["address"] == "02:aa:bb:cc:dd:01" and "UP" in link["flags"]
    assert any(a["local"] == "10.95.0.2" for a in link["addr_info"])
    assert "default via 10.95.0.1 dev eth0" in c.sh("ip", "route").stdout
    assert "UP" in json.loads(c.sh("ip", "-j", "link", "show", "lo").stdout)[0]["flags"]
    hosts = open(os.path.join(c.files, "hosts")).read()
    assert "10.95.0.2\twebhost web\n" in hosts and "10.1.2.3\tdb.local\n" in hosts and "10.95.0.1\tgw\n" in hosts
    assert "10.95.0.1\thost.hull.internal\n" in hosts
    assert open(os.path.join(c.files, "hostname")).read() == "webhost\n"
    resolv = open(os.path.join(c.files, "resolv.conf")).read()
    assert "nameserver 10.95.0.1\n" in resolv and "search example.org" in resolv and "ndots:0" in resolv
    host_link = res["host_ifname"]
    assert lab.links()[host_link]["master"] == lab.json("inspect", net)["bridge"]
    # the gateway answers
    c.sh("busybox", "ping", "-c1", "-W2", "10.95.0.1")

    p = lab.tool("attach", net, c.ns, "--netns", c.path, check=False)
    assert p.returncode == 1 and "is already attached" in p.stderr

    lab.tool("detach", net, c.ns)
    assert host_link not in lab.links()
    assert "eth0" not in c.sh("ip", "link").stdout
    assert lab.json("inspect", net)["endpoints"] == {}
    p = lab.tool("detach", net, c.ns, check=False)
    assert p.returncode == 1 and "is not attached" in p.stderr
    lab.tool("rm", net)


def test_outbound_masquerade_and_files_dir_cleanup(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.96.0.0/24")
    c = lab.container("c1")
    lab.attach(net, c)
    srv = Proc(lab.client, PY, PEER, "serve-tcp", 7000)
    out = c.peer("tcp", CLIENT4, 7000).stdout.strip()
    assert srv.wait()[0] == 0
    # the client host sees the host's address, not the container's
    assert out == UPLINK4
    lab.tool("detach", net, c.ns)
    lab.tool("rm", net)


def test_remove_busy_network(lab):
    net = f"{lab.tag}n1"
    lab.create(net)
    c = lab.container("c1")
    lab.attach(net, c)
    p = lab.tool("rm", net, check=False)
    assert p.returncode == 1 and f"network '{net}' has 1 attached endpoint ({c.ns})" in p.stderr
    lab.tool("rm", "--force", net)
    assert "eth0" not in c.sh("ip", "link").stdout


def test_default_network_and_modes(lab):
    c = lab.container("c1")
    res = lab.json("attach", "hull", "c1", "--netns", c.path, "--files-dir", c.files)
    assert res["ipv4"].startswith("10.88.") and res["ipv4"].endswith("/16")
    info = lab.json("inspect", "hull")
    assert info["default"] is True and info["dns"] is False and info["bridge"] == "hull0"
    # without a responder, the host's resolvers (loopback ones dropped) go to the container
    resolv = open(os.path.join(c.files, "resolv.conf")).read()
    assert f"nameserver {'198.51.100.2'}" in resolv
    lab.tool("detach", "hull", "c1")
    lab.tool("rm", "hull")
    out = lab.json("standalone", "none", "--hostname", "box", "--add-host", "a.b:1.2.3.4")
    assert "127.0.1.1\tbox\n" in out["hosts"] and "1.2.3.4\ta.b\n" in out["hosts"]
    assert out["hostname"] == "box\n"


def test_two_networks_connect_disconnect(lab):
    a, b = f"{lab.tag}a", f"{lab.tag}b"
    lab.create(a, "--subnet", "10.89.150.0/24")
    lab.create(b, "--subnet", "10.89.151.0/24")
    c, peer = lab.container("c1"), lab.container("p1")
    lab.attach(a, c, "--name", "multi")
    # a second network (network connect): another interface, no second default route
    res = lab.json("attach", b, c.ns, "--netns", c.path, "--ifname", "eth1", "--name", "multi")
    assert res["ifname"] == "eth1" and res["ipv4"] == "10.89.151.2/24"
    routes = c.sh("ip", "route").stdout
    assert routes.count("default") == 1 and "default via 10.89.150.1 dev eth0" in routes
    assert "10.89.151.0/24 dev eth1" in routes
    # reachable, and resolvable, from each network
    lab.attach(b, peer, "--name", "peer")
    srv = c.serve("tcp", 80)
    assert peer.peer("tcp", "10.89.151.2", 80).stdout.strip() == "10.89.151.3"
    srv.wait()
    assert peer.resolve("multi") == ["10.89.151.2"]
    # network disconnect of one, then removal of the container from every network
    lab.tool("detach", b, c.ns)
    assert "eth1" not in c.sh("ip", "link").stdout and "eth0" in c.sh("ip", "link").stdout
    assert peer.resolve("multi") == []
    assert lab.json("detach-all", c.ns) is None
    assert lab.json("inspect", a)["endpoints"] == {}
    lab.tool("detach", b, peer.ns)
    lab.tool("rm", a)
    lab.tool("rm", b)
