"""A VM and containers on one hull network (docs/vm.md "Networks"), under QEMU (TCG) on this host.

hull runs in a network namespace of the test's own (engine_util.Hull), where its networks,
bridges, taps and nftables table live: nothing reaches the machine's own tables, shared with
other test runs. One VM boot serves every check of the conversation (the container reaches the
VM by address and by name, the VM reaches the container, a published port of the VM from the
namespace's loopback, inspect), a second one the repairs (kill -9 of the monitor, of the VMM);
after each, and after `vm rm`, no tap, lease, record or rule of the VM is left.
"""
import base64
import json
import os
import random
import signal
import subprocess
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
    assert f"ht{vid[:12]}" in taps(h) and f"ht{vid[:10]}-1" in taps(h)
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
    # network connect/disconnect of a stopped VM: its networks from its next start.
    cid = h.run("vm", "create", "--name", f"{tag}c", "--network", "none", "--kernel",
                os.path.join(vu.GUEST, "vmlinuz"), env=h.genv).out.strip()
    h.run("network", "connect", "--ip", "10.97.0.70", "--alias", "cv", n, cid)
    nets = json.loads(h.run("vm", "inspect", cid).out)[0]["Spec"]["net"]["networks"]
    assert [x["name"] for x in nets] == [n] and nets[0]["ip"] == "10.97.0.70", nets
    assert "already on network" in h.run("network", "connect", n, cid, check=False).err
    h.run("network", "disconnect", n, cid)
    assert json.loads(h.run("vm", "inspect", cid).out)[0]["Spec"]["net"]["network"] == "none"
    assert "not on network" in h.run("network", "disconnect", n, cid, check=False).err
    h.run("vm", "rm", cid)
    # A kernel of one's own learns its address from the kernel's ip= argument.
    kid = h.run("vm", "run", "-d", "--name", f"{tag}k", "--network", n, "--ip", "10.97.0.60", "--kernel",
                os.path.join(vu.GUEST, "vmlinuz"), env=h.genv).out.strip()
    args = " ".join(json.loads(h.run("vm", "inspect", kid).out)[0]["Vmm"]["Args"])
    assert "ip=10.97.0.60::10.97.0.1:255.255.255.0:" in args, args
    h.run("vm", "rm", "-f", kid)
    assert not taps(h)


def guest_macs(h, vid):
    return h.run("vm", "exec", vid, "sh", "-c", "cat /sys/class/net/*/address").out.split()


def wait_until(fn, what, timeout=30):
    end = time.time() + timeout
    while not fn():
        assert time.time() < end, what
        time.sleep(0.3)


def vm_nets(h, vid):
    i = json.loads(h.run("vm", "inspect", vid).out)[0]
    nets = (i["Spec"].get("net") or {}).get("networks") or []
    return [x["name"] for x in nets], i["NetworkSettings"]["Networks"]


