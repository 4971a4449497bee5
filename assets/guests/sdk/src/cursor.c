/*
 * The cursor plane (ABI version 4; assets/guests/README.md, "The cursor plane"): the pointer as
 * a sprite the host draws over the framebuffer. Each change is published under the header's
 * sequence count (odd while writing, even after, with a release store). Call from one vCPU.
 */
#include <ringside.h>
#include "internal.h"

static volatile struct rs_cursor *plane(void) {
    if (rs_boot->version < 4 || rs_boot->cursor_gpa == 0 || rs_boot->cursor_gpa >= RS_IMAGE_BASE) return NULL;
    volatile struct rs_cursor *c = (volatile struct rs_cursor *)(uintptr_t)rs_boot->cursor_gpa;
    if (c->magic != RS_CURSOR_MAGIC || c->max_size < RS_CURSOR_MAX_SIZE || c->pixels_gpa == 0 || c->pixels_gpa >= RS_IMAGE_BASE) return NULL;
    return c;
}

int rs_cursor_available(void) { return plane() != NULL; }

static uint32_t begin(volatile struct rs_cursor *c) {
    uint32_t s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) | 1u;
    __atomic_store_n(&c->seq, s, __ATOMIC_RELEASE);
    return s;
}

static void end(volatile struct rs_cursor *c, uint32_t s) { __atomic_store_n(&c->seq, s + 1u, __ATOMIC_RELEASE); }

int rs_cursor_set_shape(const uint32_t *argb, uint32_t width, uint32_t height, uint32_t hot_x, uint32_t hot_y) {
    volatile struct rs_cursor *c = plane();
    if (!c || width < 1 || height < 1 || width > RS_CURSOR_MAX_SIZE || height > RS_CURSOR_MAX_SIZE || hot_x >= width || hot_y >= height) return -1;
    volatile uint32_t *px = (volatile uint32_t *)(uintptr_t)c->pixels_gpa;
    uint32_t s = begin(c);
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) px[y * RS_CURSOR_MAX_SIZE + x] = argb[y * width + x];
    c->width = width;
    c->height = height;
    c->hot_x = hot_x;
    c->hot_y = hot_y;
    c->shape_serial = c->shape_serial + 1u;
    end(c, s);
    return 0;
}

int rs_cursor_move(int32_t x, int32_t y, int visible) {
    volatile struct rs_cursor *c = plane();
    if (!c) return -1;
    uint32_t s = begin(c);
    c->x = x;
    c->y = y;
    c->flags = visible ? RS_CURSOR_VISIBLE : 0u;
    end(c, s);
    return 0;
}
