#!/usr/bin/env python3
"""A slow, lossy link between two network namespaces, for the migration tests.

The kernel here has no netem qdisc, so the link is a userspace forwarder: one TUN device in
each namespace (opened after setns into it), and this process copying IP packets between the
two, each way with a fixed delay, random loss (seeded, so a run can be repeated) and a rate
limit (a packet leaves only when the ones before it have been serialized at the rate; a queue
longer than --queue-ms drops at its tail, as a router would).

    link_emulator.py --a NS_A --b NS_B --addr-a 10.78.0.1 --addr-b 10.78.0.2 \
        --delay-ms 25 --loss 0.05 --rate-mbit 10 --seed 1

Prints "link ready" once both devices are up and addressed, then forwards until SIGTERM or
SIGINT (or --lifetime seconds, so that it never outlives a crashed test), and prints one line
of counts per direction at the end. Standard library only.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
MAX_PACKET = 65536


def setns(path):
    """Moves this (single) thread into the network namespace at `path`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(namespace, name):
    """A TUN device named `name` created in `namespace`: its file descriptor, non-blocking."""
    setns(f"/var/run/netns/{namespace}")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args):
    subprocess.run(["ip", *args], check=True)


class Direction:
    """One way of the link: packets queued behind the rate limit, then delayed."""

    def __init__(self, name, out_fd, args, rng):
        self.name, self.out_fd, self.args, self.rng = name, out_fd, args, rng
        self.free_at = 0.0  # when the link has serialized every packet accepted so far
        self.forwarded = self.lost = self.tail_dropped = self.bytes = 0

    def accept(self, packet, now, schedule):
        if self.rng.random() < self.args.loss:
            self.lost += 1
            return
        start = max(now, self.free_at)
        if start - now > self.args.queue_ms / 1000:
            self.tail_dropped += 1
            return
        self.free_at = start + len(packet) * 8 / (self.args.rate_mbit * 1e6)
        schedule(self.free_at + self.args.delay_ms / 1000, self, packet)

    def deliver(self, packet):
        try:
            os.write(self.out_fd, packet)
            self.forwarded += 1
            self.bytes += len(packet)
        except OSError:
            self.lost += 1  # the device is down or full: the packet is lost like any other

    def summary(self):
        return (f"{self.name}: {self.forwarded} packets ({self.bytes} bytes) forwarded, "
                f"{self.lost} lost at random, {self.tail_dropped} dropped at the queue's tail")


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True, help="the first namespace")
    p.add_argument("--b", required=True, help="the second namespace")
    p.add_argument("--addr-a", default="10.78.0.1")
    p.add_argument("--addr-b", default="10.78.0.2")
    p.add_argument("--delay-ms", type=float, default=25, help="one-way delay")
    p.add_argument("--loss", type=float, default=0.05, help="fraction of packets lost, each way")
    p.add_argument("--rate-mbit", type=float, default=10, help="rate limit, each way")
    p.add_argument("--queue-ms", type=float, default=200, help="longest queue before tail drop")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lifetime", type=float, default=900, help="seconds before giving up on its own")
    p.add_argument("--mtu", type=int, default=1500)
    return p.parse_args()


def main():
    args = parse()
    rng = random.Random(args.seed)
    fd_a = open_tun(args.a, "rslink0")
    fd_b = open_tun(args.b, "rslink0")
    for ns, fd, me, peer in ((args.a, fd_a, args.addr_a, args.addr_b), (args.b, fd_b, args.addr_b, args.addr_a)):
        ip("-n", ns, "link", "set", "rslink0", "mtu", str(args.mtu), "up")
        ip("-n", ns, "addr", "add", me, "peer", peer, "dev", "rslink0")
        ip("-n", ns, "link", "set", "lo", "up")
    a_to_b = Direction("a->b", fd_b, args, rng)
    b_to_a = Direction("b->a", fd_a, args, rng)
    inbound = {fd_a: a_to_b, fd_b: b_to_a}
    stopping = []
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stopping.append(True))
    queue, seq = [], [0]

    def schedule(at, direction, packet):
        seq[0] += 1
        heapq.heappush(queue, (at, seq[0], direction, packet))

    print("link ready", flush=True)
    end = time.monotonic() + args.lifetime
    while not stopping and time.monotonic() < end:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, direction, packet = heapq.heappop(queue)
            direction.deliver(packet)
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            ready, _, _ = select.select(list(inbound), [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            while True:
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                inbound[fd].accept(packet, now, schedule)
    print(a_to_b.summary(), flush=True)
    print(b_to_a.summary(), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"link_emulator: {e}", file=sys.stderr)
        sys.exit(1)
