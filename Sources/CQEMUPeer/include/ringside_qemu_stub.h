/*
 * The boot stub that runs Ringside guest images unmodified under QEMU
 * (assets/peers/qemu/, README.md there): what the stub and `ringside qemu` share.
 * The stub (entry.S, loader.c) and the VMM side (Sources/QEMUPeer, through the
 * CQEMUPeer target) both compile this file, so each offset is written once.
 * Little-endian, x86-64. Layouts are pinned by _Static_assert below; the assembly
 * part uses only the macros.
 */
#ifndef RINGSIDE_QEMU_STUB_H
#define RINGSIDE_QEMU_STUB_H

/*
 * The stub's state page, at a fixed guest-physical address in the VMM's part of RAM
 * (below RS_IMAGE_BASE, clear of the ABI's pages at 0x1000-0x7FFF and of QEMU's
 * multiboot info at 0x9000). The loader fills it; the CPL-0 handlers update it; the host
 * reads it from the VMM process with process_vm_readv (Sources/QEMUPeer/GuestRAMView.swift).
 */
#define RSQ_GPA_STATE          0x8000
#define RSQ_STATE_MAGIC        0x53515352u /* "RSQS" */
#define RSQ_STATE_VERSION      2u /* 2: cpu_count, stopped_cpus, released[] (two vCPUs) */

/* Page directories the stub reserves for RAM above the first GiB: RAM up to 32 GiB plus
   QEMU's PCI hole below 4 GiB. */
#define RSQ_RAM_PAGE_DIRS      33

/* Where the stub is linked (multiboot load address); guest images load at RS_IMAGE_BASE. */
#define RSQ_LOAD_ADDRESS       0x100000

/* The vCPUs the stub boots (cpus=): vCPU 0 through multiboot, vCPU 1 by INIT-SIPI-SIPI to the
   real-mode trampoline the loader copies to this page below 1 MiB (SIPI vector 0x70). */
#define RSQ_MAX_CPUS           2
#define RSQ_AP_TRAMPOLINE      0x70000

/* state values */
#define RSQ_LOADING            0u /* the CPL-3 loader runs */
#define RSQ_RUNNING            1u /* the guest runs */
#define RSQ_STOPPED            2u /* held for good at doorbell stop_frame (--frames N) */
#define RSQ_CRASHED            3u /* an exception the stub does not handle: vector, error, rip, cr2 */
#define RSQ_REFUSED            4u /* the loader refused the image or the machine; a line says why */

/* Offsets in the state page (the assembly part uses these). */
#define RSQ_OFF_MAGIC          0
#define RSQ_OFF_STATE          8
#define RSQ_OFF_STOP_FRAME     16
#define RSQ_OFF_PERIOD_NS      24
#define RSQ_OFF_TICK           32
#define RSQ_OFF_VECTOR         48
#define RSQ_OFF_ERROR          56
#define RSQ_OFF_RIP            64
#define RSQ_OFF_CR2            72
#define RSQ_OFF_ENTRY          80
#define RSQ_OFF_STACK          88
#define RSQ_OFF_CPU_COUNT      144
#define RSQ_OFF_STOPPED_CPUS   148
#define RSQ_OFF_RELEASED       152 /* + 8 * vCPU index */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct rsq_state {
    uint32_t magic;           /* RSQ_STATE_MAGIC, written last by the loader */
    uint32_t version;         /* RSQ_STATE_VERSION */
    uint32_t state;           /* RSQ_LOADING ... RSQ_REFUSED */
    uint32_t reserved0;
    uint64_t stop_frame;      /* hold each vCPU for good at its doorbell of this number; 0 = never */
    uint64_t period_ns;       /* pacing period (from hz=); 0 = free-running */
    uint64_t tick;            /* timer ticks since the guest started (the timer interrupt counts) */
    uint64_t reserved1;       /* 0 (version 1: vCPU 0's released tick, now released[0]) */
    uint64_t vector;          /* RSQ_CRASHED: exception vector */
    uint64_t error;           /* RSQ_CRASHED: error code (0 when the exception has none) */
    uint64_t rip;             /* RSQ_CRASHED: faulting RIP */
    uint64_t cr2;             /* RSQ_CRASHED: CR2 (the address of a page fault) */
    uint64_t entry;           /* the image's entry point (the loader hands it to the CPL-0 part) */
    uint64_t stack;           /* vCPU 0's stack pointer at entry */
    uint64_t framebuffer_bar; /* physical address of the VGA BAR0 the framebuffer is mapped onto */
    uint64_t framebuffer_bar_size;
    uint32_t width;           /* the mode the loader set */
    uint32_t height;
    uint32_t pitch;
    uint32_t boot_info_version; /* the version of the boot info the loader wrote */
    uint64_t ram_size;        /* RAM the loader was told (ram=) */
    uint64_t heap_end;        /* end of the RAM region the heap lies in */
    uint32_t cpu_count;       /* vCPUs the guest runs on (cpus=), 1 or 2 */
    uint32_t stopped_cpus;    /* vCPUs held for good at stop_frame; RSQ_STOPPED when all are */
    uint64_t released[RSQ_MAX_CPUS]; /* per vCPU: the tick at which its last doorbell was released */
};

_Static_assert(__builtin_offsetof(struct rsq_state, state) == RSQ_OFF_STATE, "state");
_Static_assert(__builtin_offsetof(struct rsq_state, stop_frame) == RSQ_OFF_STOP_FRAME, "stop_frame");
_Static_assert(__builtin_offsetof(struct rsq_state, period_ns) == RSQ_OFF_PERIOD_NS, "period_ns");
_Static_assert(__builtin_offsetof(struct rsq_state, tick) == RSQ_OFF_TICK, "tick");
_Static_assert(__builtin_offsetof(struct rsq_state, vector) == RSQ_OFF_VECTOR, "vector");
_Static_assert(__builtin_offsetof(struct rsq_state, error) == RSQ_OFF_ERROR, "error");
_Static_assert(__builtin_offsetof(struct rsq_state, rip) == RSQ_OFF_RIP, "rip");
_Static_assert(__builtin_offsetof(struct rsq_state, cr2) == RSQ_OFF_CR2, "cr2");
_Static_assert(__builtin_offsetof(struct rsq_state, entry) == RSQ_OFF_ENTRY, "entry");
_Static_assert(__builtin_offsetof(struct rsq_state, stack) == RSQ_OFF_STACK, "stack");
_Static_assert(__builtin_offsetof(struct rsq_state, cpu_count) == RSQ_OFF_CPU_COUNT, "cpu_count");
_Static_assert(__builtin_offsetof(struct rsq_state, stopped_cpus) == RSQ_OFF_STOPPED_CPUS, "stopped_cpus");
_Static_assert(__builtin_offsetof(struct rsq_state, released) == RSQ_OFF_RELEASED, "released");
_Static_assert(sizeof(struct rsq_state) <= 4096, "the state fits one page");
#endif

#endif
