/*
 * What the CPL-3 loader's two files share (README.md here): loader.c sets up the machine and
 * writes what the guest finds at boot; image.c places the guest image and its boot modules.
 */
#ifndef RINGSIDE_STUB_LOADER_H
#define RINGSIDE_STUB_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "ringside_abi.h"
#include "ringside_qemu_stub.h"

/* What the command line and the hardware say about the machine. */
struct machine {
    uint64_t ram_size;     /* ram=: what the user gave QEMU's -m */
    uint64_t ram_low_end;  /* end of the RAM region that holds the image (QEMU's hole starts there) */
    uint64_t ram_top;      /* end of the highest RAM region */
    uint32_t pit_divisor;  /* pit=: 0 = free-running */
    uint64_t stop_frame;   /* frames=: 0 = never */
    uint32_t width, height, pitch;
    uint64_t bar, bar_size;
    const char *args;
    uint32_t args_length;
    uint64_t entry, image_end;
    uint64_t heap;         /* first free byte after the image and the modules, 4 KiB aligned */
    uint32_t module_count; /* boot modules listed at RS_GPA_MODULES */
    uint32_t abi_version;  /* abi=: the guest ABI version the image boots as (its note, or --guest-abi) */
    uint32_t cpus;         /* cpus=: vCPUs, 1 or 2 (QEMU's -smp) */
};

/* Multiboot (version 1) as QEMU's loader hands it over. */
struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4], mmap_length, mmap_addr;
};
struct mb_module { uint32_t start, end, cmdline, reserved; };

/* loader.c */
void put(const char *s);
void put_number(uint64_t v);
void put_hex(uint64_t v);
/* Ends a refusal line started with put("ringside-stub: ...") and stops QEMU. */
__attribute__((noreturn)) void refuse(void);
void *copy(void *dst, const void *src, uint64_t n);
void fill(void *dst, uint8_t value, uint64_t n);
uint64_t length(const char *s);
int starts_with(const char *s, const char *prefix);

/* image.c: the image's segments, the modules and the module table, as README.md says. */
void load_guest(const struct mb_info *mbi, struct machine *m);

#endif
