/*
 * DG_DrawFrame: DOOM's 320x200 XRGB8888 picture (DG_ScreenBuffer) into the framebuffer, scaled
 * to the current mode and centred (an integer scale when 320x200 fits, nearest-neighbour
 * shrinking when it does not; black borders), then one doorbell.
 *
 * blit=diff (default) writes, for each of DOOM's rows, only the span between the first and
 * the last pixel that changed since the frame before, so the framebuffer pages a frame dirties
 * are the ones DOOM really changed (the 3D view, not the status bar); blit=full writes every
 * pixel. A new mode, or the first frame, redraws everything.
 *
 * A doorbell presents a picture. DOOM redraws its screen every pass of its loop, also when no
 * tic has run since (it returns from waiting for time "to update the screen"): a picture equal
 * to the one presented last is not written and rings nothing, and the next wait rings instead
 * (doom_main.c's sleep_ms). So each doorbell either shows a new picture or lets time pass,
 * never both, and at 60 Hz pacing DOOM presents its 35 pictures a second instead of every
 * second one.
 */
#include <stdio.h>
#include <string.h>
#include <ringside.h>
#include "doom_platform.h"
#include "doomgeneric.h"
#include "doomstat.h"

static uint32_t previous[DOOM_WIDTH * DOOM_HEIGHT]; /* the picture last written */
static uint32_t drawn_width, drawn_height, drawn_pitch; /* 0: nothing drawn yet */
static uint32_t origin_x, origin_y, scaled_width, scaled_height;
static uint32_t column_start[DOOM_WIDTH + 1]; /* source column x fills [column_start[x], column_start[x + 1]) */
static uint32_t row_start[DOOM_HEIGHT + 1];
static uint32_t pending_width, pending_height;

void doom_request_mode(uint32_t width, uint32_t height) {
    pending_width = width;
    pending_height = height;
}

static void lay_out(uint32_t width, uint32_t height) {
    uint32_t scale = width / DOOM_WIDTH < height / DOOM_HEIGHT ? width / DOOM_WIDTH : height / DOOM_HEIGHT;
    if (scale >= 1) {
        scaled_width = DOOM_WIDTH * scale;
        scaled_height = DOOM_HEIGHT * scale;
    } else if ((uint64_t)width * DOOM_HEIGHT <= (uint64_t)height * DOOM_WIDTH) {
        scaled_width = width;
        scaled_height = width * DOOM_HEIGHT / DOOM_WIDTH;
    } else {
        scaled_height = height;
        scaled_width = height * DOOM_WIDTH / DOOM_HEIGHT;
    }
    origin_x = (width - scaled_width) / 2;
    origin_y = (height - scaled_height) / 2;
    for (uint32_t x = 0; x <= DOOM_WIDTH; x++) column_start[x] = x * scaled_width / DOOM_WIDTH;
    for (uint32_t y = 0; y <= DOOM_HEIGHT; y++) row_start[y] = y * scaled_height / DOOM_HEIGHT;
}

static void fill_rows(uint32_t *fb, uint32_t stride, uint32_t y0, uint32_t y1, uint32_t x0, uint32_t x1) {
    for (uint32_t y = y0; y < y1; y++) memset(fb + (size_t)y * stride + x0, 0, (size_t)(x1 - x0) * 4);
}

/* The black borders around the picture (a new mode: the framebuffer is not cleared). */
static void clear_borders(uint32_t *fb, uint32_t stride, uint32_t width, uint32_t height) {
    fill_rows(fb, stride, 0, origin_y, 0, width);
    fill_rows(fb, stride, origin_y + scaled_height, height, 0, width);
    fill_rows(fb, stride, origin_y, origin_y + scaled_height, 0, origin_x);
    fill_rows(fb, stride, origin_y, origin_y + scaled_height, origin_x + scaled_width, width);
}

/* Source row y, columns [x0, x1), into every framebuffer row it covers. */
static void draw_span(uint32_t *fb, uint32_t stride, const uint32_t *src, uint32_t y, uint32_t x0, uint32_t x1) {
    if (row_start[y] == row_start[y + 1]) return; /* shrunk away */
    uint32_t *first = fb + (size_t)(origin_y + row_start[y]) * stride + origin_x;
    for (uint32_t x = x0; x < x1; x++) {
        uint32_t c = src[y * DOOM_WIDTH + x] & 0xFFFFFF;
        for (uint32_t dx = column_start[x]; dx < column_start[x + 1]; dx++) first[dx] = c;
    }
    uint32_t from = column_start[x0], bytes = (column_start[x1] - from) * 4;
    for (uint32_t dy = row_start[y] + 1; dy < row_start[y + 1]; dy++) {
        memcpy(fb + (size_t)(origin_y + dy) * stride + origin_x + from, first + from, bytes);
    }
}

