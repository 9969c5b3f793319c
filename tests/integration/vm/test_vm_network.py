"""A VM and containers on one hull network (docs/vm.md "Networks"), under QEMU (TCG) on this host.

hull runs in a network namespace of the test's own (engine_util.Hull), where its networks,
bridges, taps and nftables table live: nothing reaches the machine's own tables, shared with
other test runs. One VM boot serves every check of the conversation (the container reaches the
VM by address and by name, the VM reaches the container, a published port of the VM from the
namespace's loopback, inspect), a second one the repairs (kill -9 of the monitor, of the VMM);
after each, and after `vm rm`, no tap, lease, record or rule of the VM is left.
"""
import json
import os
import signal
import sys
import time

import pytest

import vm_util as vu

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402

# The guest's busybox answers every connection on 8080 (-ll: one listener, a child per client).
SERVER = "busybox nc -ll -p 8080 -e echo hi-from-vm"


def retry(fn, what, timeout=30):
    end = time.time() + timeout
    while True:
        p = fn()
        if p.returncode == 0 and p.out.strip():
            return p.out
        if time.time() > end:
            raise AssertionError(f"{what}: {p.returncode} {p.out!r} {p.err!r}")
        time.sleep(0.5)


@pytest.fixture
def net(tmp_path, tag, leak_check):
    vu.need_vm_host()
    if not os.path.exists(os.path.join(eu.BUILD, "cmd", "hull-dns", "hull-dns")):
        pytest.skip("hull-dns is not built (scripts/build release)")
    h = eu.Hull(str(tmp_path / "root"))
    leak_check.watch_dir(str(tmp_path / "root" / "vms"))
    leak_check.watch_dir(str(tmp_path / "root" / "containers"))
    h.run("import", "--change", 'CMD ["/bin/sh"]', vu.busybox_tar(str(tmp_path / "bb.tar")), "bb")
    h.run("network", "create", "--subnet", "10.97.0.0/24", f"{tag}n")
    h.genv = {"HULL_GUEST_DIR": vu.GUEST}
    try:
        yield h
    finally:
        for vid in h.run("vm", "ls", "-a", "-q", check=False).out.split():
            h.run("vm", "rm", "-f", vid, check=False, env=h.genv)
        h.cleanup()
        h.close()


def sh(h, *args):
    p = h.sh(*args, check=False)
    p.out, p.err = p.stdout, p.stderr
    return p


def taps(h):
    return [l.split(":")[1].strip().split("@")[0] for l in sh(h, "ip", "-o", "link", "show").out.splitlines()
            if l.split(":")[1].strip().startswith("ht")]


def nothing_left(h, vm_id, network):
    assert not taps(h), taps(h)
    assert not os.path.exists(os.path.join(h.root, "vms", vm_id, "network.json"))
    n = json.loads(h.run("network", "inspect", network).out)[0]
    assert vm_id not in json.dumps(n["containers"]), n["containers"]
    rules = sh(h, "nft", "list", "ruleset").out
    assert vm_id[:12] not in rules


def test_vm_and_container_on_one_network(net, tag):
    h, n, m = net, f"{tag}n", f"{tag}m"
    h.run("network", "create", "--subnet", "10.98.0.0/24", "--ipv6", m)
    # On two networks: a tap and a NIC on each, the second NIC found by its MAC in the guest.
    vid = h.run("vm", "run", "-d", "--name", f"{tag}v", "--network", n, "--network-alias", "vmalias", "--network", m,
                "--add-host", "extra.test:10.97.0.77", "-p", "18080:8080", "--memory", "256M", "bb", "sh", "-c", SERVER, env=h.genv).out.strip()
    # inspect: the VM's settings as a container's; the network lists it.
    i = json.loads(h.run("vm", "inspect", vid).out)[0]
    s = i["NetworkSettings"]
    ip = s["Networks"][n]["IPAddress"]
    assert ip.startswith("10.97.0.") and s["IPAddress"] == ip and s["Gateway"] == "10.97.0.1"
    assert s["Ports"]["8080/tcp"][0]["HostPort"] == "18080"
    assert s["Networks"][n]["Aliases"] == ["vmalias"]
    assert f"ht{vid[:12]}" in taps(h) and f"ht{vid[:11]}1" in taps(h)
    ip2, ip6 = s["Networks"][m]["IPAddress"], s["Networks"][m]["GlobalIPv6Address"]
    assert ip2.startswith("10.98.0.") and ip6.startswith("fd")
    assert vid in json.dumps(json.loads(h.run("network", "inspect", n).out)[0]["containers"])
    # The tap and the MAC went to QEMU.
    args = " ".join(i["Vmm"]["Args"])
    assert f"ifname=ht{vid[:12]}" in args and s["Networks"][n]["MacAddress"] in args

    # A container reaches the VM by address, by name and by alias (the network's DNS).
    for target in (ip, f"{tag}v", "vmalias"):
        out = retry(lambda: h.run("run", "--rm", "--network", n, "bb", "busybox", "nc", "-w", "3", target, "8080",
                                  check=False), f"container -> vm ({target})", timeout=90)
        assert "hi-from-vm" in out
    # The VM reaches a container, by address and by name.
    h.run("run", "-d", "--name", f"{tag}c", "--network", n, "bb", "busybox", "nc", "-ll", "-p", "9090",
          "-e", "echo", "hi-from-ctr")
    cip = json.loads(h.run("inspect", f"{tag}c").out)[0]["NetworkSettings"]["Networks"][n]["IPAddress"]
    for target in (cip, f"{tag}c"):
        out = retry(lambda: h.run("vm", "exec", vid, "busybox", "nc", "-w", "3", target, "9090", check=False),
                    f"vm -> container ({target})")
        assert "hi-from-ctr" in out
    # The guest's /etc files are the ones a container gets (hull-init wrote them from the config disk).
    hosts = h.run("vm", "exec", vid, "cat", "/etc/hosts").out
    assert "extra.test" in hosts and ip in hosts and f"{tag}v" in hosts, hosts
    assert "nameserver 10.97.0.1" in h.run("vm", "exec", vid, "cat", "/etc/resolv.conf").out
    # The published port, from the host's loopback (here: the test namespace's).
    code = ("import socket; s = socket.create_connection(('127.0.0.1', 18080), timeout=5); "
            "print(s.recv(100).decode().strip())")
    out = retry(lambda: sh(h, "/usr/bin/python3", "-c", code), "published port")
    assert "hi-from-vm" in out
    h.run("rm", "-f", f"{tag}c")
    # The second network: a container there reaches the VM's second address.
    out = retry(lambda: h.run("run", "--rm", "--network", m, "bb", "busybox", "nc", "-w", "3", ip2, "8080",
                              check=False), "container -> vm on the second network")
    assert "hi-from-vm" in out
    # ... and its IPv6 address (hull-init gives it to the NIC with that network's MAC).
    out = retry(lambda: h.run("run", "--rm", "--network", m, "bb", "busybox", "nc", "-w", "3", ip6, "8080",
                              check=False), "container -> vm over IPv6")
    assert "hi-from-vm" in out

    # `vm stop`: the VM's end gives the taps, leases and rules back.
    h.run("vm", "stop", "-t", "5", vid)
    nothing_left(h, vid, n)
    nothing_left(h, vid, m)
    h.run("vm", "rm", vid)
    h.run("network", "rm", m)


