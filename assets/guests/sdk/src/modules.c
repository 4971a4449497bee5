/* Boot modules (ABI version 3): the list at boot->modules_gpa, module_count entries. */
#include <string.h>
#include "internal.h"

#ifdef RS_SDK_LOCAL_MODULES
/* Version 3's boot-info fields after the version-2 block (abi-v3-spec.md). */
struct boot_info_v3 { struct rs_boot_info v2; uint64_t modules_gpa; uint32_t module_count; uint32_t reserved1; };
#define MODULES_GPA(b) (((const struct boot_info_v3 *)(b))->modules_gpa)
#define MODULE_COUNT(b) (((const struct boot_info_v3 *)(b))->module_count)
#else
#define MODULES_GPA(b) ((b)->modules_gpa)
#define MODULE_COUNT(b) ((b)->module_count)
#endif

uint32_t rs_module_count(void) {
    if (rs_boot->version < 3) return 0;
    uint32_t n = MODULE_COUNT(rs_boot);
    return n > RS_MAX_MODULES ? RS_MAX_MODULES : n;
}

const struct rs_module *rs_module_at(uint32_t index) {
    if (index >= rs_module_count()) return NULL;
    return (const struct rs_module *)(uintptr_t)MODULES_GPA(rs_boot) + index;
}

static const struct rs_module *find_exact(const char *name) {
    for (uint32_t i = 0; i < rs_module_count(); i++) {
        const struct rs_module *m = rs_module_at(i);
        if (strncmp(m->name, name, RS_MODULE_NAME_BYTES) == 0) return m;
    }
    return NULL;
}

const struct rs_module *rs_module_find(const char *name) {
    const struct rs_module *m = find_exact(name);
    if (m) return m;
    const char *slash = strrchr(name, '/');
    return slash && slash[1] ? find_exact(slash + 1) : NULL;
}
