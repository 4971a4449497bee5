// The guest's cursor plane as the host's cursor over the window (SDL_CreateColorCursor).
#include "csdl.h"

#include <SDL2/SDL.h>

static SDL_Cursor *guest_cursor;

int csdl_set_color_cursor(const uint32_t *argb, int width, int height, int hot_x, int hot_y) {
    // SDL copies the pixels into the cursor; the surface only borrows them for this call.
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormatFrom((void *)argb, width, height, 32, width * 4, SDL_PIXELFORMAT_ARGB8888);
    if (!s) return -1;
    SDL_Cursor *c = SDL_CreateColorCursor(s, hot_x, hot_y);
    SDL_FreeSurface(s);
    if (!c) return -1;
    SDL_SetCursor(c);
    if (guest_cursor) SDL_FreeCursor(guest_cursor);
    guest_cursor = c;
    SDL_ShowCursor(SDL_ENABLE);
    return 0;
}

void csdl_show_cursor(int shown) { SDL_ShowCursor(shown ? SDL_ENABLE : SDL_DISABLE); }

void csdl_default_cursor(void) {
    SDL_SetCursor(SDL_GetDefaultCursor());
    if (guest_cursor) SDL_FreeCursor(guest_cursor);
    guest_cursor = NULL;
    SDL_ShowCursor(SDL_ENABLE);
}
