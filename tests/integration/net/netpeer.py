#!/usr/bin/python3
"""Small network peers for the network tests, run inside the lab's namespaces (nsenter).

  netpeer.py serve-tcp PORT [--count N] [--bind ADDR]   accept N connections; answer "<peer ip>"
  netpeer.py serve-udp PORT [--count N] [--bind ADDR]   answer N datagrams with "<peer ip>"
  netpeer.py tcp HOST PORT [--timeout S]                connect, print the answer
  netpeer.py udp HOST PORT [--timeout S]                send one datagram, print the answer
  netpeer.py dns-serve ADDR                              a tiny upstream: *.test -> 203.0.113.7,
                                                         big.test -> 40 A records (TC over UDP)
  netpeer.py dns-query SERVER NAME [--type A|AAAA|PTR|MX] [--tcp]
                                                         print "rcode=N aa=B tc=B" and one answer per line
  netpeer.py tap-ping TAP MAC IP TARGET                  be a VM guest on a tap: ARP for TARGET,
                                                         ICMP echo it, print "reply from TARGET"

Servers print "ready" once they listen. Exit status 0 on success, 1 on timeout or error.
"""
import argparse
import fcntl
import os
import random
import select
import socket
import struct
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(kind, port, count, bind):
    fam = family_of(bind) if bind else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6 and not bind:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((bind or "::", port))
    if kind == "tcp":
        s.listen(16)
    print("ready", flush=True)
    for _ in range(count):
        if kind == "tcp":
            c, peer = s.accept()
            c.sendall((peer[0].removeprefix("::ffff:") + "\n").encode())
            c.close()
        else:
            data, peer = s.recvfrom(2048)
            s.sendto((peer[0].removeprefix("::ffff:") + "\n").encode(), peer)
    return 0


def client(kind, host, port, timeout):
    fam = family_of(host)
    try:
        if kind == "tcp":
            s = socket.create_connection((host, port), timeout=timeout)
            data = s.recv(256)
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(timeout)
            s.sendto(b"hi\n", (host, port))
            data, _ = s.recvfrom(256)
    except OSError as e:
        print(f"error: {e}", flush=True)
        return 1
    print(data.decode().strip(), flush=True)
    return 0


# ---------------------------------------------------------------- DNS

