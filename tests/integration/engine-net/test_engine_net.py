"""Containers on hull networks through the `hull` CLI (docs/networking.md, docs/engine.md "Networks"):
the default network, user networks with names and aliases, DNS forwarding, published ports from
another host, another container and the host's loopback, isolation, internal networks, policies,
IPv6, connect/disconnect, restarts, parallel runs, kills, and VM taps through the engine."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from enet import CLIENT4, PEER, PY, TOOL, UPLINK4, Server, enet, run  # noqa: F401
import engine_util as eu


def test_default_network(enet):
    a = enet.d("a", "-p", "8080:80")
    b = enet.d("b")
    ia, ib = enet.ip(a), enet.ip(b)
    assert ia.startswith("10.88.") and ib.startswith("10.88.") and ia != ib
    c = enet.inspect(a)
    assert c["HostConfig"]["NetworkMode"] == "bridge"
    net = c["NetworkSettings"]["Networks"]["hull"]
    assert net["Gateway"] == "10.88.0.1" and net["IPPrefixLen"] == 16 and len(net["MacAddress"]) == 17
    assert c["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    # A container reaches another by address, and the outside through NAT (the client sees the host).
    enet.sh(b, f"ping -c 1 -W 2 {ia}")
    srv = enet.lab.client_ns
    s = eu_server(enet, srv, "tcp", 7000)
    assert enet.peer(a, "tcp", CLIENT4, 7000).stdout.strip() == UPLINK4
    s.stop()
    # /etc files from the library; ps and port show the published port.
    assert enet.sh(a, "cat /etc/hostname").out.strip() == c["Id"][:12]
    hosts = enet.sh(a, "cat /etc/hosts").out
    assert f"{ia}\t{c['Id'][:12]} {a}" in hosts and "host.hull.internal" in hosts
    row = [l for l in enet.run("ps").out.splitlines() if a in l][0]
    assert "0.0.0.0:8080->80/tcp" in row
    assert enet.run("port", a).out == "80/tcp -> 0.0.0.0:8080\n"
    # A restart of the whole container (stop, start) attaches it again.
    enet.run("stop", "-t", "0", a)
    assert enet.inspect(a)["NetworkSettings"]["Networks"] == {}
    enet.run("start", a)
    enet.sh(b, f"ping -c 1 -W 2 {enet.ip(a)}")


def eu_server(enet, ns, kind, port, count=1):
    s = Server(ns, kind, port, count)
    enet.servers.append(s)
    return s


def test_names_aliases_and_isolation(enet):
    enet.run("network", "create", "--subnet", "10.91.0.0/24", f"{enet.tag}f")
    enet.run("network", "create", f"{enet.tag}g")
    a = enet.d("a", "--network", f"{enet.tag}f", "--network-alias", "db")
    b = enet.d("b", "--network", f"{enet.tag}f")
    c = enet.d("c", "--network", f"{enet.tag}g")
    ia = enet.ip(a)
    assert ia.startswith("10.91.0.")
    assert enet.resolve(b, a) == [ia]
    assert enet.resolve(b, "db") == [ia]
    # Not across networks: neither the name nor the address.
    assert enet.resolve(c, a) == []
    assert enet.sh(c, f"ping -c 1 -W 1 {ia}", check=False).returncode != 0
    enet.sh(b, f"ping -c 1 -W 2 {ia}")
    doc = json.loads(enet.run("network", "inspect", f"{enet.tag}f").out)[0]
    assert doc["subnets"] == [{"subnet": "10.91.0.0/24", "gateway": "10.91.0.1"}]
    assert doc["dns_enabled"] is True and doc["internal"] is False
    names = sorted(v["name"] for v in doc["containers"].values())
    assert names == sorted([a, b])
    ls = enet.run("network", "ls").out.splitlines()
    assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER"]
    assert any(l.split()[1:] == [f"{enet.tag}f", "bridge"] for l in ls[1:])
    assert set(enet.run("network", "ls", "-q").out.split()) - {"hull"} == {f"{enet.tag}f", f"{enet.tag}g"}
    docs = {d["name"]: d for d in json.loads(enet.run("network", "ls", "--format", "json").out)}
    assert docs[f"{enet.tag}g"]["subnets"][0]["subnet"].startswith("10.")
    assert enet.run("network", "inspect", "-f", "{{.network_interface}}", f"{enet.tag}f").out.startswith("hb-")
    # In use: refused, with one line naming it; nothing changed.
    line = enet.fail("network", "rm", f"{enet.tag}f")
    assert "in use by container" in line
    enet.run("rm", "-f", a, b)
    enet.run("network", "rm", f"{enet.tag}f")
    # prune keeps networks that containers name, stopped ones included.
    enet.run("stop", "-t", "0", c)
    assert enet.run("network", "prune").out == ""
    enet.run("rm", c)
    assert enet.run("network", "prune").out.split() == [f"{enet.tag}g"]


def test_dns_forwarding(enet):
    enet.run("network", "create", f"{enet.tag}f")
    # Other names go to the container's --dns server (here the lab's upstream on the client host).
    a = enet.d("a", "--network", f"{enet.tag}f", "--dns", CLIENT4)
    assert enet.resolve(a, "www.test") == ["203.0.113.7"]
    assert enet.sh(a, "cat /etc/resolv.conf").out.count("nameserver") == 1


def test_published_ports(enet):
    enet.run("network", "create", f"{enet.tag}o")
    a = enet.d("a", "-p", "8080:80", "-p", "5353:53/udp", "-p", "127.0.0.1:8081:81", "-p", "9000-9001:7000-7001")
    other = enet.d("o", "--network", f"{enet.tag}o")
    enet.serve(a, "tcp", 80, count=3)
    enet.serve(a, "udp", 53)
    enet.serve(a, "tcp", 81)
    enet.serve(a, "tcp", 7001)
    # From another machine over the LAN link: it sees the client's own address (no SNAT).
    assert enet.lab.client_peer("tcp", UPLINK4, 8080).stdout.strip() == CLIENT4
    assert enet.lab.client_peer("udp", UPLINK4, 5353).stdout.strip() == CLIENT4
    assert enet.lab.client_peer("tcp", UPLINK4, 9001).stdout.strip() == CLIENT4
    # Bound to the loopback: not from outside, but from the host itself.
    assert enet.lab.client_peer("tcp", UPLINK4, 8081, "--timeout", "1", check=False).returncode != 0
    assert enet.peer_host("tcp", "127.0.0.1", 8081).returncode == 0
    # From the host's loopback and from a container of another network.
    assert enet.peer_host("tcp", "127.0.0.1", 8080).returncode == 0
    assert enet.peer(other, "tcp", UPLINK4, 8080).returncode == 0
    # A port taken by a host process: one clear line, nothing made.
    s = eu_server(enet, enet.hull.netns, "tcp", 8090)
    line = enet.fail("run", "-d", "--name", f"{enet.tag}x", "-p", "8090:80", "bb", "sleep", "1")
    assert "8090/tcp" in line and "in use" in line, line
    s.stop()
    # Taken by another container.
    line = enet.fail("run", "-d", "--name", f"{enet.tag}y", "-p", "8080:80", "bb", "sleep", "1")
    assert "8080/tcp" in line, line
    assert sorted(c["Names"][0] for c in enet.hull.ps()) == sorted([a, other])
    # Rules go with the container.
    enet.run("rm", "-f", a)
    assert enet.lab.client_peer("tcp", UPLINK4, 8080, "--timeout", "1", check=False).returncode != 0
    # A range wider than one netlink batch of set elements takes libnftables' path: same result.
    w = enet.d("w", "-p", "9100-9199:7100-7199")
    enet.serve(w, "tcp", 7150)
    assert enet.lab.client_peer("tcp", UPLINK4, 9150).stdout.strip() == CLIENT4
    enet.run("rm", "-f", w)
    assert enet.lab.client_peer("tcp", UPLINK4, 9150, "--timeout", "1", check=False).returncode != 0


def test_publish_all_and_bad_specs(enet):
    a = enet.d("a", "-P")
    ports = enet.inspect(a)["NetworkSettings"]["Ports"]
    assert set(ports) == {"80/tcp", "53/udp"}
    hp = int(ports["80/tcp"][0]["HostPort"])
    enet.serve(a, "tcp", 80)
    assert enet.lab.client_peer("tcp", UPLINK4, hp).stdout.strip() == CLIENT4
    for bad, what in ((["-p", "99999:80"], "99999"), (["--network", "nonet"], "nonet"), (["--ip", "10.88.0.999"], "10.88.0.999"),
                      (["--egress", "allow=tcp:http"], "tcp:http"), (["--network", "none", "-p", "80"], "--publish"),
                      (["--mac-address", "zz:00"], "zz:00")):
        line = enet.fail("run", "-d", "--name", f"{enet.tag}bad", *bad, "bb", "true")
        assert what in line, line
    assert [c["Names"][0] for c in enet.hull.ps()] == [a]


def test_internal_network(enet):
    enet.run("network", "create", "--internal", f"{enet.tag}i")
    a = enet.d("a", "--network", f"{enet.tag}i")
    b = enet.d("b", "--network", f"{enet.tag}i")
    s = eu_server(enet, enet.lab.client_ns, "tcp", 7000)
    assert enet.peer(a, "tcp", CLIENT4, 7000, "--timeout", "1", check=False).returncode != 0
    s.stop()
    assert enet.resolve(a, b) == [enet.ip(b)]
    assert json.loads(enet.run("network", "inspect", f"{enet.tag}i").out)[0]["internal"] is True


def test_egress_and_ingress_policy(enet):
    a = enet.d("a", "--egress", "allow=tcp:7000", "--egress", "deny=all", "--ingress", "deny=tcp:80", "-p", "8080:80",
               "-p", "8082:82")
    assert enet.inspect(a)["NetworkSettings"]["Egress"] == ["allow=tcp:7000", "deny=all"]
    assert enet.inspect(a)["NetworkSettings"]["Ingress"] == ["deny=tcp:80"]
    s1 = eu_server(enet, enet.lab.client_ns, "tcp", 7000)
    s2 = eu_server(enet, enet.lab.client_ns, "tcp", 7001)
    assert enet.peer(a, "tcp", CLIENT4, 7000).stdout.strip() == UPLINK4
    assert enet.peer(a, "tcp", CLIENT4, 7001, "--timeout", "1", check=False).returncode != 0
    s1.stop()
    s2.stop()
    enet.serve(a, "tcp", 80)
    enet.serve(a, "tcp", 82)
    assert enet.lab.client_peer("tcp", UPLINK4, 8080, "--timeout", "1", check=False).returncode != 0
    assert enet.lab.client_peer("tcp", UPLINK4, 8082).stdout.strip() == CLIENT4
    # A network's list applies to all its containers.
    enet.run("network", "create", "--egress", "deny=icmp", f"{enet.tag}p")
    b = enet.d("b", "--network", f"{enet.tag}p")
    assert enet.sh(b, f"ping -c 1 -W 1 {CLIENT4}", check=False).returncode != 0
    doc = json.loads(enet.run("network", "inspect", f"{enet.tag}p").out)[0]
    assert doc["egress"] == ["deny=icmp"]


def test_ipv6(enet):
    enet.run("network", "create", "--ipv6", f"{enet.tag}6")
    a = enet.d("a", "--network", f"{enet.tag}6", "-p", "8080:80")
    b = enet.d("b", "--network", f"{enet.tag}6")
    n = enet.inspect(a)["NetworkSettings"]["Networks"][f"{enet.tag}6"]
    assert n["GlobalIPv6Address"].startswith("fd") and n["GlobalIPv6PrefixLen"] == 64
    enet.sh(b, f"ping -6 -c 1 -W 2 {n['GlobalIPv6Address']}")
    enet.serve(a, "tcp", 80)
    assert enet.lab.client_peer("tcp", "fd0f::1", 8080).returncode == 0


def test_connect_disconnect(enet):
    enet.run("network", "create", f"{enet.tag}k")
    peer = enet.d("p", "--network", f"{enet.tag}k")
    a = enet.d("a")
    assert enet.sh(a, f"ping -c 1 -W 1 {enet.ip(peer)}", check=False).returncode != 0
    enet.run("network", "connect", "--alias", "second", f"{enet.tag}k", a)
    nets = enet.inspect(a)["NetworkSettings"]["Networks"]
    assert set(nets) == {"hull", f"{enet.tag}k"} and nets[f"{enet.tag}k"]["InterfaceName"] == "eth1"
    enet.sh(a, f"ping -c 1 -W 2 {enet.ip(peer)}")
    assert enet.resolve(peer, "second") == [nets[f"{enet.tag}k"]["IPAddress"]]
    assert "already on network" in enet.fail("network", "connect", f"{enet.tag}k", a)
    enet.run("network", "disconnect", f"{enet.tag}k", a)
    assert set(enet.inspect(a)["NetworkSettings"]["Networks"]) == {"hull"}
    assert "eth1" not in enet.sh(a, "ip -o link").out
    # The connection is kept in the container's options: a stopped one gets it at its next start.
    enet.run("stop", "-t", "0", a)
    enet.run("network", "connect", f"{enet.tag}k", a)
    enet.run("start", a)
    assert set(enet.inspect(a)["NetworkSettings"]["Networks"]) == {"hull", f"{enet.tag}k"}


def test_parallel_runs_never_share_an_address(enet):
    names = [f"{enet.tag}{i}" for i in range(8)]
    threads = [threading.Thread(target=enet.run, args=("run", "-d", "--name", n, "bb", "sleep", "300")) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ips = [enet.ip(n) for n in names]
    assert len(set(ips)) == len(names), ips


def test_restart_policy_keeps_the_network(enet):
    a = enet.d("a", "--restart", "always", "-p", "8080:80", cmd=("sh", "-c", "sleep 0.3; exit 3"))
    ip = enet.ip(a)
    deadline = time.monotonic() + 20
    while enet.inspect(a)["RestartCount"] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert enet.inspect(a)["RestartCount"] >= 2
    assert enet.ip(a) == ip
    b = enet.d("b")
    deadline = time.monotonic() + 10
    while enet.inspect(a)["State"]["Status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert enet.sh(b, f"ping -c 1 -W 2 {ip}", check=False).returncode == 0


def test_kill9_leaves_nothing(enet):
    a = enet.d("a", "-p", "8080:80")
    [mon] = eu.monitors_of(enet.hull.root)
    os.kill(mon, signal.SIGKILL)
    time.sleep(0.3)
    # The next command repairs: the container is recorded as exited, its network state reclaimed.
    assert enet.inspect(a)["State"]["Status"] == "exited"
    assert enet.inspect(a)["NetworkSettings"]["Networks"] == {}
    assert not enet.settled_leftovers(ignore=("container directory",))
    # And the port is free again.
    b = enet.d("b", "-p", "8080:80")
    enet.serve(b, "tcp", 80)
    assert enet.lab.client_peer("tcp", UPLINK4, 8080).stdout.strip() == CLIENT4


def test_vm_tap(enet):
    """A VM's tap (engine_net_attach_tap) on a network, a namespace-less "guest" speaking through it to a container."""
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} is not built")
    enet.run("network", "create", f"{enet.tag}v")
    c = enet.d("c", "--network", f"{enet.tag}v")
    vmdir = os.path.join(enet.hull.root, "vm-test")
    os.makedirs(vmdir)
    tool = [*enet.hull.netns.enter(), TOOL, "--root", enet.hull.root]
    p = subprocess.run([*tool, "attach-tap", f"{enet.tag}vm", f"{enet.tag}vm", vmdir, f"{enet.tag}v"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    assert t["tap"] in enet.links() and t["kernel_ip_arg"].startswith("ip=")
    ip = t["ipv4"].split("/")[0]
    out = run(*enet.hull.netns.enter(), PY, PEER, "tap-ping", t["tap"], t["mac"], ip, enet.ip(c), check=False)
    assert "reply from" in out.stdout, out.stdout
    # The container resolves the VM by name on the network.
    assert enet.resolve(c, f"{enet.tag}vm") == [ip]
    p = subprocess.run([*tool, "detach-tap", f"{enet.tag}vm", vmdir], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert t["tap"] not in enet.links()
    assert not os.path.exists(os.path.join(vmdir, "network.json"))


def test_network_create_errors(enet):
    enet.run("network", "create", "--subnet", "10.92.0.0/24", f"{enet.tag}a")
    for args, what in ((["--subnet", "10.92.0.0/16", f"{enet.tag}b"], "overlaps"),
                       (["--subnet", "10.93.0.300/24", f"{enet.tag}b"], "10.93.0.300/24"),
                       (["--subnet", "10.94.0.0/24", "--gateway", "10.95.0.1", f"{enet.tag}b"], "10.95.0.1"),
                       (["--opt", "mtu=nope", f"{enet.tag}b"], "mtu"),
                       ([f"{enet.tag}a"], "already exists")):
        line = enet.fail("network", "create", *args)
        assert what in line, line
    assert set(enet.run("network", "ls", "-q").out.split()) - {"hull"} == {f"{enet.tag}a"}
    assert f"network '{enet.tag}zz' not found" in enet.fail("network", "inspect", f"{enet.tag}zz")
    assert f"network '{enet.tag}zz' not found" in enet.fail("network", "rm", f"{enet.tag}zz")
    enet.d("x")  # the default network is made on first use; it cannot be removed
    assert "default network" in enet.fail("network", "rm", "hull")


def test_container_mode(enet):
    web = enet.d("web", "--network-alias", "www")
    out = enet.run("run", "--rm", "--network", f"container:{web}", "bb", "sh", "-c",
                   "ip -o -4 addr show eth0; grep www /etc/hosts || true; cat /etc/resolv.conf").out
    assert enet.ip(web) in out
    assert "container:nope: no such container" in enet.fail("run", "--rm", "--network", "container:nope", "bb", "true")
    assert "--publish: needs a bridged network" in enet.fail("run", "--rm", "--network", f"container:{web}", "-p", "80",
                                                            "bb", "true")
