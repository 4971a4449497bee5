// SDL2 shim for Ringside's desktop window: a few fixed-arity calls over SDL's video
// subsystem, so that no SDL type, macro or event union reaches Swift, plus the pixel loops
// (rectangle copy and scaling into the window surface), which C keeps fast enough even in
// unoptimised debug builds. The window presents through SDL's native window surface (on X11: an MIT-SHM
// XImage and XShmPutImage of only the updated rectangles), not through an SDL renderer.
#ifndef CSDL_H
#define CSDL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csdl_window csdl_window;

// Present paths for window surfaces. SDL decides once per video subsystem start, so the
// path is chosen by csdl_video_init.
#define CSDL_PRESENT_NATIVE 0       // SDL_HINT_FRAMEBUFFER_ACCELERATION=0: the driver's own
                                    // framebuffer (X11: XShmPutImage of each rectangle).
#define CSDL_PRESENT_ACCELERATED 1  // SDL's default on X11: the surface is a streaming texture
                                    // of an SDL renderer (opengl on llvmpipe under Xvfb).

// Starts SDL's video subsystem with window surfaces presented by `present_path`. Sets
// SDL_HINT_NO_SIGNAL_HANDLERS first, so SIGINT and SIGTERM stay with the host program.
// Without SDL_VIDEODRIVER or WAYLAND_DISPLAY only X11 is tried, and SDL's invisible
// fallbacks ("offscreen", "dummy") count as failure unless SDL_VIDEODRIVER asks for them.
// Returns 0, or -1 with the reason in `err` (e.g. no X server at DISPLAY; always
// NUL-terminated when errlen > 0).
int csdl_video_init(int present_path, char *err, size_t errlen);
// Stops the video subsystem (after every window is destroyed).
void csdl_video_quit(void);
// The video driver in use ("x11", "wayland", ...), or "" before csdl_video_init.
const char *csdl_video_driver(void);

// Opens a shown, resizable window of `width` x `height` pixels, centred on the first
// display. NULL with the reason in `err`.
csdl_window *csdl_window_open(const char *title, int width, int height, char *err, size_t errlen);
void csdl_window_close(csdl_window *w);
void csdl_window_set_title(csdl_window *w, const char *title);
// The guest's cursor as the host's: `argb` holds width x height 0xAARRGGBB pixels (straight
// alpha); 0, or -1 if SDL refused it. Shown or hidden; back to the system's arrow.
int csdl_set_color_cursor(const uint32_t *argb, int width, int height, int hot_x, int hot_y);
void csdl_show_cursor(int shown);
void csdl_default_cursor(void);
// Toggles SDL_WINDOW_FULLSCREEN_DESKTOP; returns whether the window is now full screen, or
// -1 on failure.
int csdl_window_toggle_fullscreen(csdl_window *w);
// Asks for a client area of `width` x `height`, centred on the display (a
// CSDL_EVENT_RESIZED follows).
void csdl_window_set_size(csdl_window *w, int width, int height);
// Window position on the screen (top-left of the client area).
void csdl_window_position(csdl_window *w, int *x, int *y);
// Size of the usable area of the first display (without panels; 0 when unknown).
void csdl_usable_size(int *width, int *height);

// The window surface: XRGB8888 pixels (little-endian 0x00RRGGBB), rows `pitch` bytes apart.
// Valid until the window is resized or closed. Returns 0, or -1 with the reason in `err`
// (including a surface that is not 32-bit XRGB: other formats are not supported).
typedef struct {
    void *pixels;
    int32_t width, height, pitch;
} csdl_surface;
int csdl_window_surface(csdl_window *w, csdl_surface *out, char *err, size_t errlen);
// Pushes `count` rectangles (x, y, width, height quadruples, surface pixels) of the surface
// to the screen. Returns 0, or -1 with the reason in `err`.
int csdl_window_update_rects(csdl_window *w, const int32_t *rects, int count, char *err, size_t errlen);

// Events, reduced to what the window needs.
enum {
    CSDL_EVENT_NONE = 0,
    CSDL_EVENT_QUIT = 1,       // the window was closed (or SDL_QUIT)
    CSDL_EVENT_KEY = 2,        // a key went down or up (`down`), or auto-repeats while held (`autorepeat` 1,
                               // `down` 1): `key` is one of CSDL_KEY_*, `evdev` its Linux key code
                               // (0: no code), `ctrl_alt` 1 when Ctrl and Alt were both held
    CSDL_EVENT_RESIZED = 3,    // the client area changed size to `width` x `height`
    CSDL_EVENT_EXPOSED = 4,    // part of the window must be repainted
    CSDL_EVENT_MOTION = 5,     // the pointer moved to (`x`, `y`), window pixels
    CSDL_EVENT_BUTTON = 6,     // `button` (CSDL_BUTTON_*) went down or up (`down`) at (`x`, `y`)
    CSDL_EVENT_WHEEL = 7,      // wheel clicks: `y` > 0 away from the user, `x` > 0 right
    CSDL_EVENT_FOCUS_LOST = 8, // keys and buttons held now will not report going up
};
enum {
    CSDL_KEY_OTHER = 0,
    CSDL_KEY_ESCAPE, CSDL_KEY_Q, CSDL_KEY_F, CSDL_KEY_F11, CSDL_KEY_S, CSDL_KEY_F12, CSDL_KEY_D, CSDL_KEY_M,
};
enum { CSDL_BUTTON_LEFT = 1, CSDL_BUTTON_MIDDLE = 2, CSDL_BUTTON_RIGHT = 3 };
typedef struct {
    int32_t kind;
    int32_t key;
    int32_t width, height;
    int32_t evdev, down, ctrl_alt;
    int32_t button, x, y;
    int32_t autorepeat;
} csdl_event;
// Waits up to `timeout_ms` (0: just polls) for one event; returns 1 and fills `out`, or 0.
int csdl_wait_event(csdl_event *out, int timeout_ms);

// The Linux evdev key code (linux/input-event-codes.h) of the key at SDL scancode
// `scancode`, or 0 when it has none here.
uint16_t csdl_evdev_code(int scancode);
// SDL's scancode for a key name such as "A" or "Left Shift" (SDL_GetScancodeFromName), 0 if unknown.
int csdl_scancode_from_name(const char *name);

// Copies the `cw` x `ch` rectangle at (`cx`, `cy`) of the window surface from `src`, a
// `src_w` x `src_h` XRGB8888 picture (rows `src_pitch` bytes apart) shown scaled into the
// placement rectangle (`px`, `py`, `pw`, `ph`) of the surface. The clip rectangle must lie
// inside both the placement and the surface. When the placement is the source's own size
// this is a row copy (X bytes copied as they are; the X server ignores them); otherwise each
// surface pixel samples the source at its centre, nearest-neighbour when `smooth` is 0,
// bilinear when 1, and its X byte is 0.
void csdl_blit(const void *src, int src_pitch, int src_w, int src_h,
               void *dst, int dst_pitch,
               int px, int py, int pw, int ph,
               int cx, int cy, int cw, int ch, int smooth);
// Fills a rectangle of `dst` (rows `dst_pitch` bytes apart) with `color`.
void csdl_fill(void *dst, int dst_pitch, int x, int y, int w, int h, uint32_t color);

#ifdef __cplusplus
}
#endif

#endif
