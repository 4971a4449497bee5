#!/usr/bin/env python3
"""Live migration of desktop with and without TLS, side by side in one run (docs/bench/migration-tls.md).

Real processes over loopback: `ringside receive` and `ringside run --control`, the migration started
with `ringside ctl SOCK migrate` (default budget, 300 ms) once the guest has run 1 s, plain and TLS trials alternating.
Per trial: the source's total time, bytes and downtime (its "migrated to" line), the destination's
downtime, and the CPU each process spent from just before `migrate` to the source's exit
(/proc/PID/stat before, wait4's rusage after, for the source; /proc/PID/stat both times for the
destination). The certificates are a throw-away CA made with openssl, as the tests make them.

usage: scripts/bench-migration-tls.py [RINGSIDE] [--trials N] [--memory 256M,4G]
"""
import argparse, os, re, signal, statistics, subprocess, sys, tempfile, time

TICK = os.sysconf("SC_CLK_TCK")


def certificates(d):
    def ssl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-subj", "/CN=bench CA", "-days", "2")
    for leaf, ext in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"), ("client", "extendedKeyUsage=clientAuth\n")]:
        open(f"{d}/{leaf}.ext", "w").write(ext)
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/{leaf}.key", "-out", f"{d}/{leaf}.csr", "-subj", f"/CN={leaf}")
        ssl("x509", "-req", "-in", f"{d}/{leaf}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
            "-out", f"{d}/{leaf}.pem", "-extfile", f"{d}/{leaf}.ext", "-days", "2")
    tls = lambda leaf: ["--migrate-tls-cert", f"{d}/{leaf}.pem", "--migrate-tls-key", f"{d}/{leaf}.key", "--migrate-tls-ca", f"{d}/ca.pem"]
    return tls("server"), tls("client")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def wait_for(path, pattern, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, open(path).read())
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise SystemExit(f"no '{pattern}' in {path}: {open(path).read()}")


def trial(rs, memory, tls, work):
    server, client = tls or ([], [])
    out = lambda n: open(f"{work}/{n}", "w+")
    dst_out, src_out = out("dst.out"), out("src.out")
    dst = subprocess.Popen([rs, "receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "60"] + server,
                           stdout=dst_out, stderr=subprocess.STDOUT)
    port = wait_for(f"{work}/dst.out", r"waiting for a migration on 127\.0\.0\.1:(\d+)", dst).group(1)
    sock = f"{work}/ctl.sock"
    src = subprocess.Popen([rs, "run", "--guest", "desktop", "--width", "1280", "--height", "800", "--memory", memory,
                            "--headless", "--control", sock], stdout=src_out, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while '"state":"running"' not in subprocess.run([rs, "ctl", sock, "status", "--json"], capture_output=True, text=True).stdout:
        if time.time() > deadline or src.poll() is not None:
            raise SystemExit(f"the source did not come up: {open(f'{work}/src.out').read()}")
        time.sleep(0.05)
    time.sleep(1)  # the bench's 1 s of running first
    src0, dst0 = cpu_seconds(src.pid), cpu_seconds(dst.pid)
    r = subprocess.run([rs, "ctl", sock, "migrate", f"127.0.0.1:{port}"] + client, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"ctl migrate: {r.stdout}{r.stderr}")
    while True:  # the source exits once the guest is handed over; a failed attempt leaves it running
        pid, status, usage = os.wait4(src.pid, os.WNOHANG)
        if pid:
            src.returncode = status
            break
        if "failed, the guest keeps running here" in open(f"{work}/src.out").read():
            for p in (src, dst):
                p.send_signal(signal.SIGTERM)
                p.wait(60)
            return {"failed": open(f"{work}/src.out").read().split("failed, the guest keeps running here: ")[1].split("\n")[0]}
        time.sleep(0.01)
    dst1 = cpu_seconds(dst.pid)
    d = wait_for(f"{work}/dst.out", r"migration received from .*?: (\d+) rounds, (\d+) pages, ([\d.]+) MiB in ([\d.]+) s; downtime ([\d.]+) ms", dst)
    dst.send_signal(signal.SIGTERM)
    dst.wait(60)
    s = re.search(r"migrated to .*?: (\d+) rounds, ([\d.]+) MiB in ([\d.]+) s \(\d+ MiB/s\), last round \d+ pages; downtime ([\d.]+) ms",
                  open(f"{work}/src.out").read())
    if not s:
        raise SystemExit(f"the source did not migrate: {open(f'{work}/src.out').read()}")
    return {"rounds": int(s.group(1)), "mib": float(s.group(2)), "seconds": float(s.group(3)), "downtime_src": float(s.group(4)),
            "downtime_dst": float(d.group(5)), "cpu_src": usage.ru_utime + usage.ru_stime - src0, "cpu_dst": dst1 - dst0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ringside", nargs="?", default=".build/debug/ringside")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--memory", default="256M,4G")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="rs-tls-bench-")
    tls = certificates(work)
    rows = {}
    for memory in a.memory.split(","):
        for i in range(a.trials):
            for mode in (["plain", "tls"] if i % 2 == 0 else ["tls", "plain"]):
                r = trial(a.ringside, memory, tls if mode == "tls" else None, work)
                rows.setdefault((memory, mode), []).append(r)
                if "failed" in r:
                    print(f"{memory} {mode:5} trial {i}: failed: {r['failed']}", flush=True)
                    continue
                print(f"{memory} {mode:5} trial {i}: " + ", ".join(f"{k} {v:.4g}" for k, v in r.items()), flush=True)
    keys = ["rounds", "mib", "seconds", "downtime_src", "downtime_dst", "cpu_src", "cpu_dst"]
    print("\n| RAM | stream | migrated | " + " | ".join(f"{k} (median)" for k in keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for (memory, mode), all_rows in rows.items():
        rs = [r for r in all_rows if "failed" not in r]
        medians = " | ".join(f"{statistics.median(r[k] for r in rs):.3g}" if rs else "-" for k in keys)
        print(f"| {memory} | {mode} | {len(rs)} of {len(all_rows)} | {medians} |")


if __name__ == "__main__":
    main()
