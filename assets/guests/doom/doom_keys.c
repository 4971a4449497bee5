/*
 * DG_GetKey: key events from Ringside's input queue (Linux evdev codes) as DOOM's keys
 * (doomkeys.h): arrows move and turn, Ctrl fires, Space opens doors (use), Shift runs, Alt
 * strafes with the arrows, ',' and '.' strafe, Enter and Escape drive the menus, letters and
 * digits are themselves (y answers the menu's questions, 1-7 choose weapons). Auto-repeat is a
 * press. A display-size event (the window was resized) asks for that mode (follow=1).
 */
#include <ringside.h>
#include "doom_platform.h"
#include "doomkeys.h"

static unsigned char doom_key(uint16_t code) {
    static const char letters_q[] = "qwertyuiop", letters_a[] = "asdfghjkl", letters_z[] = "zxcvbnm";
    if (code >= 2 && code <= 10) return (unsigned char)('1' + code - 2);
    if (code >= 16 && code <= 25) return (unsigned char)letters_q[code - 16];
    if (code >= 30 && code <= 38) return (unsigned char)letters_a[code - 30];
    if (code >= 44 && code <= 50) return (unsigned char)letters_z[code - 44];
    if (code >= 59 && code <= 68) return (unsigned char)(KEY_F1 + code - 59);
    switch (code) {
    case 1: return KEY_ESCAPE;
    case 11: return '0';
    case 12: case 74: return KEY_MINUS;
    case 13: case 78: return KEY_EQUALS;
    case 14: return KEY_BACKSPACE;
    case 15: return KEY_TAB;
    case 26: return '[';
    case 27: return ']';
    case 28: case 96: return KEY_ENTER;
    case 29: case 97: return KEY_FIRE;
    case 39: return ';';
    case 40: return '\'';
    case 41: return '`';
    case 42: case 54: return KEY_RSHIFT;
    case 43: return '\\';
    case 51: return KEY_STRAFE_L;
    case 52: return KEY_STRAFE_R;
    case 53: return '/';
    case 56: case 100: return KEY_LALT;
    case 57: return KEY_USE;
    case 87: return KEY_F11;
    case 88: return KEY_F12;
    case 102: return KEY_HOME;
    case 103: return KEY_UPARROW;
    case 104: return KEY_PGUP;
    case 105: return KEY_LEFTARROW;
    case 106: return KEY_RIGHTARROW;
    case 107: return KEY_END;
    case 108: return KEY_DOWNARROW;
    case 109: return KEY_PGDN;
    case 110: return KEY_INS;
    case 111: return KEY_DEL;
    case 119: return KEY_PAUSE;
    default: return 0;
    }
}

int doom_get_key(int *pressed, unsigned char *key) {
    struct rs_input_event e;
    while (rs_input_next(&e) == 1) {
        if (e.type == RS_INPUT_DISPLAY_SIZE) {
            if (doom_options.follow && e.x > 0 && e.y > 0) doom_request_mode((uint32_t)e.x, (uint32_t)e.y);
            continue;
        }
        if (e.type != RS_INPUT_KEY) continue;
        unsigned char k = doom_key(e.code);
        if (!k) continue;
        *pressed = e.value != 0;
        *key = k;
        return 1;
    }
    return 0;
}
