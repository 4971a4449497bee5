// SDL2 video calls behind csdl.h. Errors are copied out as text at once: SDL_GetError is
// per thread and overwritten by the next failing call.
#include "csdl.h"

#include <SDL2/SDL.h>
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csdl_window {
    SDL_Window *window;
};

static void set_error(char *err, size_t errlen, const char *what) {
    if (err && errlen > 0) snprintf(err, errlen, "%s: %s", what, SDL_GetError());
}

// Xlib's default error handler exits the process. An X request about a window that is
// already gone (seen under Xvfb when SDL wakes its event wait as the window closes) is
// harmless to a VMM, so BadWindow is ignored; every other error goes to the handler before.
// It is installed before SDL starts its X11 driver: SDL keeps the handler it finds as its
// original (its own safety net calls it) and puts it back when the video subsystem quits,
// just before XCloseDisplay, whose round trip reports a wake-up's BadWindow sent as the
// window closed. Installed after SDL, it was gone by then and Xlib's default exited with 1.
static XErrorHandler previous_x_error_handler;
static int on_x_error(Display *display, XErrorEvent *e) {
    if (e->error_code == BadWindow) return 0;
    return previous_x_error_handler ? previous_x_error_handler(display, e) : 0;
}

int csdl_video_init(int present_path, char *err, size_t errlen) {
    // Hints are read when SDL starts (signals) and when a window surface is first created
    // (framebuffer acceleration, decided once per video subsystem start).
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, present_path == CSDL_PRESENT_NATIVE ? "0" : "1");
    // Unless the user picked a driver, use X11 when there is no Wayland compositor: SDL
    // would otherwise probe Wayland (libwayland prints to stderr when it finds none) and,
    // with no display at all, fall back to its invisible "offscreen" driver.
    if (!getenv("SDL_VIDEODRIVER") && !getenv("WAYLAND_DISPLAY")) SDL_SetHint(SDL_HINT_VIDEODRIVER, "x11");
    XErrorHandler old = XSetErrorHandler(on_x_error);
    if (old != on_x_error) previous_x_error_handler = old;
    // A display server that cannot be reached fails here, not later.
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        set_error(err, errlen, "no display server answered (SDL");
        if (err && errlen > 1 && strlen(err) < errlen - 1) strcat(err, ")");
        return -1;
    }
    const char *driver = SDL_GetCurrentVideoDriver();
    if (!getenv("SDL_VIDEODRIVER") && driver && (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy"))) {
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        if (err && errlen > 0) snprintf(err, errlen, "no display server answered (SDL found only its %s driver)", driver);
        return -1;
    }
    return 0;
}

void csdl_video_quit(void) { SDL_QuitSubSystem(SDL_INIT_VIDEO); }

const char *csdl_video_driver(void) {
    const char *name = SDL_GetCurrentVideoDriver();
    return name ? name : "";
}

csdl_window *csdl_window_open(const char *title, int width, int height, char *err, size_t errlen) {
    csdl_window *w = SDL_calloc(1, sizeof *w);
    if (!w) {
        if (err && errlen > 0) snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->window = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, width, height,
                                 SDL_WINDOW_SHOWN | SDL_WINDOW_RESIZABLE);
    if (!w->window) {
        set_error(err, errlen, "SDL_CreateWindow");
        SDL_free(w);
        return NULL;
    }
    return w;
}

void csdl_window_close(csdl_window *w) {
    if (!w) return;
    SDL_DestroyWindow(w->window);
    SDL_free(w);
}

void csdl_window_set_title(csdl_window *w, const char *title) { SDL_SetWindowTitle(w->window, title); }

int csdl_window_toggle_fullscreen(csdl_window *w) {
    int on = (SDL_GetWindowFlags(w->window) & SDL_WINDOW_FULLSCREEN) != 0;
    if (SDL_SetWindowFullscreen(w->window, on ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP) != 0) return -1;
    return !on;
}

void csdl_window_set_size(csdl_window *w, int width, int height) {
    SDL_SetWindowSize(w->window, width, height);
    SDL_SetWindowPosition(w->window, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED);
}

void csdl_window_position(csdl_window *w, int *x, int *y) { SDL_GetWindowPosition(w->window, x, y); }

void csdl_usable_size(int *width, int *height) {
    SDL_Rect r = {0, 0, 0, 0};
    if (SDL_GetDisplayUsableBounds(0, &r) != 0) r.w = r.h = 0;
    *width = r.w;
    *height = r.h;
}

int csdl_window_surface(csdl_window *w, csdl_surface *out, char *err, size_t errlen) {
    SDL_Surface *s = SDL_GetWindowSurface(w->window);
    if (!s) {
        set_error(err, errlen, "SDL_GetWindowSurface");
        return -1;
    }
    const SDL_PixelFormat *f = s->format;
    if (f->BytesPerPixel != 4 || f->Rmask != 0xFF0000 || f->Gmask != 0xFF00 || f->Bmask != 0xFF) {
        if (err && errlen > 0)
            snprintf(err, errlen, "window surface is %s, not 32-bit XRGB (use a 24-bit display)",
                     SDL_GetPixelFormatName(f->format));
        return -1;
    }
    out->pixels = s->pixels;
    out->width = s->w;
    out->height = s->h;
    out->pitch = s->pitch;
    return 0;
}