def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(buf, off):
    labels = []
    jumped = False
    end = off
    for _ in range(128):
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            jumped = True
            continue
        if n == 0:
            if not jumped:
                end = off + 1
            break
        labels.append(buf[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n
    return ".".join(labels), end


TYPES = {"A": 1, "PTR": 12, "MX": 15, "AAAA": 28}


def dns_query(server, name, qtype, tcp, timeout=3.0):
    qid = random.randrange(65536)
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", TYPES[qtype], 1)
    fam = family_of(server)
    if tcp:
        s = socket.create_connection((server, 53), timeout=timeout)
        s.sendall(struct.pack("!H", len(msg)) + msg)
        hdr = b""
        while len(hdr) < 2:
            hdr += s.recv(2 - len(hdr))
        want = struct.unpack("!H", hdr)[0]
        resp = b""
        while len(resp) < want:
            chunk = s.recv(want - len(resp))
            if not chunk:
                break
            resp += chunk
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(msg, (server, 53))
        resp, _ = s.recvfrom(65535)
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", resp[:12])
    assert rid == qid, "id mismatch"
    off = 12
    for _ in range(qd):
        _, off = read_name(resp, off)
        off += 4
    answers = []
    for _ in range(an):
        _, off = read_name(resp, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
        off += 10
        rdata = resp[off:off + rdlen]
        if rtype == 1:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 12:
            answers.append(read_name(resp, off)[0])
        off += rdlen
    print(f"rcode={flags & 0xF} aa={int(bool(flags & 0x0400))} tc={int(bool(flags & 0x0200))}", flush=True)
    for a in answers:
        print(a, flush=True)
    return 0


def dns_answer(query, tcp):
    qid, flags = struct.unpack("!HH", query[:4])
    name, off = read_name(query, 12)
    qtype = struct.unpack("!H", query[off:off + 2])[0]
    question = query[12:off + 4]
    answers = []
    rcode = 3
    if name.endswith(".test") or name == "test":
        rcode = 0
        if qtype == 1:
            count = 40 if name == "big.test" else 1
            for i in range(count):
                answers.append(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + bytes([203, 0, 113, 7 + i]))
    tc = False
    body = b"".join(answers)
    if not tcp and 12 + len(question) + len(body) > 512:
        answers, body, tc = [], b"", True
    hflags = 0x8000 | 0x0080 | (flags & 0x0100) | rcode | (0x0200 if tc else 0)
    return struct.pack("!HHHHHH", qid, hflags, 1, len(answers), 0, 0) + question + body


def dns_serve(addr):
    fam = family_of(addr)
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((addr, 53))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53))
    t.listen(8)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([u, t], [], [])
        if u in r:
            q, peer = u.recvfrom(4096)
            u.sendto(dns_answer(q, False), peer)
        if t in r:
            c, _ = t.accept()
            c.settimeout(2)
            try:
                while True:
                    hdr = c.recv(2)
                    if len(hdr) < 2:
                        break
                    n = struct.unpack("!H", hdr)[0]
                    q = b""
                    while len(q) < n:
                        q += c.recv(n - len(q))
                    a = dns_answer(q, True)
                    c.sendall(struct.pack("!H", len(a)) + a)
            except OSError:
                pass
            c.close()


# ---------------------------------------------------------------- a VM guest on a tap

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def tap_ping(tap, mac, ip, target, timeout=5.0):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    me = bytes.fromhex(mac.replace(":", ""))
    my_ip = socket.inet_aton(ip)
    dst_ip = socket.inet_aton(target)
    bcast = b"\xff" * 6
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + me + my_ip + b"\0" * 6 + dst_ip
    deadline = time.monotonic() + timeout
    dst_mac = None
    next_send = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            if dst_mac is None:
                os.write(fd, bcast + me + b"\x08\x06" + arp)
            else:
                icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"hull-tap-ping"
                icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
                iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, my_ip, dst_ip)
                iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
                os.write(fd, dst_mac + me + b"\x08\x00" + iph + icmp)
            next_send = now + 0.5
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        frame = os.read(fd, 2048)
        etype = frame[12:14]
        if etype == b"\x08\x06" and frame[20:22] == b"\x00\x02" and frame[28:32] == dst_ip:
            dst_mac = frame[22:28]
            next_send = 0
        elif etype == b"\x08\x06" and frame[20:22] == b"\x00\x01" and frame[38:42] == my_ip:
            # Someone (the container, the host) asks for us: answer, as a guest kernel would.
            reply = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + me + my_ip + frame[22:28] + frame[28:32]
            os.write(fd, frame[6:12] + me + b"\x08\x06" + reply)
        elif etype == b"\x08\x00" and frame[23] == 1 and frame[26:30] == dst_ip and frame[34] == 0:
            print(f"reply from {target}", flush=True)
            return 0
    print("timeout", flush=True)
    return 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for k in ("serve-tcp", "serve-udp"):
        p = sub.add_parser(k)
        p.add_argument("port", type=int)
        p.add_argument("--count", type=int, default=1)
        p.add_argument("--bind")
    for k in ("tcp", "udp"):
        p = sub.add_parser(k)
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=3.0)
    p = sub.add_parser("dns-serve")
    p.add_argument("addr")
    p = sub.add_parser("dns-query")
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("--type", default="A", choices=sorted(TYPES))
    p.add_argument("--tcp", action="store_true")
    p = sub.add_parser("tap-ping")
    for a in ("tap", "mac", "ip", "target"):
        p.add_argument(a)
    a = ap.parse_args()
    if a.cmd.startswith("serve-"):
        return serve(a.cmd[6:], a.port, a.count, a.bind)
    if a.cmd in ("tcp", "udp"):
        return client(a.cmd, a.host, a.port, a.timeout)
    if a.cmd == "dns-serve":
        return dns_serve(a.addr)
    if a.cmd == "dns-query":
        try:
            return dns_query(a.server, a.name, a.type, a.tcp)
        except (OSError, AssertionError) as e:
            print(f"error: {e}", flush=True)
            return 1
    if a.cmd == "tap-ping":
        return tap_ping(a.tap, a.mac, a.ip, a.target)
    return 1


if __name__ == "__main__":
    sys.exit(main())