def test_vm_network_hotplug(net, tag):
    """network connect/disconnect of a running VM (QEMU: a NIC hot-plugged on a spare PCIe root port,
    hull-init configures it through the exec channel); one boot for the conversation, the cycles,
    the errors and the kill -9 rounds, a second for the restart."""
    h, n = net, f"{tag}n"
    h.run("run", "-d", "--name", f"{tag}c", "--network", n, "bb", "busybox", "nc", "-ll", "-p", "9090",
          "-e", "echo", "hi-from-ctr")
    cip = json.loads(h.run("inspect", f"{tag}c").out)[0]["NetworkSettings"]["Networks"][n]["IPAddress"]
    vid = h.run("vm", "run", "-d", "--name", f"{tag}v", "--network", "none", "--memory", "256M", "bb",
                "sh", "-c", SERVER, env=h.genv).out.strip()
    assert not taps(h)
    before = guest_macs(h, vid)  # lo only; hull-init's exec channel answers: the guest is up

    def connect_and_talk():
        t0 = time.time()
        h.run("network", "connect", "--alias", "hotvm", n, vid, env=h.genv)
        took = time.time() - t0
        names, settings = vm_nets(h, vid)
        assert names == [n], names
        ip, mac = settings[n]["IPAddress"], settings[n]["MacAddress"]
        assert ip.startswith("10.97.0.") and settings[n]["Aliases"] == ["hotvm"], settings
        assert taps(h) == [f"ht{vid[:12]}"], taps(h)
        # The guest has the NIC with the MAC the engine chose, configured: it is the VM's first network,
        # so the default route, resolv.conf and hosts come with it.
        assert mac in guest_macs(h, vid)
        assert "nameserver 10.97.0.1" in h.run("vm", "exec", vid, "cat", "/etc/resolv.conf").out
        # A container reaches the VM by address, name and alias; the VM the container by address and name.
        for target in (ip, f"{tag}v", "hotvm"):
            out = retry(lambda: h.run("run", "--rm", "--network", n, "bb", "busybox", "nc", "-w", "3", target,
                                      "8080", check=False), f"container -> vm ({target})", timeout=60)
            assert "hi-from-vm" in out
        for target in (cip, f"{tag}c"):
            out = retry(lambda: h.run("vm", "exec", vid, "busybox", "nc", "-w", "3", target, "9090", check=False),
                        f"vm -> container ({target})")
            assert "hi-from-ctr" in out
        return mac, took

    def disconnect_and_check(mac):
        h.run("network", "disconnect", n, vid, env=h.genv)
        assert vm_nets(h, vid) == ([], {})
        assert not taps(h)
        assert mac not in guest_macs(h, vid)
        assert vid not in json.dumps(json.loads(h.run("network", "inspect", n).out)[0]["containers"])

    mac, took = connect_and_talk()
    print(f"network connect of a running VM: {took:.2f} s")
    # Errors, each one line, nothing changed.
    assert "already on network" in h.fail("network", "connect", n, vid, env=h.genv)
    assert f"{tag}nonet" in h.fail("network", "connect", f"{tag}nonet", vid, env=h.genv)
    assert "not on network" in h.fail("network", "disconnect", "hull", vid, env=h.genv)
    assert vm_nets(h, vid)[0] == [n] and taps(h) == [f"ht{vid[:12]}"]
    h.run("vm", "pause", vid)
    assert "unpause it" in h.fail("network", "disconnect", n, vid, env=h.genv)
    h.run("vm", "unpause", vid)
    disconnect_and_check(mac)
    # A second cycle: the freed root port and tap name serve again.
    mac, _ = connect_and_talk()
    disconnect_and_check(mac)
    assert guest_macs(h, vid) == before

    # kill -9 of hull at random moments of a connect or a disconnect: the next network command repairs,
    # and the VM is either on the network with its tap, record and NIC, or on none of them.
    env = dict(os.environ, **h.genv)
    env.pop("HULL_ROOT", None)
    # First at each step between two writes ($HULL_TEST_KILL_AT), then at random moments.
    steps = ["connect-attached", "connect-plugged", "disconnect-saved", "disconnect-down"] + [None] * 4
    for round_, step in enumerate(steps):
        verb = step.split("-")[0] if step else ("connect", "disconnect")[round_ % 2]
        if verb == "disconnect":
            h.run("network", "connect", n, vid, env=h.genv)
        p = subprocess.Popen(h.cmd("network", verb, n, vid), env=dict(env, HULL_TEST_KILL_AT=step or ""),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if step:
            assert p.wait(timeout=60) == -signal.SIGKILL, (step, p.returncode)
        else:
            delay = random.uniform(0.01, 2 * took)
            print(f"round {round_}: kill -9 of network {verb} after {delay:.3f} s")
            time.sleep(delay)
            p.kill()
            p.wait()
        # The next command repairs first; then a disconnect leaves the VM off the network for sure.
        h.run("network", "disconnect", n, vid, check=False, env=h.genv)
        assert not os.path.exists(os.path.join(h.root, "vms", vid, "hotplug"))
        names, settings = vm_nets(h, vid)
        assert names == [] and settings == {}, (round_, verb, names, settings)
        assert not taps(h), (round_, verb, taps(h))
        assert "nd-ht" not in " ".join(json.loads(h.run("vm", "inspect", vid).out)[0]["Vmm"]["Args"])
        wait_until(lambda: guest_macs(h, vid) == before, f"round {round_}: the guest still has a NIC")
    mac, _ = connect_and_talk()

    # A guest reboot (a new VMM from the launch file, the same config disk) keeps the hot-plugged NIC,
    # configured.
    h.run("vm", "exec", vid, "reboot", "-f", check=False)
    wait_until(lambda: json.loads(h.run("vm", "inspect", vid).out)[0]["RestartCount"] >= 1,
               "the guest's reboot did not restart the VM", timeout=60)
    assert mac in guest_macs(h, vid)
    out = retry(lambda: h.run("run", "--rm", "--network", n, "bb", "busybox", "nc", "-w", "3", f"{tag}v", "8080",
                              check=False), "container -> rebooted vm", timeout=90)
    assert "hi-from-vm" in out

    # A restart keeps the network (cold-plugged now); a cold-plugged NIC unplugs as well. Before it, a
    # connect to a second network killed after the plug, which the stop itself cleans up.
    m = f"{tag}m"
    h.run("network", "create", "--subnet", "10.96.0.0/24", m)
    p = subprocess.Popen(h.cmd("network", "connect", m, vid), env=dict(env, HULL_TEST_KILL_AT="connect-plugged"))
    assert p.wait(timeout=60) == -signal.SIGKILL
    assert len(taps(h)) == 2
    ip = vm_nets(h, vid)[1][n]["IPAddress"]
    h.run("vm", "stop", "-t", "10", vid)
    nothing_left(h, vid, n)
    nothing_left(h, vid, m)
    h.run("vm", "start", vid, env=h.genv)
    assert not os.path.exists(os.path.join(h.root, "vms", vid, "hotplug"))
    assert taps(h) == [f"ht{vid[:12]}"]
    names, settings = vm_nets(h, vid)
    assert names == [n] and settings[n]["MacAddress"] == mac and settings[n]["IPAddress"] == ip, settings
    args = " ".join(json.loads(h.run("vm", "inspect", vid).out)[0]["Vmm"]["Args"])
    assert f"ifname=ht{vid[:12]}" in args and "bus=np0" in args
    out = retry(lambda: h.run("run", "--rm", "--network", n, "bb", "busybox", "nc", "-w", "3", f"{tag}v", "8080",
                              check=False), "container -> restarted vm", timeout=90)
    assert "hi-from-vm" in out
    assert mac in guest_macs(h, vid)
    disconnect_and_check(mac)
    h.run("rm", "-f", f"{tag}c")
    h.run("vm", "stop", "-t", "10", vid)
    nothing_left(h, vid, n)
    h.run("vm", "rm", vid)
    h.run("network", "rm", m)


def test_vm_network_hotplug_refused_under_hull_vmm(net, tag):
    """hull-vmm plugs no NIC in or out: a running VM's network change is refused in one line that names
    the backend. (On this host hull-vmm cannot boot Linux, MACHINE.md, but its VMM runs for a while.)"""
    h, n = net, f"{tag}n"
    if not os.path.exists(os.path.join(eu.BUILD, "cmd", "hull-vmm", "hull-vmm")):
        pytest.skip("hull-vmm is not built (scripts/build release)")
    vid = h.run("vm", "run", "-d", "--vmm", "hull", "--network", "none", "--memory", "256M", "bb", "true",
                env=h.genv).out.strip()
    p = h.run("network", "connect", n, vid, check=False, env=h.genv)
    state = json.loads(h.run("vm", "inspect", vid).out)[0]["State"]["Status"]
    if p.returncode == 0 and state != "running":
        pytest.skip("hull-vmm's guest ended before the connect (this host's KVM cannot run it)")
    lines = [l for l in p.err.splitlines() if l.strip()]
    assert p.returncode == 125 and len(lines) == 1, p.err
    assert "hull-vmm" in lines[0] and "next start" in lines[0], lines[0]
    assert vm_nets(h, vid)[0] == [] and not taps(h)
    h.run("vm", "rm", "-f", vid, env=h.genv)


def test_vm_network_hotplug_without_hull_init(net, tag):
    """A guest that does not run hull's guest init (here the guest assets' kernel and busybox initramfs,
    whose script prints its NICs' MACs): the NIC is plugged in and out all the same, and one line says
    that the guest configures it itself."""
    h, n = net, f"{tag}n"
    script = "while true; do echo NICS $(cat /sys/class/net/*/address); sleep 0.3; done"
    b64 = base64.b64encode(script.encode()).decode()
    vid = h.run("vm", "run", "-d", "--name", f"{tag}k", "--network", "none", "--memory", "256M", "--kernel",
                os.path.join(vu.GUEST, "vmlinuz"), "--initrd", os.path.join(vu.GUEST, "initramfs.cpio.gz"),
                "--cmdline", f"console=ttyS0 panic=-1 hull.run=b64:{b64}", env=h.genv).out.strip()

    def last_nics():
        lines = [l for l in h.run("vm", "logs", vid).out.splitlines() if l.startswith("NICS")]
        return lines[-1] if lines else None

    wait_until(lambda: last_nics() is not None, "the guest's script never ran", timeout=90)
    p = h.run("network", "connect", n, vid, check=False, env=h.genv)
    lines = [l for l in p.err.splitlines() if l.strip()]
    assert p.returncode == 0 and len(lines) == 1 and "configures it itself" in lines[0], p.err
    mac = vm_nets(h, vid)[1][n]["MacAddress"]
    assert mac in lines[0] and taps(h) == [f"ht{vid[:12]}"]
    wait_until(lambda: mac in last_nics(), "the guest never saw the NIC")
    h.run("network", "disconnect", n, vid, env=h.genv)
    assert not taps(h) and vm_nets(h, vid) == ([], {})
    wait_until(lambda: mac not in last_nics(), "the guest still has the NIC")
    h.run("vm", "rm", "-f", vid, env=h.genv)
    assert not taps(h)
