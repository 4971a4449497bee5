// Pixel loops of the window: copying and scaling rectangles of an XRGB8888 picture into the
// window surface. They live in C so that a debug build of the Swift code still presents at
// full rate.
#include "csdl.h"

#include <stdlib.h>
#include <string.h>

void csdl_fill(void *dst, int dst_pitch, int x, int y, int w, int h, uint32_t color) {
    for (int row = y; row < y + h; row++) {
        uint32_t *p = (uint32_t *)((char *)dst + (size_t)row * dst_pitch) + x;
        for (int i = 0; i < w; i++) p[i] = color;
    }
}

// Source coordinate of surface pixel `d` (relative to the placement) in 16.16 fixed point,
// sampled at the pixel centre: (d + 0.5) * src / placed - 0.5.
static int64_t sample_fp(int d, int src, int placed) {
    return (((int64_t)(2 * d + 1) * src) << 16) / (2 * (int64_t)placed) - 32768;
}

static uint32_t lerp_pixel(uint32_t a, uint32_t b, uint32_t f) {  // f in 0...256
    uint32_t rb = ((a & 0xFF00FF) * (256 - f) + (b & 0xFF00FF) * f) >> 8;
    uint32_t g = ((a & 0x00FF00) * (256 - f) + (b & 0x00FF00) * f) >> 8;
    return (rb & 0xFF00FF) | (g & 0x00FF00);
}

void csdl_blit(const void *src, int src_pitch, int src_w, int src_h,
               void *dst, int dst_pitch,
               int px, int py, int pw, int ph,
               int cx, int cy, int cw, int ch, int smooth) {
    if (cw <= 0 || ch <= 0) return;
    const char *s = src;
    char *d = dst;
    if (pw == src_w && ph == src_h) {
        for (int y = cy; y < cy + ch; y++)
            memcpy(d + (size_t)y * dst_pitch + (size_t)cx * 4,
                   s + (size_t)(y - py) * src_pitch + (size_t)(cx - px) * 4, (size_t)cw * 4);
        return;
    }
    // Per column: the left source pixel and the weight of its right neighbour (0...256).
    int32_t *x0 = malloc(sizeof(int32_t) * 2 * (size_t)cw);
    if (!x0) return;
    int32_t *xf = x0 + cw;
    for (int i = 0; i < cw; i++) {
        int dx = cx + i - px;
        if (smooth) {
            int64_t u = sample_fp(dx, src_w, pw);
            if (u < 0) u = 0;
            x0[i] = (int32_t)(u >> 16);
            xf[i] = (int32_t)((u & 0xFFFF) >> 8);
            if (x0[i] >= src_w - 1) { x0[i] = src_w - 1; xf[i] = 0; }
        } else {
            x0[i] = (int32_t)(((int64_t)(2 * dx + 1) * src_w) / (2 * (int64_t)pw));
            xf[i] = 0;
        }
    }
    for (int y = cy; y < cy + ch; y++) {
        int dy = y - py;
        uint32_t *out = (uint32_t *)(d + (size_t)y * dst_pitch) + cx;
        if (smooth) {
            int64_t v = sample_fp(dy, src_h, ph);
            if (v < 0) v = 0;
            int y0 = (int)(v >> 16);
            uint32_t yf = (uint32_t)((v & 0xFFFF) >> 8);
            if (y0 >= src_h - 1) { y0 = src_h - 1; yf = 0; }
            const uint32_t *r0 = (const uint32_t *)(s + (size_t)y0 * src_pitch);
            const uint32_t *r1 = (const uint32_t *)(s + (size_t)(yf ? y0 + 1 : y0) * src_pitch);
            for (int i = 0; i < cw; i++) {
                int a = x0[i], b = xf[i] ? a + 1 : a;
                uint32_t top = lerp_pixel(r0[a], r0[b], (uint32_t)xf[i]);
                uint32_t bottom = lerp_pixel(r1[a], r1[b], (uint32_t)xf[i]);
                out[i] = lerp_pixel(top, bottom, yf);
            }
        } else {
            int sy = (int)(((int64_t)(2 * dy + 1) * src_h) / (2 * (int64_t)ph));
            const uint32_t *row = (const uint32_t *)(s + (size_t)sy * src_pitch);
            for (int i = 0; i < cw; i++) out[i] = row[x0[i]] & 0xFFFFFF;
        }
    }
    free(x0);
}
