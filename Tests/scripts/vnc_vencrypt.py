#!/usr/bin/env python3
"""A VeNCrypt client of the tests' own (Python's ssl module over a plain socket):
RFB 3.8, security type 19, VeNCrypt 0.2, the chosen subtype, TLS (verified against CA),
then the subtype's authentication, ClientInit and one full Raw update.

usage: vnc_vencrypt.py HOST PORT CA SUBTYPE [PASSWORD [USERNAME]]
Prints one JSON line: {"offered": [...], "result": 0|1, "reason": ..., "width": W,
"height": H, "tls": "TLSv1.3", "pixels": N}; exits 0 when the update arrived.
"""
import json
import socket
import ssl
import struct
import sys


def read(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("server closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def result(s, out):
    """SecurityResult: 0, or 1 and the reason (3.8)."""
    (r,) = struct.unpack(">I", read(s, 4))
    out["result"] = r
    if r != 0:
        (n,) = struct.unpack(">I", read(s, 4))
        out["reason"] = read(s, n).decode()
    return r


def vnc_response(challenge, password):
    # DES with the bit-reversed password as key, as VNC Authentication has it (via openssl).
    import subprocess
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in (password.encode() + b"\0" * 8)[:8])
    p = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(), "-provider", "legacy", "-provider", "default"],
                       input=challenge, capture_output=True, check=True)
    return p.stdout


def main():
    host, port, ca, subtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    password = sys.argv[5] if len(sys.argv) > 5 else ""
    user = sys.argv[6] if len(sys.argv) > 6 else "tester"
    out = {}
    s = socket.create_connection((host, port), timeout=60)
    read(s, 12)
    s.sendall(b"RFB 003.008\n")
    (n,) = read(s, 1)
    types = list(read(s, n))
    out["types"] = types
    s.sendall(bytes([19]))
    out["server_version"] = list(read(s, 2))
    s.sendall(bytes([0, 2]))
    (ack,) = read(s, 1)
    (count,) = read(s, 1)
    out["offered"] = [struct.unpack(">I", read(s, 4))[0] for _ in range(count)]
    s.sendall(struct.pack(">I", subtype))
    if subtype not in out["offered"]:
        result(s, out)
        print(json.dumps(out))
        return 1
    (go,) = read(s, 1)
    ctx = ssl.create_default_context(cafile=ca)
    t = ctx.wrap_socket(s, server_hostname=host)
    out["tls"] = t.version()
    if subtype == 261:
        t.sendall(vnc_response(read(t, 16), password))
    elif subtype == 262:
        u, p = user.encode(), password.encode()
        t.sendall(struct.pack(">II", len(u), len(p)) + u + p)
    if result(t, out) != 0:
        print(json.dumps(out))
        return 1
    t.sendall(bytes([1]))
    w, h = struct.unpack(">HH", read(t, 4))
    read(t, 16)
    (n,) = struct.unpack(">I", read(t, 4))
    read(t, n)
    out["width"], out["height"] = w, h
    t.sendall(bytes([2, 0, 0, 1, 0, 0, 0, 0]))  # SetEncodings: Raw only
    t.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    pixels = 0
    while pixels < w * h:
        (kind,) = read(t, 1)
        if kind != 0:
            raise ValueError("server message %d before the update" % kind)
        (_, rects) = struct.unpack(">BH", read(t, 3))
        for _ in range(rects):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", read(t, 12))
            if enc == 0:
                read(t, rw * rh * 4)
                pixels += rw * rh
    out["pixels"] = pixels
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
