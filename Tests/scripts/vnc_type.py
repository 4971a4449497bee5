#!/usr/bin/env python3
"""Type text into a VNC server with vncdotool, capturing the screen before and after.

usage: vnc_type.py HOST PORT BEFORE.png AFTER.png TEXT

Each character of TEXT is one key press (down, up) with its keysym, as vncdotool's
`type` command sends it; after the last key the script waits a second for the guest
to draw, then captures. Exit status 0 and both PNGs on success."""
import sys
import time

from vncdotool import api

host, port, before, after, text = sys.argv[1:6]
try:
    c = api.connect(f"{host}::{port}", timeout=20)
    c.captureScreen(before)
    for ch in text:
        c.keyPress(ch)
    time.sleep(1)
    c.captureScreen(after)
    c.disconnect()
finally:
    api.shutdown()
