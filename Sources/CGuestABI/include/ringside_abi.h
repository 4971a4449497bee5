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
#define RS_GPA_MODULES        0x7000ULL /* one page: up to RS_MAX_MODULES struct rs_module (version >= 3) */
#define RS_GPA_CURSOR         0x8000ULL /* one page: struct rs_cursor (version >= 4) */
#define RS_GPA_CURSOR_PIXELS  0x9000ULL /* four pages: the cursor's ARGB8888 pixels, 64 a row (version >= 4) */
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

/*
 * Mode setting: the Bochs VBE "DISPI" interface of QEMU's standard VGA and Linux's bochs DRM
 * driver. `out` a register index (word) to RS_PORT_DISPI_INDEX, then `in` or `out` its value
 * (word or dword) at RS_PORT_DISPI_DATA. XRES, YRES, BPP and VIRT_WIDTH latch; the mode
 * changes when ENABLE is written with RS_DISPI_ENABLED. The VMM then checks it (width
 * 64...max, height 64...max, BPP 32, VIRT_WIDTH (pitch / 4) from XRES up to the max width,
 * offsets 0); if it is accepted it updates width, height, pitch and framebuffer_size in every
 * vCPU's boot info before the `out` returns. A refused mode leaves the old one in force and
 * the registers read back the old values. Writing XRES sets VIRT_WIDTH to XRES. The max is the
 * VMM's --max-framebuffer (read it with ENABLE = RS_DISPI_GETCAPS). The framebuffer never
 * moves and is not cleared (as with RS_DISPI_NOCLEARMEM): draw the new frame.
 */
#define RS_PORT_DISPI_INDEX   0x1CE
#define RS_PORT_DISPI_DATA    0x1CF
#define RS_DISPI_INDEX_ID          0x0 /* reads RS_DISPI_ID5 */
#define RS_DISPI_INDEX_XRES        0x1
#define RS_DISPI_INDEX_YRES        0x2
#define RS_DISPI_INDEX_BPP         0x3 /* only 32 (XRGB8888) is accepted */
#define RS_DISPI_INDEX_ENABLE      0x4
#define RS_DISPI_INDEX_BANK        0x5 /* reads 0: there is only the linear framebuffer */
#define RS_DISPI_INDEX_VIRT_WIDTH  0x6 /* pixels per row: pitch / 4 */
#define RS_DISPI_INDEX_VIRT_HEIGHT 0x7 /* read only: rows of VIRT_WIDTH that fit the framebuffer slot */
#define RS_DISPI_INDEX_X_OFFSET    0x8 /* only 0 */
#define RS_DISPI_INDEX_Y_OFFSET    0x9 /* only 0 */
#define RS_DISPI_INDEX_VIDEO_MEMORY_64K 0xA /* read only: the framebuffer slot in 64 KiB units */
#define RS_DISPI_ID5          0xB0C5
#define RS_DISPI_DISABLED     0x00
#define RS_DISPI_ENABLED      0x01
#define RS_DISPI_GETCAPS      0x02 /* while set in ENABLE, XRES/YRES/BPP read the maxima */
#define RS_DISPI_8BIT_DAC     0x20
#define RS_DISPI_LFB_ENABLED  0x40
#define RS_DISPI_NOCLEARMEM   0x80
#define RS_MODE_MIN_WIDTH     64
#define RS_MODE_MIN_HEIGHT    64
#define RS_MODE_MAX_WIDTH     7680
#define RS_MODE_MAX_HEIGHT    4320

#define RS_BOOT_INFO_MAGIC    0x49425352u /* "RSBI" */
#define RS_BOOT_INFO_VERSION  4u /* 1: original; 2: input_queue_gpa; 3: modules; 4: cursor plane */
#define RS_ABI_VERSION_MIN    1u /* oldest ABI version the VMM still boots */
#define RS_FORMAT_XRGB8888    1u

/*
 * Boot modules (`ringside run --module PATH[=NAME]`): files loaded into guest RAM after the
 * image, in command-line order, each at a 4 KiB-aligned address; the heap starts after the
 * last one. The table at modules_gpa lists them (module_count entries).
 */
#define RS_MAX_MODULES        64
#define RS_MODULE_NAME_BYTES  48

struct rs_module {                      /* 64 bytes */
    uint64_t gpa;                       /* first byte, 4 KiB aligned, in RAM */
    uint64_t size;                      /* bytes (the file's size) */
    char name[RS_MODULE_NAME_BYTES];    /* NUL-terminated, at most 47 bytes */
};

/*
 * The ABI version an image was built for, as an ELF note in a PT_NOTE segment: name
 * "Ringside" (namesz 9, with the NUL), type RS_NOTE_ABI_VERSION, a 4-byte desc holding the
 * version. No note means version 1; the VMM refuses a version above RS_BOOT_INFO_VERSION and
 * boots every other one as that version's document describes it. A C guest writes
 * `RS_DECLARE_ABI_VERSION(3);` once, at file scope, and its linker script keeps the section
 * `.note.ringside` in a PT_NOTE segment (assets/guests/link.ld does).
 */
#define RS_NOTE_NAME          "Ringside"
#define RS_NOTE_ABI_VERSION   1u

