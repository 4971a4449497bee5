/*
 * The per-pixel work of the benchmark's VNC client (Sources/PeerBench/RFBBenchClient.swift),
 * in C so a debug build's client keeps up with the servers it measures: zlib streams, ZRLE
 * tiles, Tight's basic compression (copy, palette, gradient) and a 64-bit hash of a
 * framebuffer's pixels. The client's framebuffer holds 0x00RRGGBB words (the pixel format it
 * asks for: 32 bpp, depth 24, little-endian, red at bit 16), `stride` pixels per row.
 * Written from RFC 6143 and the Tight spec. No C type leaks into Swift's public API.
 */
#ifndef CPEERBENCH_H
#define CPEERBENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct cpb_inflater cpb_inflater;
cpb_inflater *cpb_inflater_new(void);
void cpb_inflater_free(cpb_inflater *i);
/* Starts the stream over (Tight's reset bits). */
void cpb_inflater_reset(cpb_inflater *i);
/* Inflates all of `in` (one chunk of a stream that lasts the connection) into `out`; the
 * bytes written, or -1 on a zlib error or when `out` is too small. */
long cpb_inflate(cpb_inflater *i, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

/* Decodes a ZRLE rectangle's zlib data (`z`, after the 4-byte length) into the framebuffer
 * at (x, y, w, h). 0, or -1 when the data is bad. */
int cpb_zrle(cpb_inflater *stream, const uint8_t *z, size_t z_len, uint32_t *fb, int stride,
             int x, int y, int w, int h);

/* Tight basic compression, after the control byte and the optional filter: `data` holds the
 * (inflated, or short and raw) pixel data. filter 0 = copy (TPIXELs, 3 bytes R G B),
 * 1 = palette (`palette` of `colors` 0x00RRGGBB; 1 bit per pixel rows padded to a byte for
 * 2 colors, else 1 byte per pixel), 2 = gradient (TPIXELs predicted from left, up and
 * up-left). 0, or -1 when `data` is too short. */
int cpb_tight_basic(int filter, const uint8_t *data, size_t len, const uint32_t *palette, int colors,
                    uint32_t *fb, int stride, int x, int y, int w, int h);

/* Fills (x, y, w, h) with `pixel`. */
void cpb_fill(uint32_t *fb, int stride, int x, int y, int w, int h, uint32_t pixel);

/* Copies w x h RGB bytes (a decoded JPEG) into the framebuffer. */
void cpb_put_rgb(const uint8_t *rgb, uint32_t *fb, int stride, int x, int y, int w, int h);

/* A 64-bit hash of w x h pixels, rows `stride` pixels apart, bits 24..31 ignored: the same
 * picture hashes the same from guest memory and from a client's framebuffer. */
uint64_t cpb_hash(const uint32_t *pixels, int stride, int w, int h);

#endif
