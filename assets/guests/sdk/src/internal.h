/* Shared by the SDK's sources; not installed for programs. */
#ifndef RS_SDK_INTERNAL_H
#define RS_SDK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <ringside.h>

/* start.c */
extern const struct rs_boot_info *rs_boot;
/* malloc.c: takes the heap the boot info describes. */
void rs_heap_init(uint64_t gpa, uint64_t size);
/* stdio: the console FILE objects flush at exit. */
void rs_stdio_flush_all(void);
/* printf.c: the formatting core behind every printf, writing through `put`. */
typedef void (*rs_put_fn)(void *context, const char *bytes, size_t count);
int rs_format(rs_put_fn put, void *context, const char *format, __builtin_va_list args);

#endif
