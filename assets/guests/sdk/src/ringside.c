/* The Ringside calls of <ringside.h>: console, exit, doorbell, counters, DISPI, arguments. */
#include <string.h>
#include <stdlib.h>
#include "internal.h"

void rs_console_write(const char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) rs_outb(RS_PORT_CONSOLE, (uint8_t)bytes[i]);
}

__attribute__((noreturn)) void rs_exit(int status) {
    rs_outl(RS_PORT_EXIT, (uint32_t)status);
    for (;;) __asm__ volatile("ud2"); /* the VMM did not stop us: fault rather than run on */
}

static uint32_t frames_done;

uint32_t rs_frame_done(void) {
    /* Stores to the framebuffer must be done before the VMM looks at it. */
    __asm__ volatile("" ::: "memory");
    rs_outl(RS_PORT_DOORBELL, ++frames_done);
    return frames_done;
}

uint32_t rs_frames(void) { return frames_done; }

static const volatile struct rs_counters *counters(void) {
    return (const volatile struct rs_counters *)(uintptr_t)rs_boot->counters_gpa;
}

uint64_t rs_uptime_ns(void) { return counters()->uptime_ns; }
uint64_t rs_pacing_tick(void) { return counters()->tick; }

/* DISPI: index at 0x1CE, value at 0x1CF (Linux's bochs_hw_setmode order). */
static void dispi_write(uint16_t index, uint16_t value) {
    rs_outw(RS_PORT_DISPI_INDEX, index);
    rs_outw(RS_PORT_DISPI_DATA, value);
}

static uint16_t dispi_read(uint16_t index) {
    rs_outw(RS_PORT_DISPI_INDEX, index);
    return rs_inw(RS_PORT_DISPI_DATA);
}

int rs_set_mode(uint32_t width, uint32_t height) {
    if (width > 0xFFFF || height > 0xFFFF) return -1;
    dispi_write(RS_DISPI_INDEX_ENABLE, RS_DISPI_DISABLED);
    dispi_write(RS_DISPI_INDEX_BPP, 32);
    dispi_write(RS_DISPI_INDEX_XRES, (uint16_t)width);
    dispi_write(RS_DISPI_INDEX_YRES, (uint16_t)height);
    dispi_write(RS_DISPI_INDEX_VIRT_WIDTH, (uint16_t)width);
    dispi_write(RS_DISPI_INDEX_ENABLE, RS_DISPI_ENABLED | RS_DISPI_LFB_ENABLED);
    const volatile struct rs_boot_info *b = rs_boot;
    return b->width == width && b->height == height ? 0 : -1;
}

void rs_max_mode(uint32_t *width, uint32_t *height) {
    uint16_t enable = dispi_read(RS_DISPI_INDEX_ENABLE);
    dispi_write(RS_DISPI_INDEX_ENABLE, enable | RS_DISPI_GETCAPS);
    uint32_t w = dispi_read(RS_DISPI_INDEX_XRES), h = dispi_read(RS_DISPI_INDEX_YRES);
    dispi_write(RS_DISPI_INDEX_ENABLE, enable);
    if (width) *width = w;
    if (height) *height = h;
}

const char *rs_arg(const char *key) {
    size_t klen = strlen(key);
    const char *p = rs_arguments();
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        const char *word = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') p++;
        if ((size_t)(p - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
            return strndup(word + klen + 1, (size_t)(p - word) - klen - 1);
        }
    }
    return NULL;
}
