#!/bin/sh
# Peak memory of a ringside VNC server against its number of clients: runs the desktop guest
# headless with --vnc, connects CLIENTS clients (vnc_clients.py) for SECONDS, and prints the
# server's RSS before the clients and its peak while they ran (VmRSS sampled every 0.1 s: the
# process's own VmHWM is set at startup by --tracking auto's cache evictor, up to 256 MiB written
# once before the guest runs), with its last --stats rate line.
#
# usage: vnc_rss.sh RINGSIDE CLIENTS raw|zrle|tight [SECONDS [WIDTH HEIGHT]]
set -eu
bin=$1 clients=$2 enc=$3 seconds=${4:-20} width=${5:-1920} height=${6:-1080}
here=$(dirname "$0")
log=$(mktemp)
"$bin" run --guest desktop --width "$width" --height "$height" --headless --stats \
    --vnc 127.0.0.1:0 --seconds $((seconds + 600)) >"$log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^VNC server on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "vnc_rss.sh: the server printed no port within 10 s:"; cat "$log"; kill "$pid"; exit 1; }
sleep 3 # past the startup transient, into the guest's frames
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
before=$(rss)
samples=$(mktemp)
python3 "$here/vnc_clients.py" "$port" "$clients" "$enc" "$seconds" &
client=$!
while kill -0 "$client" 2>/dev/null; do rss >>"$samples"; sleep 0.1; done
wait "$client"
peak=$(sort -n "$samples" | tail -1)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
rate=$(grep "^vnc: $clients clients" "$log" | tail -1)
kill -TERM "$pid"; wait "$pid" || true # (the server would stop by itself after --seconds)
echo "$clients clients $enc ${width}x${height}: RSS $((before / 1024)) MiB before the clients, peak $((peak / 1024)) MiB with them (VmHWM $((hwm / 1024)) MiB); $rate"
rm -f "$log" "$samples"
