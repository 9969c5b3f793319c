"""VMs on hull networks: a persistent tap on the bridge with an address from the same IPAM.

hull-vmm cannot boot a Linux guest on this machine's KVM (docs: MACHINE.md), so the guest here
is netpeer.py tap-ping: it opens the tap as a VMM does (TUNSETIFF on the persistent device) and
speaks ARP and ICMP with the address the attach handed out, to a container on the network.
"""
import os

from netlab import wait_for


def test_vm_tap_talks_to_containers(lab):
    net = f"{lab.tag}n1"
    lab.create(net, "--subnet", "10.89.130.0/24")
    c = lab.container("c1")
    lab.attach(net, c, "--name", "web")
    tap = f"{lab.tag}t1"
    res = lab.json("tap", net, "vm1", "--ifname", tap, "--name", "vm1", "--uid", "65534",
                   "--mac", "02:00:00:00:13:37")
    assert res["ifname"] == tap and res["host_ifname"] == tap
    assert res["ipv4"] == "10.89.130.3/24" and res["mac"] == "02:00:00:00:13:37"
    assert res["kernel_ip_arg"] == "ip=10.89.130.3::10.89.130.1:255.255.255.0:vm1:eth0:off:10.89.130.1"
    link = lab.links()[tap]
    assert link["master"] == lab.json("inspect", net)["bridge"] and "UP" in link["flags"]
    owner = lab.hsh("cat", f"/sys/class/net/{tap}/owner").stdout.strip()
    assert owner == "65534"

    # the "guest" reaches the container, and the container resolves the VM by name
    out = lab.hsh("/usr/bin/python3", os.path.join(os.path.dirname(__file__), "netpeer.py"), "tap-ping", tap,
                  "02:00:00:00:13:37", "10.89.130.3", "10.89.130.2", timeout=20).stdout
    assert out.strip() == "reply from 10.89.130.2"
    assert c.resolve("vm1") == ["10.89.130.3"]

    lab.tool("detach", net, "vm1")
    assert wait_for(lambda: tap not in lab.links())
    lab.tool("detach", net, c.ns)
    lab.tool("rm", net)


def test_tap_name_taken(lab):
    net = f"{lab.tag}n1"
    lab.create(net)
    tap = f"{lab.tag}t1"
    lab.json("tap", net, "vm1", "--ifname", tap)
    p = lab.tool("tap", net, "vm2", "--ifname", tap, check=False)
    assert p.returncode == 1 and f"tap '{tap}' already exists" in p.stderr
    assert len(lab.json("inspect", net)["endpoints"]) == 1
    # a network removal takes its VMs' taps along
    lab.tool("rm", "--force", net)
    assert tap not in lab.links()
