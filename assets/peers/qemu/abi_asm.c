/*
 * The guest-ABI numbers entry.S needs, taken from ringside_abi.h (which is C, not
 * assembly): build.sh compiles this file to assembly text and turns each "->NAME VALUE"
 * line into `#define NAME VALUE` in abi_asm.h (the Linux kernel's asm-offsets idea), so
 * no number is written twice.
 */
#include <stddef.h>
#include "ringside_abi.h"

#define DEFINE(name, value) __asm__ volatile("\n.ascii \"->" #name " %c0\"" : : "i"((unsigned long long)(value)))

void abi_asm(void) {
    DEFINE(ABI_PORT_DOORBELL, RS_PORT_DOORBELL);
    DEFINE(ABI_COUNTERS_TICK, RS_GPA_COUNTERS + offsetof(struct rs_counters, tick));
    DEFINE(ABI_COUNTERS_UPTIME, RS_GPA_COUNTERS + offsetof(struct rs_counters, uptime_ns));
    DEFINE(ABI_COUNTERS_FRAMES0, RS_GPA_COUNTERS + offsetof(struct rs_counters, frames));
    DEFINE(ABI_BOOT_INFO, RS_GPA_BOOT_INFO);
    DEFINE(ABI_BOOT_INFO_STRIDE, RS_BOOT_INFO_STRIDE);
    DEFINE(ABI_STACKS_TOP, RS_GPA_STACKS_TOP);
    DEFINE(ABI_STACK_SIZE, RS_STACK_SIZE);
}
