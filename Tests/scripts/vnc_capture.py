#!/usr/bin/env python3
"""Capture a VNC server's screen with vncdotool, choosing the encoding and pixel format.

usage: vnc_capture.py HOST PORT OUT.png raw|zrle 32|16 [PASSWORD]

vncdotool asks for 32 bpp with red-shift 0 (RGBX) unless told otherwise; 16 asks for
5-6-5 little-endian (its BGR16). Exit status 0 and the PNG on success."""
import sys

from vncdotool import api, client, rfb

host, port, out, enc, bpp = sys.argv[1:6]
password = sys.argv[6] if len(sys.argv) > 6 else None
encoding = {"raw": rfb.Encoding.RAW, "zrle": rfb.Encoding.ZRLE}[enc]


class Client(client.VNCDoToolClient):
    def setImageMode(self):
        if bpp == "16":
            self.setPixelFormat(client.BGR16)
            self._image_mode = client.PF2IM[client.BGR16]
        else:
            super().setImageMode()


Client.encoding = encoding


class Factory(client.VNCDoToolFactory):
    protocol = Client


try:
    c = api.connect(f"{host}::{port}", password=password, factory_class=Factory, timeout=60)
    c.captureScreen(out)
    c.disconnect()
finally:
    api.shutdown()
