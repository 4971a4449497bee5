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

#define RS_BOOT_INFO_MAGIC    0x49425352u /* "RSBI" */
#define RS_BOOT_INFO_VERSION  1u
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
};

/* The counters page: the VMM writes it (through its tracked write API), the guest reads it. */
struct rs_counters {
    uint64_t tick;                   /* pacing ticks at --guest-hz; 0 when free-running */
    uint64_t uptime_ns;              /* host monotonic ns since boot */
    uint64_t frames[RS_MAX_VCPUS];   /* doorbells seen per vCPU */
};

_Static_assert(sizeof(struct rs_boot_info) == 96, "boot info is 96 bytes");
_Static_assert(__builtin_offsetof(struct rs_boot_info, width) == 24, "width at 24");
_Static_assert(__builtin_offsetof(struct rs_boot_info, arguments_gpa) == 48, "arguments at 48");
_Static_assert(__builtin_offsetof(struct rs_boot_info, counters_gpa) == 64, "counters at 64");
_Static_assert(__builtin_offsetof(struct rs_boot_info, heap_size) == 88, "heap size at 88");
_Static_assert(sizeof(struct rs_boot_info) <= RS_BOOT_INFO_STRIDE, "a block fits its stride");
_Static_assert(__builtin_offsetof(struct rs_counters, frames) == 16, "frames at 16");
_Static_assert(sizeof(struct rs_counters) <= 4096, "counters fit one page");

#endif
