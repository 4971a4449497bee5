/*
 * <ringside.h>: the Ringside-specific calls of the C guest SDK (assets/guests/README.md,
 * "Write a guest in C"). The layout, ports and structures come from the one ABI header,
 * Sources/CGuestABI/include/ringside_abi.h, found through the include path ringside-cc sets.
 *
 * A C guest runs at CPL 3 with no kernel: no system calls, no exceptions (any fault
 * triple-faults and the VMM reports the RIP). main() runs on vCPU 0; the C library is for
 * vCPU 0 only (see rs_secondary_main for the others).
 */
#ifndef RINGSIDE_H
#define RINGSIDE_H

#include <stddef.h>
#include <stdint.h>
#include <ringside_abi.h>

/* The ABI version this SDK is written for; crt0 declares it in the image's ELF note. */
#define RS_SDK_ABI_VERSION 4u

#ifdef __cplusplus
extern "C" {
#endif

/* --- Boot info and framebuffer --------------------------------------------------------- */

/* This vCPU's boot-info block (RDI at entry). Width, height, pitch and framebuffer_size change
 * at a mode set: read them again after rs_set_mode. */
const struct rs_boot_info *rs_boot_info(void);
/* The framebuffer's first pixel (XRGB8888, 0x00RRGGBB). */
static inline uint32_t *rs_framebuffer(void) { return (uint32_t *)(uintptr_t)rs_boot_info()->framebuffer_gpa; }
static inline uint32_t rs_width(void) { return rs_boot_info()->width; }
static inline uint32_t rs_height(void) { return rs_boot_info()->height; }
/* Pixels per row (pitch / 4). */
static inline uint32_t rs_stride(void) { return rs_boot_info()->pitch / 4; }

/* --- Frames ---------------------------------------------------------------------------- */

/* Rings the frame doorbell: the frame is complete. Returns its number (1, 2, 3 ...). The VMM
 * holds the vCPU here until its next pacing tick (--guest-hz), so this is also how a guest
 * waits for time to pass. */
uint32_t rs_frame_done(void);
/* Frames completed (doorbells rung) by this guest so far. */
uint32_t rs_frames(void);

/* --- Time (the counters page; the VMM updates it at each doorbell) ----------------------- */

/* Host monotonic nanoseconds since boot, as of this vCPU's last doorbell. */
uint64_t rs_uptime_ns(void);
/* Pacing ticks at --guest-hz as of the last doorbell (0 when free-running). */
uint64_t rs_pacing_tick(void);

/* --- Input ------------------------------------------------------------------------------ */

/* Takes the next event from the input queue into *event: 1 if there was one, 0 if not, -1 if
 * the VMM offers no usable queue (boot info older than version 2, or a bad queue: a one-line
 * warning is printed once). The first call sets RS_GUEST_READS_INPUT. vCPU 0 only. */
int rs_input_next(struct rs_input_event *event);
/* Sets RS_GUEST_* flags in the queue (e.g. RS_GUEST_FOLLOWS_DISPLAY_SIZE). */
void rs_input_set_flags(uint32_t flags);

/* --- Display modes (Bochs DISPI at ports 0x1CE/0x1CF) ----------------------------------- */

/* Asks for a width x height XRGB8888 mode. 0 if the VMM set it (the boot info now describes
 * it), -1 if it was refused (the old mode stays). The framebuffer is not cleared. */
int rs_set_mode(uint32_t width, uint32_t height);
/* The largest mode the VMM accepts (--max-framebuffer). */
void rs_max_mode(uint32_t *width, uint32_t *height);

/* --- The cursor plane (ABI version 4; README "The cursor plane") ------------------------- */

/* Whether the VMM offers a cursor plane (version >= 4, cursor_gpa set, magic right). Without
 * one, draw your own pointer. */
int rs_cursor_available(void);
/* A new shape: width x height (1...64) pixels 0xAARRGGBB with straight alpha, row-major, and
 * the hot spot inside it. 0, or -1 without a plane or for a bad size. */
int rs_cursor_set_shape(const uint32_t *argb, uint32_t width, uint32_t height, uint32_t hot_x, uint32_t hot_y);
/* Puts the hot spot at framebuffer position (x, y), shown or hidden. 0, or -1 without a plane.
 * Moving the cursor writes no framebuffer page. Call both from one vCPU. */
int rs_cursor_move(int32_t x, int32_t y, int visible);

/* --- Boot modules (ringside run --module PATH[=NAME]) ------------------------------------ */

/* Modules the VMM loaded (0 with a boot info older than version 3). */
uint32_t rs_module_count(void);
const struct rs_module *rs_module_at(uint32_t index);
/* The module called `name` (or, if none is, the one called like the last path component of
 * `name`), else NULL. Its bytes are at (const void *)module->gpa, module->size long. */
const struct rs_module *rs_module_find(const char *name);

/* --- Arguments (ringside run --args "...") ---------------------------------------------- */

/* The whole argument string (never NULL). main() gets it split at spaces as argv[1...]. */
const char *rs_arguments(void);
/* The value of the first `key=value` word, or NULL if there is none. A copy that lives as long
 * as the program. `rs_arg("clock")` for `--args "clock=frames"` gives "frames". */
const char *rs_arg(const char *key);

/* --- Ports, console, exit ---------------------------------------------------------------- */

static inline void rs_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void rs_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void rs_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint16_t rs_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Writes bytes to the debug console (port 0xE9); the VMM shows a line at each '\n'. */
void rs_console_write(const char *bytes, size_t count);
/* Tells the VMM this vCPU is waiting for another one (port 0xF8). */
static inline void rs_yield(void) { rs_outb(RS_PORT_YIELD, 0); }
/* Ends the guest: ringside exits with status (status << 1) | 1 (port 0xF4). */
__attribute__((noreturn)) void rs_exit(int status);

/* vCPUs other than 0 call this (weak: define it to use them). The default rings a doorbell
 * per pacing tick forever and draws nothing. They run on the VMM's 64 KiB stacks and must not
 * call the C library or the calls above (they keep vCPU 0's state): read `boot` and use the
 * port helpers (rs_outl(RS_PORT_DOORBELL, n) with their own frame count n). */
void rs_secondary_main(const struct rs_boot_info *boot);

#ifdef __cplusplus
}
#endif
#endif
