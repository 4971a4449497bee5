/*
 * Ringside guest runtime, C part: port I/O, the memory functions that Embedded
 * Swift needs, a bump allocator and a console lock. Freestanding; no libc.
 * Every function here is safe to call from several vCPUs at once.
 */
#include <stddef.h>
#include <stdint.h>
#include "ringside_abi.h"

/*
 * The guest ABI version these guests are written for, as an ELF note (link.ld keeps it in a
 * PT_NOTE segment): the VMM writes the boot info as version 4's document describes it. The
 * runtime itself reads only what version 2 has (Guest checks version >= 2); `modules` reads
 * the module table of version 3; the cursor plane (Cursor.swift) is used when version >= 4. A literal, not RS_BOOT_INFO_VERSION: a newer header must not
 * change what these sources declare.
 */
RS_DECLARE_ABI_VERSION(4);

void rs_outb(uint16_t port, uint8_t value) {
    /* "memory" clobber: all framebuffer stores before a doorbell are done first. */
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

void rs_outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

/* Executes ud2 (invalid opcode): with no IDT the vCPU triple-faults. */
__attribute__((noreturn)) void rs_ud2(void) {
    for (;;) __asm__ volatile("ud2");
}

/* Writes one byte to an arbitrary guest address (used by the fault guest). */
void rs_poke(uint64_t address, uint8_t value) {
    *(volatile uint8_t *)(uintptr_t)address = value;
}

/* A compiler barrier that makes the pointed-to memory "used". */
void rs_touch(void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
}

void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *d = dst;
    const void *s = src;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d <= s || d >= s + n) return memcpy(dst, src, n); /* forward copy is safe */
    /* overlapping with dst above src: copy backwards, 8 bytes at a time */
    unsigned char *dp = (unsigned char *)dst + n;
    const unsigned char *sp = (const unsigned char *)src + n;
    while (n >= 8) {
        dp -= 8; sp -= 8; n -= 8;
        uint64_t v;
        __builtin_memcpy(&v, sp, 8);
        __builtin_memcpy(dp, &v, 8);
    }
    while (n--) *--dp = *--sp;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *p = a, *q = b;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/*
 * Allocator: a bump pointer in a static arena inside the image (.bss), shared by
 * all vCPUs (atomic). The boot-info heap is left alone: it lies after the image
 * and belongs to the guest program (pagewriter scribbles over it). free() does nothing.
 */
#define ARENA_SIZE (4u << 20)
static unsigned char arena[ARENA_SIZE] __attribute__((aligned(4096)));
static size_t arena_used;

int posix_memalign(void **out, size_t align, size_t size) {
    if (align < 16) align = 16;
    size_t old = __atomic_load_n(&arena_used, __ATOMIC_RELAXED), start, end;
    do {
        start = (old + align - 1) & ~(align - 1);
        end = start + size;
        if (end > ARENA_SIZE || end < start) {
            static const char msg[] = "guest: out of memory\n";
            for (const char *p = msg; *p; p++) rs_outb(0xE9, (uint8_t)*p);
            rs_ud2();
        }
    } while (!__atomic_compare_exchange_n(&arena_used, &old, end, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    *out = arena + start;
    return 0;
}

void *malloc(size_t size) {
    void *p;
    posix_memalign(&p, 16, size);
    return p;
}

void free(void *p) { (void)p; }

__attribute__((noreturn)) void abort(void) { rs_ud2(); }

/* Console lock: keeps one vCPU's line together on port 0xE9. */
static volatile int console_lock;

void rs_console_lock(void) {
    while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
        while (console_lock) __builtin_ia32_pause();
}

void rs_console_unlock(void) { __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE); }

/*
 * Shared memory for the input reader (runtime/Input.swift): vCPU 0 copies each frame's
 * events out of the VMM's queue into this log, and every vCPU reads them from here, so all
 * vCPUs see the same events at the same frame. Input.swift lays it out; it lives in .bss
 * (zero at boot) and is shared by all vCPUs, like the arena.
 */
static unsigned char input_log[64u << 10] __attribute__((aligned(4096)));

void *rs_input_log(void) { return input_log; }
unsigned long rs_input_log_size(void) { return sizeof input_log; }

/* Ring indices shared with the VMM or another vCPU: acquire loads and release stores. */
uint32_t rs_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void rs_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
uint64_t rs_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void rs_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
void rs_pause(void) { __builtin_ia32_pause(); }
