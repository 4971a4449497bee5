/* The Ringside platform layer of DOOM (doomgeneric, fetched and built outside the repository by
 * fetch-and-build.sh): shared by doom_main.c, doom_video.c and doom_keys.c. */
#ifndef DOOM_PLATFORM_H
#define DOOM_PLATFORM_H

#include <stdint.h>

/* doomgeneric renders 320x200 (DOOM's own resolution) into DG_ScreenBuffer, XRGB8888. */
#define DOOM_WIDTH  320
#define DOOM_HEIGHT 200

/* Game time per frame with clock=frames: one tic, 1000/35 ms. */
#define DOOM_TICRATE 35

struct doom_options {
    int clock_frames;   /* clock=frames: every doorbell is one tic of game time */
    int blit_full;      /* blit=full: write every pixel every frame (default: only changed spans) */
    int follow;         /* follow=1: answer the window's display-size events with that mode */
    uint32_t stats;     /* stats=S: a rate line every S seconds of game time (0: never) */
    uint32_t where;     /* where=N: the player's position and angle every N tics of a level (0: never) */
};

extern struct doom_options doom_options;

/* doom_video.c */
void doom_draw_frame(void);
void doom_request_mode(uint32_t width, uint32_t height);
/* Rings the doorbell to let time pass (the engine waits); counted for the stats line. */
void doom_wait(void);

/* doom_keys.c */
int doom_get_key(int *pressed, unsigned char *key);

#endif