/* Whether DOOM's picture differs from the one last written. */
static int picture_changed(const uint32_t *src) {
    const uint64_t *a = (const uint64_t *)src, *b = (const uint64_t *)previous;
    for (size_t i = 0; i < DOOM_WIDTH * DOOM_HEIGHT / 2; i++) if (a[i] != b[i]) return 1;
    return 0;
}

/* Writes the rows that changed (all of them when `everything`); returns how many there were. */
static uint32_t blit(const uint32_t *src, int everything) {
    const volatile struct rs_boot_info *boot = rs_boot_info();
    uint32_t *fb = rs_framebuffer(), stride = boot->pitch / 4, changed = 0;
    for (uint32_t y = 0; y < DOOM_HEIGHT; y++) {
        const uint32_t *now = src + y * DOOM_WIDTH, *was = previous + y * DOOM_WIDTH;
        uint32_t x0 = 0, x1 = DOOM_WIDTH;
        if (!everything) {
            while (x0 < DOOM_WIDTH && now[x0] == was[x0]) x0++;
            if (x0 == DOOM_WIDTH) continue;
            while (now[x1 - 1] == was[x1 - 1]) x1--;
        }
        draw_span(fb, stride, src, y, x0, x1);
        memcpy(previous + y * DOOM_WIDTH + x0, now + x0, (x1 - x0) * 4);
        changed++;
    }
    return changed;
}

/* --- the stats line (stats=S) --------------------------------------------------------------- */

static uint32_t pictures, waits;
static struct { int tic; uint32_t pictures, waits; uint64_t ns; } mark;

static void report(void) {
    int every = (int)doom_options.stats * DOOM_TICRATE;
    if (!every || gametic - mark.tic < every) return;
    uint64_t ns = rs_uptime_ns();
    double seconds = (double)(ns - mark.ns) / 1e9;
    if (seconds <= 0) seconds = 1e-9;
    printf("doom: tic %d, frame %u, %.2f s: %.2f tics/s, %.2f pictures/s, %.2f waits/s\n", gametic, rs_frames(),
           (double)ns / 1e9, (gametic - mark.tic) / seconds, (pictures - mark.pictures) / seconds, (waits - mark.waits) / seconds);
    mark.tic = gametic;
    mark.pictures = pictures;
    mark.waits = waits;
    mark.ns = ns;
}

/* where=N: the player's place every N tics of a level, for tests and for the curious. */
static int where_tic = -1;

static void where(void) {
    if (!doom_options.where || gamestate != GS_LEVEL || gametic == where_tic || gametic % (int)doom_options.where) return;
    const mobj_t *mo = players[consoleplayer].mo;
    if (!mo) return;
    where_tic = gametic;
    printf("doom: tic %d, frame %u: x %d y %d angle %u\n", gametic, rs_frames() + 1, mo->x >> FRACBITS, mo->y >> FRACBITS,
           (unsigned)(((uint64_t)mo->angle * 360) >> 32));
}

void doom_wait(void) {
    where();
    rs_frame_done();
    waits++;
    report();
}

void doom_draw_frame(void) {
    if (pending_width) {
        rs_set_mode(pending_width, pending_height); /* a refused mode keeps the old one (the VMM says why) */
        pending_width = pending_height = 0;
    }
    const volatile struct rs_boot_info *boot = rs_boot_info();
    uint32_t width = boot->width, height = boot->height, pitch = boot->pitch;
    int everything = 0;
    if (width != drawn_width || height != drawn_height || pitch != drawn_pitch) {
        lay_out(width, height);
        clear_borders(rs_framebuffer(), pitch / 4, width, height);
        drawn_width = width;
        drawn_height = height;
        drawn_pitch = pitch;
        everything = 1;
    } else if (!picture_changed(DG_ScreenBuffer)) {
        return; /* nothing new to present */
    }
    blit(DG_ScreenBuffer, everything || doom_options.blit_full);
    where();
    rs_frame_done();
    pictures++;
    report();
}
