#include "cpeerbench.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct cpb_inflater { z_stream z; };

cpb_inflater *cpb_inflater_new(void) {
    cpb_inflater *i = calloc(1, sizeof *i);
    if (!i) return NULL;
    if (inflateInit(&i->z) != Z_OK) { free(i); return NULL; }
    return i;
}

void cpb_inflater_free(cpb_inflater *i) {
    if (!i) return;
    inflateEnd(&i->z);
    free(i);
}

void cpb_inflater_reset(cpb_inflater *i) { inflateReset(&i->z); }

long cpb_inflate(cpb_inflater *i, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
    i->z.next_in = (Bytef *)in;
    i->z.avail_in = (uInt)in_len;
    i->z.next_out = out;
    i->z.avail_out = (uInt)out_cap;
    while (i->z.avail_in > 0) {
        int r = inflate(&i->z, Z_SYNC_FLUSH);
        if (r == Z_STREAM_END) break;
        if (r != Z_OK) return -1;
        if (i->z.avail_out == 0 && i->z.avail_in > 0) return -1;
    }
    return (long)(out_cap - i->z.avail_out);
}

void cpb_fill(uint32_t *fb, int stride, int x, int y, int w, int h, uint32_t pixel) {
    for (int r = 0; r < h; r++) {
        uint32_t *p = fb + (size_t)(y + r) * stride + x;
        for (int c = 0; c < w; c++) p[c] = pixel;
    }
}

void cpb_put_rgb(const uint8_t *rgb, uint32_t *fb, int stride, int x, int y, int w, int h) {
    for (int r = 0; r < h; r++) {
        uint32_t *p = fb + (size_t)(y + r) * stride + x;
        for (int c = 0; c < w; c++, rgb += 3) p[c] = (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
    }
}

/* ZRLE's CPIXEL for this format: the pixel's 3 low bytes, little-endian (B, G, R). */
static inline uint32_t cpixel(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16; }

int cpb_zrle(cpb_inflater *stream, const uint8_t *z, size_t z_len, uint32_t *fb, int stride, int x, int y, int w, int h) {
    size_t cap = (size_t)w * h * 4 + ((size_t)(w + 63) / 64) * ((h + 63) / 64) * (1 + 128 * 3) + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) return -1;
    long n = cpb_inflate(stream, z, z_len, buf, cap);
    int ok = n >= 0;
    const uint8_t *p = buf, *end = buf + (n > 0 ? n : 0);
#define NEED(k) do { if ((size_t)(end - p) < (size_t)(k)) { ok = 0; goto done; } } while (0)
    for (int ty = 0; ok && ty < h; ty += 64) {
        for (int tx = 0; tx < w; tx += 64) {
            int tw = w - tx < 64 ? w - tx : 64, th = h - ty < 64 ? h - ty : 64;
            uint32_t *tile = fb + (size_t)(y + ty) * stride + x + tx;
            NEED(1);
            int sub = *p++;
            uint32_t palette[128];
            if (sub == 0) {
                NEED((size_t)tw * th * 3);
                for (int r = 0; r < th; r++)
                    for (int c = 0; c < tw; c++, p += 3) tile[(size_t)r * stride + c] = cpixel(p);
            } else if (sub == 1) {
                NEED(3);
                cpb_fill(tile, stride, 0, 0, tw, th, cpixel(p));
                p += 3;
            } else if (sub <= 16) {
                NEED((size_t)sub * 3);
                for (int i = 0; i < sub; i++, p += 3) palette[i] = cpixel(p);
                int bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
                size_t row_bytes = ((size_t)tw * bits + 7) / 8;
                NEED(row_bytes * th);
                for (int r = 0; r < th; r++, p += row_bytes) {
                    for (int c = 0; c < tw; c++) {
                        int bit = c * bits;
                        int index = (p[bit / 8] >> (8 - bits - bit % 8)) & ((1 << bits) - 1);
                        tile[(size_t)r * stride + c] = palette[index < sub ? index : 0];
                    }
                }
            } else if (sub == 128 || sub >= 130) {
                int colors = sub == 128 ? 0 : sub - 128;
                NEED((size_t)colors * 3);
                for (int i = 0; i < colors; i++, p += 3) palette[i] = cpixel(p);
                int i = 0, total = tw * th;
                while (i < total) {
                    uint32_t pixel;
                    size_t run = 1;
                    if (colors == 0) {
                        NEED(3);
                        pixel = cpixel(p);
                        p += 3;
                        do { NEED(1); run += *p; } while (*p++ == 255);
                    } else {
                        NEED(1);
                        int index = *p & 127;
                        int is_run = *p++ & 128;
                        pixel = palette[index < colors ? index : 0];
                        if (is_run) do { NEED(1); run += *p; } while (*p++ == 255);
                    }
                    if (run > (size_t)(total - i)) { ok = 0; goto done; }
                    for (size_t k = 0; k < run; k++, i++) tile[(size_t)(i / tw) * stride + i % tw] = pixel;
                }
            } else {
                ok = 0;
                goto done;
            }
        }
    }
#undef NEED
done:
    free(buf);
    return ok ? 0 : -1;
}

int cpb_tight_basic(int filter, const uint8_t *data, size_t len, const uint32_t *palette, int colors,
                    uint32_t *fb, int stride, int x, int y, int w, int h) {
    if (filter == 1) {
        if (colors <= 2) {
            size_t row_bytes = ((size_t)w + 7) / 8;
            if (len < row_bytes * h) return -1;
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                    fb[(size_t)(y + r) * stride + x + c] = palette[(data[r * row_bytes + c / 8] >> (7 - c % 8)) & 1];
        } else {
            if (len < (size_t)w * h) return -1;
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++) {
                    int index = data[(size_t)r * w + c];
                    fb[(size_t)(y + r) * stride + x + c] = palette[index < colors ? index : 0];
                }
        }
        return 0;
    }
    if (len < (size_t)w * h * 3) return -1;
    if (filter == 0) {
        cpb_put_rgb(data, fb, stride, x, y, w, h);
        return 0;
    }
    if (filter != 2) return -1;
    /* Gradient: each component is predicted as left + up - upleft, clamped to 0...255. */
    uint8_t *prev = calloc((size_t)w * 3, 1), *cur = malloc((size_t)w * 3);
    if (!prev || !cur) { free(prev); free(cur); return -1; }
    for (int r = 0; r < h; r++) {
        for (int c = 0; c < w; c++) {
            for (int k = 0; k < 3; k++) {
                int left = c > 0 ? cur[(c - 1) * 3 + k] : 0, up = prev[c * 3 + k], upleft = c > 0 ? prev[(c - 1) * 3 + k] : 0;
                int predicted = left + up - upleft;
                predicted = predicted < 0 ? 0 : predicted > 255 ? 255 : predicted;
                cur[c * 3 + k] = (uint8_t)(data[((size_t)r * w + c) * 3 + k] + predicted);
            }
        }
        cpb_put_rgb(cur, fb, stride, x, y + r, w, 1);
        uint8_t *t = prev; prev = cur; cur = t;
    }
    free(prev);
    free(cur);
    return 0;
}

uint64_t cpb_hash(const uint32_t *pixels, int stride, int w, int h) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (int r = 0; r < h; r++) {
        const uint32_t *p = pixels + (size_t)r * stride;
        for (int c = 0; c < w; c++) {
            hash ^= p[c] & 0x00FFFFFFu;
            hash *= 0x100000001b3ULL;
        }
        hash ^= hash >> 29;
    }
    return hash;
}
