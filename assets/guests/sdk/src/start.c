/* vCPU 0's start (from crt0.S): checks the boot info, takes the heap, splits the arguments
 * into argv and runs main(argc, argv); its return value is the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

RS_DECLARE_ABI_VERSION(RS_SDK_ABI_VERSION);

int main(int argc, char **argv);

const struct rs_boot_info *rs_boot;

/* The program's name in argv[0] and in the SDK's messages; a program may define its own. */
__attribute__((weak)) const char rs_program_name[] = "guest";

#define MAX_ARGS 64
static char argument_copy[RS_MAX_ARGUMENT_BYTES + 1];
static char *argv_list[MAX_ARGS + 2];

const struct rs_boot_info *rs_boot_info(void) { return rs_boot; }

const char *rs_arguments(void) {
    uint64_t gpa = rs_boot->arguments_gpa;
    return gpa ? (const char *)(uintptr_t)gpa : "";
}

static int split_arguments(void) {
    const char *text = rs_arguments();
    size_t n = strnlen(text, RS_MAX_ARGUMENT_BYTES);
    memcpy(argument_copy, text, n);
    argument_copy[n] = 0;
    int argc = 0;
    argv_list[argc++] = (char *)rs_program_name;
    char *p = argument_copy;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') *p++ = 0;
        if (!*p) break;
        if (argc == MAX_ARGS + 1) {
            fprintf(stderr, "%s: warning: more than %d arguments (the rest ignored)\n", rs_program_name, MAX_ARGS);
            break;
        }
        argv_list[argc++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') p++;
    }
    argv_list[argc] = NULL;
    return argc;
}

static int boot_info_usable(const struct rs_boot_info *b) {
    if (b->magic != RS_BOOT_INFO_MAGIC || b->version < 1 || b->format != RS_FORMAT_XRGB8888) return 0;
    if (b->width == 0 || b->height == 0 || b->pitch < b->width * 4) return 0;
    return b->heap_gpa >= RS_IMAGE_BASE && b->heap_gpa + b->heap_size <= b->ram_size;
}

__attribute__((noreturn)) void rs_start(const struct rs_boot_info *boot) {
    rs_boot = boot;
    if (!boot_info_usable(boot)) {
        static const char msg[] = ": bad boot info (magic, format, geometry or heap)\n";
        rs_console_write(rs_program_name, strlen(rs_program_name));
        rs_console_write(msg, sizeof msg - 1);
        rs_exit(1);
    }
    rs_heap_init(boot->heap_gpa, boot->heap_size);
    int argc = split_arguments();
    exit(main(argc, argv_list));
}

__attribute__((weak)) void rs_secondary_main(const struct rs_boot_info *boot) {
    (void)boot;
    for (uint32_t n = 1;; n++) rs_outl(RS_PORT_DOORBELL, n);
}

__attribute__((noreturn)) void rs_start_secondary(const struct rs_boot_info *boot) {
    rs_secondary_main(boot);
    for (uint32_t n = 1;; n++) rs_outl(RS_PORT_DOORBELL, n); /* it returned: idle like the default */
}
