#!/usr/bin/env python3
"""Many VNC clients following the screen at once, in one process, to measure a server's
memory and rate against the number of clients: each client asks for one encoding, is sent the
whole screen once, then requests an incremental update every 1/60 s and reads (and discards)
what arrives. Prints the bytes each client read.

usage: vnc_clients.py PORT CLIENTS raw|zrle|tight SECONDS"""
import selectors
import socket
import struct
import sys
import time

port, count, enc, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
code = {"raw": 0, "zrle": 16, "tight": 7}[enc]


def read(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("server closed during the handshake")
        b += c
    return b


def connect():
    s = socket.create_connection(("127.0.0.1", port))
    read(s, 12)
    s.sendall(b"RFB 003.008\n")
    read(s, read(s, 1)[0])
    s.sendall(b"\x01")
    read(s, 4)
    s.sendall(b"\x01")
    w, h = struct.unpack("!HH", read(s, 4))
    read(s, 16)
    read(s, struct.unpack("!I", read(s, 4))[0])
    s.sendall(struct.pack("!BxHi", 2, 1, code))
    s.sendall(struct.pack("!BBHHHH", 3, 0, 0, 0, w, h))
    s.setblocking(False)
    return s, w, h


clients = [connect() for _ in range(count)]
sel = selectors.DefaultSelector()
received = {}
for s, _, _ in clients:
    sel.register(s, selectors.EVENT_READ)
    received[s] = 0
end = time.time() + seconds
next_request = time.time()
while time.time() < end:
    if time.time() >= next_request:
        for s, w, h in clients:
            try:
                s.send(struct.pack("!BBHHHH", 3, 1, 0, 0, w, h))
            except BlockingIOError:
                pass
        next_request += 1 / 60
    for key, _ in sel.select(timeout=max(0.0, min(next_request, end) - time.time())):
        try:
            b = key.fileobj.recv(1 << 20)
        except BlockingIOError:
            continue
        if not b:
            raise SystemExit("the server closed a client")
        received[key.fileobj] += len(b)
for s, _, _ in clients:
    s.close()
total = sum(received.values())
print(f"{count} clients, {enc}, {seconds:g} s: {total} bytes read, {total // count} per client")
