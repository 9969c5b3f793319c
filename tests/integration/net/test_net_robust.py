"""Robustness: parallel attaches never share an address; SIGKILL at any step of an attach, a
detach or a network create leaves nothing that the next command or `prune` does not reclaim;
containers that disappear are detached by reclaim.

The kills are injected with strace (-e inject=SYSCALL:signal=SIGKILL:when=N), which stops
net-tool exactly at the chosen system call of the library: no test hooks in the code."""
import json
import re
import shutil
import subprocess

import pytest

from netlab import wait_for


def pub4(lab):
    elems = []
    for m in ("pub4", "pub4any"):
        out = lab.hsh("nft", "-j", "list", "map", "inet", "hull", m).stdout
        elems += json.loads(out)["nftables"][1]["map"].get("elem", [])
    return elems


def endpoint_chains(lab):
    return sorted(set(re.findall(r"\be-[0-9a-f]{12}-[a-z]+", lab.nft())))


def hull_links(lab):
    return sorted(n for n, l in lab.links().items() if n.startswith("vh"))


def killed(lab, syscall, when, *args):
    """Run net-tool ARGS and SIGKILL it at the when-th call of syscall."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (needed to inject SIGKILL at a chosen system call)")
    cmd = [*lab.host.enter(), "strace", "-qq", "-o", "/dev/null",
           "-e", f"inject={syscall}:signal=SIGKILL:when={when}", *lab.tool_args(), *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0, f"net-tool was not killed at {syscall}#{when}: {p.stdout}{p.stderr}"
    return p


def test_parallel_attach_unique_addresses(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.140.0/26")
    cs = [lab.container(f"p{i}") for i in range(16)]
    procs = [subprocess.Popen([*lab.host.enter(), *lab.tool_args(), "attach", net, c.ns, "--netns",
                               c.path, "--name", f"p{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, c in enumerate(cs)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        results.append(json.loads(out)["ipv4"])
    assert len(set(results)) == len(cs)
    # the kernel agrees: each namespace has the address it was told
    for c, ip in zip(cs, results):
        assert f"inet {ip} " in c.sh("ip", "-4", "addr", "show", "eth0").stdout
    procs = [subprocess.Popen([*lab.host.enter(), *lab.tool_args(), "detach", net, c.ns],
                              stderr=subprocess.PIPE, text=True) for c in cs]
    for p in procs:
        assert p.wait(timeout=60) == 0
    assert hull_links(lab) == []
    lab.tool("rm", net)


def test_pool_exhaustion(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.141.0/29")  # .1 gateway, .2-.6 for endpoints
    cs = [lab.container(f"e{i}") for i in range(6)]
    for c in cs[:5]:
        lab.attach(net, c)
    p = lab.tool("attach", net, cs[5].ns, "--netns", cs[5].path, check=False)
    assert p.returncode == 1 and f"no free address left in network '{net}' (10.89.141.0/29)" in p.stderr
    lab.tool("detach", net, cs[0].ns)
    assert lab.attach(net, cs[5])["ipv4"] == "10.89.141.2/29"
    p = lab.tool("attach", net, cs[0].ns, "--netns", cs[0].path, "--ip", "10.89.141.3", check=False)
    assert p.returncode == 1 and "address 10.89.141.3 is already in use" in p.stderr
    lab.tool("rm", "--force", net)


@pytest.mark.parametrize("syscall,when", [
    ("setns", 1),      # veth made, record "creating", nothing inside the namespace yet
    ("sendmsg", 1),    # about to commit the endpoint's nftables transaction (libnftables' batch)
    ("renameat", 1),   # rules applied, writing the DNS name table
    ("clone", 1),      # name registered, starting the responder
    ("rename", 2),     # writing /etc/hosts, resolv.conf, hostname for the container
    ("rename", 3),     # the last file, just before the record turns "ready"
])
def test_kill_during_attach(lab, syscall, when):
    net = f"{lab.tag}n1"
    c = lab.container("c1")
    attach = ["attach", net, c.ns, "--netns", c.path, "--name", "web", "-p", "8080:80", "--egress", "deny=tcp:25",
              "--files-dir", c.files]
    # the next command of the same endpoint reclaims what the killed one left, then attaches
    lab.create(net, "--subnet", "10.89.142.0/24")
    killed(lab, syscall, when, *attach)
    res = lab.attach(net, c, "--name", "web", "-p", "8080:80")
    assert res["ipv4"].startswith("10.89.142.")
    assert len(hull_links(lab)) == 1 and len(pub4(lab)) == 1
    lab.tool("detach", net, c.ns)
    lab.tool("rm", net)
    # and reclaim alone cleans as well (a fresh network: no responder running yet)
    lab.create(net, "--subnet", "10.89.142.0/24")
    killed(lab, syscall, when, *attach)
    lab.json("reclaim")
    assert lab.json("inspect", net)["endpoints"] == {}
    assert hull_links(lab) == [] and pub4(lab) == []
    assert endpoint_chains(lab) == []
    lab.tool("rm", net)


def test_kill_during_detach_and_create(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.143.0/24")
    c = lab.container("c1")
    lab.attach(net, c, "--name", "web", "-p", "8080:80")
    killed(lab, "renameat", 1, "detach", net, c.ns)  # rules and link gone, rows left
    lab.json("reclaim")
    assert lab.json("inspect", net)["endpoints"] == {} and hull_links(lab) == [] and pub4(lab) == []
    lab.tool("rm", net)

    # a create killed after the bridge, before the rules: prune finishes the job
    killed(lab, "sendmsg", 1, "create", net, "--subnet", "10.89.143.0/24", "--opt", f"bridge={lab.tag}b9")
    assert f"{lab.tag}b9" in lab.links()
    assert lab.json("prune") == []
    assert lab.json("ls") == [] and f"{lab.tag}b9" not in lab.links()
    assert lab.sysctl("net.ipv4.ip_forward") == "0"


def test_vanished_containers_are_reclaimed(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.144.0/24")
    a, b = lab.container("a"), lab.container("b")
    veth = lab.attach(net, a, "--name", "a", "-p", "8080:80", "--ingress", "deny=all")["host_ifname"]
    lab.attach(net, b, "--name", "b")
    # the container's namespace goes (its last process died): the veth goes with it
    a.kill()
    # the kernel dismantles a namespace asynchronously (cleanup_net workqueue)
    assert wait_for(lambda: veth not in lab.links(), timeout=10)
    assert lab.json("reclaim") == 1
    info = lab.json("inspect", net)
    assert list(info["endpoints"]) == [b.ns]
    assert pub4(lab) == [] and endpoint_chains(lab) == []
    guard = lab.hsh("nft", "list", "set", "bridge", "hull", "guard").stdout
    assert info["endpoints"][b.ns]["host_ifname"] in guard and veth not in guard
    assert b.resolve("a") == []
    # its host port is free again
    lab.attach(net, lab.container("a2"), "-p", "8080:80")
    lab.tool("rm", "--force", net)


def test_owner_process_and_prune(lab):
    net, keep = f"{lab.tag}n1", f"{lab.tag}n2"
    lab.create(net)
    lab.create(keep)
    c = lab.container("c1")
    sleeper = subprocess.Popen(["sleep", "60"])
    lab.attach(keep, c, "--owner", str(sleeper.pid))
    assert lab.json("reclaim") == 0
    sleeper.kill()
    sleeper.wait()
    # prune: the stale endpoint goes, then every network without endpoints
    assert sorted(lab.json("prune")) == sorted([net, keep])
    assert lab.json("ls") == []
