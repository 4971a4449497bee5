/*
 * The Ringside guest ABI in one place: the VMM (Sources/Machine, through the CGuestABI
 * target) and the guest runtime (assets/guests, as a bridging header) both compile this
 * file, so each offset and number is written once. assets/guests/README.md explains it.
 * Little-endian, x86-64. Every layout is pinned by _Static_assert below.
 */
#ifndef RINGSIDE_ABI_H
#define RINGSIDE_ABI_H

#include <stdint.h>

/* Guest-physical layout (RAM is slot 0 at GPA 0; everything below RS_IMAGE_BASE is the VMM's). */
#define RS_GPA_GDT            0x1000ULL
#define RS_GPA_TSS            0x2000ULL
#define RS_GPA_COUNTERS       0x3000ULL
#define RS_GPA_BOOT_INFO      0x4000ULL
#define RS_BOOT_INFO_STRIDE   0x100ULL
#define RS_GPA_ARGUMENTS      0x5000ULL
#define RS_MAX_ARGUMENT_BYTES 4095
#define RS_GPA_INPUT_QUEUE    0x6000ULL /* one page: struct rs_input_queue */
#define RS_GPA_PML4           0x10000ULL
#define RS_GPA_PDPT           0x11000ULL
#define RS_GPA_PAGE_DIRS      0x12000ULL
#define RS_GPA_STACKS_TOP     0x200000ULL
#define RS_STACK_SIZE         0x10000ULL
#define RS_IMAGE_BASE         0x200000ULL
#define RS_MAX_VCPUS          16
/* The framebuffer memory slot (slot 1) at 64 GiB. */
#define RS_GPA_FRAMEBUFFER    0x1000000000ULL
#define RS_SLOT_RAM           0
#define RS_SLOT_FRAMEBUFFER   1

/* Ports the guest writes with `out` (CPL 3, IOPL 3). */
#define RS_PORT_CONSOLE       0xE9 /* byte: debug console, lines end at '\n' */
#define RS_PORT_DOORBELL      0xF0 /* dword: frame n of this vCPU is complete */
#define RS_PORT_EXIT          0xF4 /* byte or dword: exit with status v */
#define RS_PORT_YIELD         0xF8 /* byte: this vCPU waits for another; let the host run other threads */

#define RS_BOOT_INFO_MAGIC    0x49425352u /* "RSBI" */
#define RS_BOOT_INFO_VERSION  2u /* 2: input_queue_gpa */
#define RS_FORMAT_XRGB8888    1u

/* One per vCPU at RS_GPA_BOOT_INFO + index * RS_BOOT_INFO_STRIDE; RDI points to it at entry. */
struct rs_boot_info {
    uint32_t magic;              /* RS_BOOT_INFO_MAGIC */
    uint32_t version;            /* RS_BOOT_INFO_VERSION */
    uint64_t framebuffer_gpa;
    uint64_t framebuffer_size;   /* pitch * height */
    uint32_t width;
    uint32_t height;
    uint32_t pitch;              /* bytes per row, >= width * 4 */
    uint32_t format;             /* RS_FORMAT_XRGB8888 */
    uint32_t cpu_index;
    uint32_t cpu_count;
    uint64_t arguments_gpa;      /* NUL-terminated */
    uint32_t arguments_length;   /* without the NUL */
    uint32_t reserved0;
    uint64_t counters_gpa;
    uint64_t ram_size;
    uint64_t heap_gpa;           /* first free byte after the image, 4 KiB aligned */
    uint64_t heap_size;
    uint64_t input_queue_gpa;    /* struct rs_input_queue, shared by every vCPU (version >= 2) */
};

/* The counters page: the VMM writes it (through its tracked write API), the guest reads it. */
struct rs_counters {
    uint64_t tick;                   /* pacing ticks at --guest-hz; 0 when free-running */
    uint64_t uptime_ns;              /* host monotonic ns since boot */
    uint64_t frames[RS_MAX_VCPUS];   /* doorbells seen per vCPU */
};

