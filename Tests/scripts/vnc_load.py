#!/usr/bin/env python3
"""A VNC client that follows the screen for a while, to measure a server: it asks for one
encoding and requests updates every 1/60 s, incremental or (with 'full') the whole screen
each time, as a full-frame server would send it. It reads and discards what arrives; the
server's --stats lines give bytes and encode time per update.

usage: vnc_load.py PORT raw|zrle|tight incremental|full SECONDS"""
import socket
import struct
import sys
import time

port, enc, mode, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
code = {"raw": 0, "zrle": 16, "tight": 7}[enc]
s = socket.create_connection(("127.0.0.1", port))


def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("server closed")
        b += c
    return b


read(12)
s.sendall(b"RFB 003.008\n")
n = read(1)[0]
read(n)
s.sendall(b"\x01")
read(4)
s.sendall(b"\x01")
w, h = struct.unpack("!HH", read(4))
read(16)
read(struct.unpack("!I", read(4))[0])
s.sendall(struct.pack("!BxHi", 2, 1, code))
s.sendall(struct.pack("!BBHHHH", 3, 0, 0, 0, w, h))
s.setblocking(False)
end = time.time() + seconds
while time.time() < end:
    s.sendall(struct.pack("!BBHHHH", 3, 1 if mode == "incremental" else 0, 0, 0, w, h))
    t = time.time() + 1 / 60
    while time.time() < t:
        try:
            s.recv(1 << 20)
        except BlockingIOError:
            time.sleep(0.001)
s.close()
