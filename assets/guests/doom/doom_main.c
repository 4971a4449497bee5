/*
 * DOOM as a Ringside guest: the arguments, the clock and the start of doomgeneric's engine.
 * `ringside run --guest doom` passes the WAD as a boot module; see docs/doom.md.
 *
 * Arguments (--args): key=value words for this layer, then from the first word starting with
 * '-' DOOM's own command line (e.g. "clock=frames -warp 1 1 -skill 3"):
 *   clock=host|frames  host (default): game time is the host's (the counters page), so the
 *                      game runs at 35 tics/s whatever the frame rate. frames: game time
 *                      advances exactly one tic (1000/35 ms) per doorbell, so frame N is the
 *                      same picture in every run (the attract-mode demo is reproducible).
 *   wad=NAME           the boot module holding the IWAD (default freedoom1.wad, else the
 *                      first module whose name ends in .wad)
 *   blit=diff|full     diff (default): write only the spans of each row that changed since
 *                      the last frame; full: write every pixel every frame
 *   follow=1|0         answer the window's display-size events by setting that mode (default 1)
 *   stats=S            every S s of game time print the rate of tics, pictures (doorbells that
 *                      present a new picture) and waits (doorbells that only let time pass)
 *   where=N            every N tics of a level print the player's position (map units) and
 *                      angle (degrees, 0 = east, counter-clockwise), with the frame it is in
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ringside.h>
#include "doom_platform.h"
#include "doomgeneric.h"

const char rs_program_name[] = "doom";

struct doom_options doom_options = {0, 0, 1, 0, 0};

#define MAX_DOOM_ARGS 60

static int parse_flag(const char *value, int *out) {
    if (!strcmp(value, "1") || !strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true")) { *out = 1; return 1; }
    if (!strcmp(value, "0") || !strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false")) { *out = 0; return 1; }
    return 0;
}

/* One key=value word; 0 if the key is unknown, -1 if its value is bad. */
static int parse_option(const char *word, const char **wad) {
    const char *eq = strchr(word, '=');
    if (!eq) return 0;
    const char *value = eq + 1;
    size_t klen = (size_t)(eq - word);
    if (klen == 5 && !strncmp(word, "clock", 5)) {
        if (!strcmp(value, "frames")) doom_options.clock_frames = 1;
        else if (!strcmp(value, "host")) doom_options.clock_frames = 0;
        else return -1;
    } else if (klen == 4 && !strncmp(word, "blit", 4)) {
        if (!strcmp(value, "full")) doom_options.blit_full = 1;
        else if (!strcmp(value, "diff")) doom_options.blit_full = 0;
        else return -1;
    } else if (klen == 6 && !strncmp(word, "follow", 6)) {
        if (!parse_flag(value, &doom_options.follow)) return -1;
    } else if (klen == 5 && !strncmp(word, "stats", 5)) {
        char *end;
        unsigned long s = strtoul(value, &end, 10);
        if (*end || end == value || s > 3600) return -1;
        doom_options.stats = (uint32_t)s;
    } else if (klen == 5 && !strncmp(word, "where", 5)) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);
        if (*end || end == value || n > 1000000) return -1;
        doom_options.where = (uint32_t)n;
    } else if (klen == 3 && !strncmp(word, "wad", 3)) {
        if (!*value) return -1;
        *wad = value;
    } else {
        return 0;
    }
    return 1;
}

static const struct rs_module *find_wad(const char *name) {
    const struct rs_module *m = rs_module_find(name);
    for (uint32_t i = 0; !m && i < rs_module_count(); i++) {
        const struct rs_module *c = rs_module_at(i);
        size_t n = strnlen(c->name, RS_MODULE_NAME_BYTES);
        if (n > 4 && !strcasecmp(c->name + n - 4, ".wad")) m = c;
    }
    return m;
}

/*
 * Game time in ms: the host's (as of the last doorbell), or with clock=frames one tic per
 * doorbell: 1 + ceil(F * 1000 / 35) after F doorbells. The engine takes its first reading
 * (before any doorbell: 1) as its zero and counts tics as (ms - zero) * 35 / 1000, which is then
 * exactly F. (Without the 1, its zero would be a later, rounded reading and some frames would
 * see no new tic and the next two.)
 */
static uint32_t get_ticks_ms(void) {
    if (doom_options.clock_frames) return 1 + (uint32_t)(((uint64_t)rs_frames() * 1000 + DOOM_TICRATE - 1) / DOOM_TICRATE);
    return (uint32_t)(rs_uptime_ns() / 1000000);
}

/* The engine waits for time to pass: time passes at doorbells (the VMM holds the vCPU until its
 * next pacing tick; with clock=frames each is a tic), so waiting is ringing one with the picture
 * unchanged. */
static void sleep_ms(uint32_t ms) {
    (void)ms;
    doom_wait();
}

static void set_title(const char *title) {
    static int shown;
    if (!shown++) printf("doom: %s\n", title);
}

int main(int argc, char **argv) {
    const char *wad_name = "freedoom1.wad";
    static char *doom_argv[MAX_DOOM_ARGS + 8];
    int doom_argc = 0, i = 1;
    for (; i < argc && argv[i][0] != '-'; i++) {
        int r = parse_option(argv[i], &wad_name);
        if (r == 0) printf("doom: warning: unknown argument '%s' (ignored)\n", argv[i]);
        if (r < 0) printf("doom: warning: bad value in '%s' (ignored)\n", argv[i]);
    }
    const struct rs_module *wad = find_wad(wad_name);
    if (!wad) {
        printf("doom: no WAD among the %u boot modules: run it as `ringside run --guest doom` or add --module PATH/freedoom1.wad "
               "(bash assets/guests/doom/fetch-and-build.sh fetches one)\n", rs_module_count());
        return 1;
    }
    doom_argv[doom_argc++] = "doom";
    doom_argv[doom_argc++] = "-iwad";
    doom_argv[doom_argc++] = (char *)wad->name;
    for (; i < argc && doom_argc < MAX_DOOM_ARGS; i++) doom_argv[doom_argc++] = argv[i];
    doom_argv[doom_argc] = NULL;
    printf("doom: %ux%u, clock=%s, blit=%s, wad %s (%llu bytes at 0x%llx)\n", rs_width(), rs_height(),
           doom_options.clock_frames ? "frames" : "host", doom_options.blit_full ? "full" : "diff",
           wad->name, (unsigned long long)wad->size, (unsigned long long)wad->gpa);
    if (doom_options.follow) rs_input_set_flags(RS_GUEST_FOLLOWS_DISPLAY_SIZE);
    dg_Create(DOOM_WIDTH, DOOM_HEIGHT, doom_draw_frame, sleep_ms, get_ticks_ms, doom_get_key, set_title);
    return dg_main(doom_argc, doom_argv);
}

/* DOOM's config and savegame directory cannot be made: files are read-only boot modules. */
int mkdir(const char *path, unsigned mode) {
    (void)path; (void)mode;
    return -1;
}