struct rs_abi_note {
    uint32_t namesz;    /* 9 */
    uint32_t descsz;    /* 4 */
    uint32_t type;      /* RS_NOTE_ABI_VERSION */
    char name[12];      /* RS_NOTE_NAME, NUL-padded to a multiple of 4 */
    uint32_t version;   /* the desc */
};

#define RS_DECLARE_ABI_VERSION(v) \
    __attribute__((section(".note.ringside"), aligned(4), used)) \
    static const struct rs_abi_note rs_abi_version_note = { 9u, 4u, RS_NOTE_ABI_VERSION, RS_NOTE_NAME, (v) }

/* One per vCPU at RS_GPA_BOOT_INFO + index * RS_BOOT_INFO_STRIDE; RDI points to it at entry. */
struct rs_boot_info {
    uint32_t magic;              /* RS_BOOT_INFO_MAGIC */
    uint32_t version;            /* RS_BOOT_INFO_VERSION */
    uint64_t framebuffer_gpa;
    uint64_t framebuffer_size;   /* pitch * height; the next four change at a DISPI mode set */
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
    uint64_t modules_gpa;        /* RS_GPA_MODULES: struct rs_module[module_count] (version >= 3) */
    uint32_t module_count;       /* at most RS_MAX_MODULES */
    uint32_t reserved1;          /* 0 */
    uint64_t cursor_gpa;         /* struct rs_cursor (version >= 4); 0: no cursor plane, draw your own */
};

/*
 * The cursor plane (version >= 4): the guest's pointer as a sprite the host draws over the
 * framebuffer (the host's own cursor in a window, a VNC client's cursor, composited into a
 * PNG), so moving it writes no framebuffer page. The VMM writes `magic` and `max_size` at boot
 * and otherwise only reads; the guest writes the rest. Position, visibility and shape are
 * published under a sequence count: the guest makes `seq` odd (store), writes, then makes it
 * even again with a release store; the VMM reads `seq` (acquire), the fields and the pixels,
 * then `seq` again, and uses what it read only if both were the same even number. Pixels are
 * ARGB8888 with straight (not premultiplied) alpha, 0xAARRGGBB, rows of RS_CURSOR_MAX_SIZE
 * pixels at pixels_gpa; the guest increments `shape_serial` whenever the pixels, size or
 * hot spot change, so the VMM copies them only then.
 */
#define RS_CURSOR_MAGIC       0x55435352u /* "RSCU" */
#define RS_CURSOR_MAX_SIZE    64u
#define RS_CURSOR_VISIBLE     1u

struct rs_cursor {
    uint32_t magic;          /* RS_CURSOR_MAGIC, written by the VMM at boot */
    uint32_t max_size;       /* RS_CURSOR_MAX_SIZE, written by the VMM at boot */
    uint32_t seq;            /* even: stable; odd: the guest is writing */
    uint32_t flags;          /* RS_CURSOR_VISIBLE */
    int32_t x;               /* the hot spot's framebuffer position */
    int32_t y;
    uint32_t width;          /* 1...max_size */
    uint32_t height;         /* 1...max_size */
    uint32_t hot_x;          /* < width */
    uint32_t hot_y;          /* < height */
    uint32_t shape_serial;   /* incremented at every change of pixels, size or hot spot */
    uint32_t reserved0;
    uint64_t pixels_gpa;     /* RS_GPA_CURSOR_PIXELS, written by the VMM at boot */
    uint8_t pad[8];
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

_Static_assert(sizeof(struct rs_boot_info) == 128, "boot info is 128 bytes");
_Static_assert(__builtin_offsetof(struct rs_boot_info, cursor_gpa) == 120, "cursor at 120");
_Static_assert(sizeof(struct rs_cursor) == 64, "the cursor header is 64 bytes");
_Static_assert(__builtin_offsetof(struct rs_cursor, seq) == 8, "seq at 8");
_Static_assert(__builtin_offsetof(struct rs_cursor, shape_serial) == 40, "shape serial at 40");
_Static_assert(__builtin_offsetof(struct rs_cursor, pixels_gpa) == 48, "pixels at 48");
_Static_assert(RS_GPA_CURSOR_PIXELS + RS_CURSOR_MAX_SIZE * RS_CURSOR_MAX_SIZE * 4 <= RS_GPA_PML4, "the cursor pixels end below the page tables");
_Static_assert(__builtin_offsetof(struct rs_boot_info, input_queue_gpa) == 96, "input queue at 96");
_Static_assert(__builtin_offsetof(struct rs_boot_info, modules_gpa) == 104, "modules at 104");
_Static_assert(__builtin_offsetof(struct rs_boot_info, module_count) == 112, "module count at 112");
_Static_assert(sizeof(struct rs_module) == 64, "a module entry is 64 bytes");
_Static_assert(__builtin_offsetof(struct rs_module, name) == 16, "module name at 16");
_Static_assert(RS_MAX_MODULES * sizeof(struct rs_module) <= 4096, "the module table fits one page");
_Static_assert(sizeof(struct rs_abi_note) == 28, "the ABI note is 28 bytes");
_Static_assert(__builtin_offsetof(struct rs_abi_note, version) == 24, "the note's desc at 24");
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
