/* A Ringside guest in C: a picture, a console line, one doorbell per frame.
 * Build: assets/guests/sdk/ringside-cc -o hello.elf assets/guests/sdk/examples/hello.c
 * Run:   ringside run --guest hello.elf --args "size=64"
 * Frame n: a blue-to-green gradient (pixel (x, y) = 0x0000FF + (x * 255 / w) << 8 with
 * red = y * 255 / h) and a white size x size square whose top-left corner is at
 * x = (8 * n) % (w - size), y = (h - size) / 2. */
#include <stdio.h>
#include <stdlib.h>
#include <ringside.h>

int main(void) {
    const char *arg = rs_arg("size");
    uint32_t size = arg ? (uint32_t)atoi(arg) : 64;
    uint32_t w = rs_width(), h = rs_height(), stride = rs_stride();
    if (size < 1 || size >= w || size >= h) size = 64 < w && 64 < h ? 64 : 1;
    uint32_t *fb = rs_framebuffer();
    uint32_t *square = malloc(size * sizeof *square); /* one row of the square */
    for (uint32_t i = 0; i < size; i++) square[i] = 0xFFFFFF;
    printf("hello: %ux%u, a %u px square, %s\n", w, h, size, "from C");
    for (uint32_t n = 1;; n++) {
        uint32_t sx = (8 * n) % (w - size), sy = (h - size) / 2;
        for (uint32_t y = 0; y < h; y++) {
            uint32_t *row = fb + (size_t)y * stride;
            for (uint32_t x = 0; x < w; x++) row[x] = (y * 255 / h) << 16 | (x * 255 / w) << 8 | 0xFF;
            if (y >= sy && y < sy + size) for (uint32_t x = 0; x < size; x++) row[sx + x] = square[x];
        }
        rs_frame_done();
    }
}