/*
 * Input: a single-producer (VMM), single-consumer (guest) ring of events in one RAM page.
 * `head` and `tail` count events since boot and wrap at 2^32; event i lives in
 * events[i % RS_INPUT_QUEUE_EVENTS]. The VMM writes an event, then publishes `head` with a
 * release store; the guest loads `head` (acquire), reads events up to it, then stores `tail`
 * (release). The queue holds at most RS_INPUT_QUEUE_EVENTS events: the VMM never moves `head`
 * more than that past `tail`. When it is full the VMM keeps key and button events waiting (none
 * is ever dropped) and coalesces pointer motion into the newest position.
 * The VMM writes only when a vCPU is outside the guest at a frame doorbell, or through the
 * tracked write API at any time; a guest that reads the queue once per frame sees every event
 * delivered before that frame started.
 */
#define RS_INPUT_QUEUE_MAGIC  0x51495352u /* "RSIQ" */
#define RS_INPUT_QUEUE_EVENTS 128u        /* a power of two */

#define RS_INPUT_KEY          1u /* code: Linux evdev key code (KEY_A = 30); value: 1 down, 0 up */
#define RS_INPUT_POINTER      2u /* x, y: absolute framebuffer position (a tablet, not relative) */
#define RS_INPUT_BUTTON       3u /* code: RS_BUTTON_*; value: 1 down, 0 up; x, y: where */
#define RS_INPUT_WHEEL        4u /* value: vertical clicks, > 0 away from the user; x: horizontal clicks, > 0 right */
#define RS_INPUT_DISPLAY_SIZE 5u /* x, y: the size the host's window would like the mode to be */

#define RS_BUTTON_LEFT        0x110u /* evdev BTN_LEFT */
#define RS_BUTTON_RIGHT       0x111u /* evdev BTN_RIGHT */
#define RS_BUTTON_MIDDLE      0x112u /* evdev BTN_MIDDLE */

/* guest_flags, written by the guest: */
#define RS_GUEST_FOLLOWS_DISPLAY_SIZE 1u /* answers RS_INPUT_DISPLAY_SIZE by setting a matching mode */
#define RS_GUEST_READS_INPUT          2u /* consumes the queue (the VMM may show "input forwarded") */

struct rs_input_event {
    uint16_t type;   /* RS_INPUT_* */
    uint16_t code;
    int32_t value;
    int32_t x;
    int32_t y;
};

struct rs_input_queue {
    uint32_t magic;          /* RS_INPUT_QUEUE_MAGIC, written by the VMM at boot */
    uint32_t capacity;       /* RS_INPUT_QUEUE_EVENTS */
    uint32_t guest_flags;    /* RS_GUEST_*, written by the guest */
    uint32_t reserved0;
    uint8_t pad0[48];
    uint32_t head;           /* events produced; the VMM's, on its own cache line */
    uint8_t pad1[60];
    uint32_t tail;           /* events consumed; the guest's */
    uint8_t pad2[60];
    struct rs_input_event events[RS_INPUT_QUEUE_EVENTS];
};

_Static_assert(sizeof(struct rs_boot_info) == 104, "boot info is 104 bytes");
_Static_assert(__builtin_offsetof(struct rs_boot_info, input_queue_gpa) == 96, "input queue at 96");
_Static_assert(sizeof(struct rs_input_event) == 16, "an input event is 16 bytes");
_Static_assert(__builtin_offsetof(struct rs_input_queue, head) == 64, "head at 64");
_Static_assert(__builtin_offsetof(struct rs_input_queue, tail) == 128, "tail at 128");
_Static_assert(__builtin_offsetof(struct rs_input_queue, events) == 192, "events at 192");
_Static_assert(sizeof(struct rs_input_queue) <= 4096, "the input queue fits one page");
_Static_assert((RS_INPUT_QUEUE_EVENTS & (RS_INPUT_QUEUE_EVENTS - 1)) == 0, "capacity is a power of two");
_Static_assert(__builtin_offsetof(struct rs_boot_info, width) == 24, "width at 24");
_Static_assert(__builtin_offsetof(struct rs_boot_info, arguments_gpa) == 48, "arguments at 48");
_Static_assert(__builtin_offsetof(struct rs_boot_info, counters_gpa) == 64, "counters at 64");
_Static_assert(__builtin_offsetof(struct rs_boot_info, heap_size) == 88, "heap size at 88");
_Static_assert(sizeof(struct rs_boot_info) <= RS_BOOT_INFO_STRIDE, "a block fits its stride");
_Static_assert(__builtin_offsetof(struct rs_counters, frames) == 16, "frames at 16");
_Static_assert(sizeof(struct rs_counters) <= 4096, "counters fit one page");

#endif