def test_vm_network_options_and_repairs(net, tag):
    h, n = net, f"{tag}n"
    for bad, what in ((["--network", "none", "-p", "80"], "--publish"), (["--network", f"{tag}nonet"], "nonet"),
                      (["--ip", "10.97.0.999", "--network", n], "10.97.0.999")):
        p = h.run("vm", "create", *bad, "bb", check=False, env=h.genv)
        assert p.returncode == 125 and what in p.err, (bad, p.err)
    assert h.run("vm", "ls", "-a", "-q").out.strip() == ""
    mac = "02:42:0a:61:00:32"
    # -P publishes the image's EXPOSE on free host ports, as for a container of that image.
    h.run("import", "--change", "EXPOSE 8080", vu.busybox_tar(os.path.join(h.root, "..", "bbx.tar")), "bbx")
    vid = h.run("vm", "create", "--name", f"{tag}v", "--network", n, "--ip", "10.97.0.50", "--mac-address", mac,
                "-P", "--memory", "256M", "bbx", "sh", "-c", SERVER, env=h.genv).out.strip()
    assert not taps(h)  # nothing before the start

    def boot_and_reach():
        h.run("vm", "start", vid, env=h.genv)
        s = json.loads(h.run("vm", "inspect", vid).out)[0]["NetworkSettings"]["Networks"][n]
        assert s["IPAddress"] == "10.97.0.50" and s["MacAddress"] == mac
        out = retry(lambda: h.run("run", "--rm", "--network", n, "bb", "busybox", "nc", "-w", "3", "10.97.0.50",
                                  "8080", check=False), "container -> vm", timeout=90)
        assert "hi-from-vm" in out
        ports = json.loads(h.run("vm", "inspect", vid).out)[0]["NetworkSettings"]["Ports"]
        assert int(ports["8080/tcp"][0]["HostPort"]) > 0, ports
        return json.loads(h.run("vm", "inspect", vid).out)[0]["State"]

    # kill -9 of the monitor: its VMM goes with it; the next command detaches the VM.
    st = boot_and_reach()
    os.kill(st["MonitorPid"], signal.SIGKILL)
    end = time.time() + 30
    while json.loads(h.run("vm", "inspect", vid).out)[0]["State"]["Status"] != "exited":
        assert time.time() < end, "the VM did not end with its monitor"
        time.sleep(0.2)
    nothing_left(h, vid, n)
    # kill -9 of the VMM (no restart policy): the monitor records it and detaches the VM itself.
    st = boot_and_reach()
    os.kill(st["Pid"], signal.SIGKILL)
    end = time.time() + 30
    while os.path.exists(os.path.join(h.root, "vms", vid, "network.json")):
        assert time.time() < end, "the monitor did not detach the VM"
        time.sleep(0.2)
    nothing_left(h, vid, n)
    assert json.loads(h.run("vm", "inspect", vid).out)[0]["State"]["ExitCode"] == 137
    # The network is in use while the VM exists, running or not.
    p = h.run("network", "rm", n, check=False)
    assert p.returncode == 125 and f"{tag}v" in p.err, p.err
    h.run("vm", "rm", vid)
    assert not taps(h)
    p = h.run("vm", "create", "-P", "--kernel", os.path.join(vu.GUEST, "vmlinuz"), check=False, env=h.genv)
    assert p.returncode == 125 and "EXPOSE" in p.err, p.err
    # A kernel of one's own learns its address from the kernel's ip= argument.
    kid = h.run("vm", "run", "-d", "--name", f"{tag}k", "--network", n, "--ip", "10.97.0.60", "--kernel",
                os.path.join(vu.GUEST, "vmlinuz"), env=h.genv).out.strip()
    args = " ".join(json.loads(h.run("vm", "inspect", kid).out)[0]["Vmm"]["Args"])
    assert "ip=10.97.0.60::10.97.0.1:255.255.255.0:" in args, args
    h.run("vm", "rm", "-f", kid)
    assert not taps(h)