int csdl_window_update_rects(csdl_window *w, const int32_t *rects, int count, char *err, size_t errlen) {
    SDL_Rect stack[64];
    SDL_Rect *r = count <= 64 ? stack : SDL_malloc(sizeof(SDL_Rect) * (size_t)count);
    if (!r) {
        if (err && errlen > 0) snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        r[i].x = rects[4 * i];
        r[i].y = rects[4 * i + 1];
        r[i].w = rects[4 * i + 2];
        r[i].h = rects[4 * i + 3];
    }
    int rc = SDL_UpdateWindowSurfaceRects(w->window, r, count);
    if (r != stack) SDL_free(r);
    if (rc != 0) {
        set_error(err, errlen, "SDL_UpdateWindowSurfaceRects");
        return -1;
    }
    return 0;
}

static int32_t key_of(SDL_Keycode k) {
    switch (k) {
    case SDLK_ESCAPE: return CSDL_KEY_ESCAPE;
    case SDLK_q: return CSDL_KEY_Q;
    case SDLK_f: return CSDL_KEY_F;
    case SDLK_F11: return CSDL_KEY_F11;
    case SDLK_s: return CSDL_KEY_S;
    case SDLK_F12: return CSDL_KEY_F12;
    case SDLK_d: return CSDL_KEY_D;
    case SDLK_m: return CSDL_KEY_M;
    default: return CSDL_KEY_OTHER;
    }
}

int csdl_wait_event(csdl_event *out, int timeout_ms) {
    SDL_Event e;
    for (;;) {
        int got = timeout_ms > 0 ? SDL_WaitEventTimeout(&e, timeout_ms) : SDL_PollEvent(&e);
        if (!got) return 0;
        SDL_zerop(out);
        switch (e.type) {
        case SDL_QUIT:
            out->kind = CSDL_EVENT_QUIT;
            return 1;
        case SDL_KEYDOWN:
        case SDL_KEYUP:
            out->kind = CSDL_EVENT_KEY;
            out->autorepeat = e.key.repeat != 0;
            out->key = key_of(e.key.keysym.sym);
            out->evdev = csdl_evdev_code(e.key.keysym.scancode);
            out->down = e.type == SDL_KEYDOWN;
            out->ctrl_alt = (e.key.keysym.mod & KMOD_CTRL) && (e.key.keysym.mod & KMOD_ALT);
            return 1;
        case SDL_MOUSEMOTION:
            if (e.motion.which == SDL_TOUCH_MOUSEID) break;
            out->kind = CSDL_EVENT_MOTION;
            out->x = e.motion.x;
            out->y = e.motion.y;
            return 1;
        case SDL_MOUSEBUTTONDOWN:
        case SDL_MOUSEBUTTONUP:
            if (e.button.which == SDL_TOUCH_MOUSEID) break;
            if (e.button.button != SDL_BUTTON_LEFT && e.button.button != SDL_BUTTON_MIDDLE && e.button.button != SDL_BUTTON_RIGHT) break;
            out->kind = CSDL_EVENT_BUTTON;
            out->button = e.button.button == SDL_BUTTON_LEFT ? CSDL_BUTTON_LEFT
                        : e.button.button == SDL_BUTTON_MIDDLE ? CSDL_BUTTON_MIDDLE : CSDL_BUTTON_RIGHT;
            out->down = e.type == SDL_MOUSEBUTTONDOWN;
            out->x = e.button.x;
            out->y = e.button.y;
            return 1;
        case SDL_MOUSEWHEEL: {
            if (e.wheel.which == SDL_TOUCH_MOUSEID) break;
            int flip = e.wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -1 : 1;
            if (e.wheel.x == 0 && e.wheel.y == 0) break;
            out->kind = CSDL_EVENT_WHEEL;
            out->x = e.wheel.x * flip;
            out->y = e.wheel.y * flip;
            return 1;
        }
        case SDL_WINDOWEVENT:
            switch (e.window.event) {
            case SDL_WINDOWEVENT_CLOSE:
                out->kind = CSDL_EVENT_QUIT;
                return 1;
            case SDL_WINDOWEVENT_SIZE_CHANGED:
                out->kind = CSDL_EVENT_RESIZED;
                out->width = e.window.data1;
                out->height = e.window.data2;
                return 1;
            case SDL_WINDOWEVENT_EXPOSED:
                out->kind = CSDL_EVENT_EXPOSED;
                return 1;
            case SDL_WINDOWEVENT_FOCUS_LOST:
                out->kind = CSDL_EVENT_FOCUS_LOST;
                return 1;
            default:
                break;
            }
            break;
        default:
            break;
        }
        // An event the window ignores: look for the next one without waiting again.
        timeout_ms = 0;
    }
}
