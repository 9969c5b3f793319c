"""hull run --isolation vm on hull networks (docs/agent.md "Networks"): the guest takes over the
interfaces of the container's network namespace (a tap joined to each by tc redirects), so a
VM-isolated container is reached by name and address like any other, and its published ports work.

hull runs in the network lab of tests/integration/engine-net (its own "host" namespace, checked for
leftovers at the end). On this project's hosts the VMM is QEMU under TCG: one boot costs seconds,
so one VM is booted and every check is made on it."""
import os
import signal
import sys

for _d in ("engine-net", "engine", "net"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", _d))
from enet import PY, enet  # noqa: E402,F401
from test_isolation_engine import VM  # noqa: E402  (need_guest: conftest.py)


def httpd(text):
    """A container command: busybox httpd serving `text` on port 80, "up" in the log once it is set."""
    return ("sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && echo up && exec httpd -f -p 80 -h /www")


def http_get(ip):
    """A shell command: GET / from ip:80 with busybox nc, the whole answer on stdout."""
    return f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {ip} 80"


def wait_up(enet, name):
    enet.hull.wait_for(name, lambda c: "up" in enet.run("logs", name).out, timeout=120, what="the server")


def test_vm_on_default_and_user_network_names_addresses_ports_kill9(enet):
    net = f"{enet.tag}n"
    enet.run("network", "create", "--ipv6", "--subnet", "10.93.0.0/24", net)
    # Two networks for one VM: eth0 on ours (the first gives the DNS server and the default route), eth1
    # on the default network.
    v = enet.d("v", *VM, "--network", net, "--network", "hull", "--network-alias", "vmsrv", "-p", "8080:80",
               cmd=httpd("hello-from-vm"))
    c = enet.d("c", "--network", net, cmd=httpd("hello-from-ctr"))
    wait_up(enet, v)
    wait_up(enet, c)
    nets = enet.inspect(v)["NetworkSettings"]["Networks"]
    v_def, v_net = nets["hull"]["IPAddress"], nets[net]["IPAddress"]
    assert v_def.startswith("10.88.") and v_net.startswith("10.93.0.")
    c_net = enet.ip(c, net)
    v6 = nets[net]["GlobalIPv6Address"]
    c6 = enet.inspect(c)["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"]
    assert v6.startswith("fd") and c6.startswith("fd")

    # In the guest: both NICs with the addresses, MACs and routes of the namespace's interfaces.
    links = enet.sh(v, "ip -o link show; ip -o addr show; ip route; uname -r").out
    assert "-cloud-amd64" in links  # the guest's kernel: this is the VM talking
    assert f"inet {v_def}/16" in links and f"inet {v_net}/24" in links, links
    assert nets["hull"]["MacAddress"] in links and nets[net]["MacAddress"] in links, links
    assert "default via 10.93.0.1 dev eth0" in links, links
    assert f"inet6 {v6}/64" in links, links

    # The ordinary container finds the VM by name and alias and reaches it, and the other way round
    # (the guest has the container's /etc/resolv.conf: the network's DNS server). Names through
    # nslookup: busybox-static's wget and ping cannot use glibc's resolver (and its wget crashes).
    assert enet.resolve(c, v) == [v_net] and enet.resolve(c, "vmsrv") == [v_net]
    assert enet.resolve(v, c) == [c_net]
    assert "hello-from-vm" in enet.sh(c, http_get(v_net)).out
    assert "hello-from-ctr" in enet.sh(v, http_get(c_net)).out
    enet.sh(v, f"ping -c 1 -W 5 {c_net} && ping -c 1 -W 5 10.88.0.1 && ping -6 -c 1 -W 5 {c6}")
    enet.sh(c, f"ping -6 -c 1 -W 5 {v6}")

    # The published port from the host's loopback (DNAT to the address the guest owns).
    get = ("import urllib.request;"
           "print(urllib.request.urlopen('http://127.0.0.1:8080/', timeout=10).read().decode(), end='')")
    assert enet.host(PY, "-c", get).stdout == "hello-from-vm\n"

    # Its process (the runtime's shim) is not in the namespace the guest took: the engine neither
    # names that namespace nor changes or shares it while the VM runs.
    assert "SandboxKey" not in enet.inspect(v)["NetworkSettings"]
    assert "runs in a VM of its own" in enet.fail("network", "disconnect", "hull", v)
    assert "runs in a VM of its own" in enet.fail("run", "--rm", "--network", f"container:{v}", "bb", "true")

    # kill -9 of the VMM: the container fails with 137; nothing stays in the namespaces (the
    # fixture checks the host namespace after rm; the container's went with it).
    pid = enet.inspect(v)["State"]["Pid"]
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        [vmm] = [int(k) for k in f.read().split()]
    os.kill(vmm, signal.SIGKILL)
    st = enet.hull.wait_for(v, lambda x: x["State"]["Status"] == "exited", timeout=60, what="the exit")["State"]
    assert st["ExitCode"] == 137
    enet.run("rm", "-f", v, c)
