/*
 * Ringside guest runtime, C part for port reads (the DISPI mode-setting registers).
 * Built into an archive by build.sh, so only guests that call these link them in.
 */
#include <stdint.h>

uint32_t rs_inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

uint16_t rs_inw(uint16_t port) {
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

void rs_outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

/* Acquire/release on a word the VMM shares (the input queue's head, tail and flags). */
uint32_t rs_dispi_load_acquire(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void rs_dispi_store_release(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
