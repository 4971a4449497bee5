/* Boot modules (ABI version 3): the list at boot->modules_gpa, module_count entries. */
#include <string.h>
#include "internal.h"

uint32_t rs_module_count(void) {
    if (rs_boot->version < 3) return 0;
    uint32_t n = rs_boot->module_count;
    return n > RS_MAX_MODULES ? RS_MAX_MODULES : n;
}

const struct rs_module *rs_module_at(uint32_t index) {
    if (index >= rs_module_count()) return NULL;
    return (const struct rs_module *)(uintptr_t)rs_boot->modules_gpa + index;
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
