/*
 * malloc over the heap the boot info describes (heap_gpa, heap_size: all RAM after the image
 * and its modules). A free list in address order with first fit from a roving start and
 * coalescing on free (Kernighan & Ritchie, 8.7), in 16-byte units so every block is 16-byte
 * aligned. An allocated block's list pointer holds a marker, so free() of anything else is
 * reported instead of corrupting the list.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

extern const char rs_program_name[];

typedef struct block {
    struct block *next; /* the next free block (address order, circular); ALLOCATED when in use */
    size_t units;       /* 16-byte units, this header included */
} block;

_Static_assert(sizeof(block) == 16, "a header is one unit");
#define ALLOCATED ((block *)(uintptr_t)0xA110CA7EDB10C000ULL)

static block base;          /* a zero-size block that keeps the list non-empty */
static block *rover = NULL; /* where the next search starts */

void rs_heap_init(uint64_t gpa, uint64_t size) {
    uintptr_t start = ((uintptr_t)gpa + 15) & ~(uintptr_t)15;
    size_t units = (size_t)((gpa + size - start) / 16);
    base.units = 0;
    if (units < 2) { base.next = &base; rover = &base; return; }
    block *all = (block *)start;
    all->units = units;
    all->next = &base;
    base.next = all;
    rover = &base;
}

static size_t units_for(size_t size) {
    if (size > SIZE_MAX - 31) return 0;
    return (size + 15) / 16 + 1;
}

void *malloc(size_t size) {
    size_t units = units_for(size ? size : 1);
    if (!units || !rover) { errno = ENOMEM; return NULL; }
    block *prev = rover;
    for (block *b = prev->next;; prev = b, b = b->next) {
        if (b->units >= units) {
            if (b->units == units) {
                prev->next = b->next;
            } else {
                b->units -= units; /* hand out the tail: the free block stays where it is */
                b = b + b->units;
                b->units = units;
            }
            rover = prev;
            b->next = ALLOCATED;
            return b + 1;
        }
        if (b == rover) { errno = ENOMEM; return NULL; }
    }
}

static block *header_of(void *ptr, const char *caller) {
    block *b = (block *)ptr - 1;
    if (((uintptr_t)ptr & 15) || b->next != ALLOCATED) {
        fprintf(stderr, "%s: %s(%p): not a block from malloc (or freed twice)\n", rs_program_name, caller, ptr);
        abort();
    }
    return b;
}

void free(void *ptr) {
    if (!ptr) return;
    block *b = header_of(ptr, "free");
    block *p = rover;
    /* find p with p < b < p->next, or the wrap-around point of the circular list */
    while (!(b > p && b < p->next)) {
        if (p >= p->next && (b > p || b < p->next)) break;
        p = p->next;
    }
    if (b + b->units == p->next) { b->units += p->next->units; b->next = p->next->next; } else { b->next = p->next; }
    if (p != &base && p + p->units == b) { p->units += b->units; p->next = b->next; } else { p->next = b; }
    rover = p;
}

void *calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) { errno = ENOMEM; return NULL; }
    void *p = malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *realloc(void *ptr, size_t size) {
    if (!ptr) return malloc(size);
    if (size == 0) { free(ptr); return NULL; }
    block *b = header_of(ptr, "realloc");
    size_t have = (b->units - 1) * 16;
    if (size <= have) return ptr;
    void *bigger = malloc(size);
    if (!bigger) return NULL;
    memcpy(bigger, ptr, have);
    free(ptr);
    return bigger;
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
    if (alignment <= 16) { *out = malloc(size); return *out ? 0 : ENOMEM; }
    if (size > SIZE_MAX - alignment - 32) return ENOMEM;
    char *raw = malloc(size + alignment + 16);
    if (!raw) return ENOMEM;
    uintptr_t aligned = ((uintptr_t)raw + 16 + alignment - 1) & ~(uintptr_t)(alignment - 1);
    block *b = (block *)raw - 1;
    block *a = (block *)aligned - 1;           /* at least one unit after b: b keeps the gap */
    a->units = b->units - (size_t)(a - b);
    a->next = ALLOCATED;
    b->units = (size_t)(a - b);
    free(raw);
    *out = (void *)aligned;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    void *p = NULL;
    int error = posix_memalign(&p, alignment, size);
    if (error) { errno = error; return NULL; }
    return p;
}
