#!/usr/bin/env python3
"""Type text into a VNC server with vncdotool, capturing the screen before and after.

usage: vnc_type.py HOST PORT BEFORE.png AFTER.png TEXT [EXPECTED.png]

Each character of TEXT is one key press (down, up) with its keysym, as vncdotool's
`type` command sends it. Then the script captures until the screen equals EXPECTED.png
(the guest draws the keys when it gets to them), at most 60 s, and writes the last capture
to AFTER.png; without EXPECTED it captures once. The caller compares AFTER with what it
expects. Exit status 0 and both PNGs on success."""
import sys
import time

from PIL import Image, ImageChops
from vncdotool import api

host, port, before, after, text = sys.argv[1:6]
expected = Image.open(sys.argv[6]).convert("RGB") if len(sys.argv) > 6 else None
try:
    c = api.connect(f"{host}::{port}", timeout=60)
    c.captureScreen(before)
    for ch in text:
        c.keyPress(ch)
    deadline = time.monotonic() + 60
    while True:
        c.captureScreen(after)
        if expected is None or time.monotonic() > deadline:
            break
        got = Image.open(after).convert("RGB")
        if got.size == expected.size and ImageChops.difference(got, expected).getbbox() is None:
            break
        time.sleep(0.05)
    c.disconnect()
finally:
    api.shutdown()
