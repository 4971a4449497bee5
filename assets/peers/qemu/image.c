/*
 * The guest image and its boot modules in guest RAM, as assets/guests/README.md says
 * ("Image loading", "Boot modules"): the image's PT_LOAD segments at their addresses, then
 * each module 4 KiB aligned after the image in order, the heap after the last one, and the
 * module table at RS_GPA_MODULES.
 *
 * QEMU's multiboot loader hands them over as modules (-initrd IMAGE,MODULE NAME,...), one
 * after another from the first page after the stub (below 2 MiB), each page aligned, each
 * module's command line "FILE NAME". So the files lie where the layout wants to put things:
 * the modules move as a block (each by the same distance, copied from the far end first when
 * moving up), an image file that reaches into the layout is copied past everything first,
 * and what the files left behind is zeroed, so every byte outside the segments and modules
 * is zero as in Ringside's fresh RAM.
 */
#include "loader.h"

/* ELF64, only what Ringside reads (assets/guests/README.md, "Image loading"). */
struct elf_header {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_program_header {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define PT_LOAD 1
#define PAGE 0x1000ULL

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* memmove in pieces no longer than the distance, so each piece is a plain forward copy. */
static void move(uint64_t dst, uint64_t src, uint64_t n) {
    if (dst == src || n == 0) return;
    uint64_t step = dst > src ? dst - src : src - dst;
    if (dst > src) {  /* from the end */
        while (n) { uint64_t k = n < step ? n : step; n -= k; copy((void *)(dst + n), (const void *)(src + n), k); }
    } else {
        for (uint64_t done = 0; done < n;) { uint64_t k = n - done < step ? n - done : step; copy((void *)(dst + done), (const void *)(src + done), k); done += k; }
    }
}

static const struct elf_program_header *program_headers(const uint8_t *file, uint64_t size) {
    const struct elf_header *h = (const struct elf_header *)file;
    if (size < sizeof *h || !starts_with((const char *)h->ident, "\x7f" "ELF") || h->ident[4] != 2 || h->ident[5] != 1
        || h->type != 2 || h->machine != 62 || h->phentsize != sizeof(struct elf_program_header)
        || h->phoff > size || (uint64_t)h->phnum * sizeof(struct elf_program_header) > size - h->phoff) {
        put("ringside-stub: the image is not a static ELF64 x86-64 executable"); refuse();
    }
    return (const struct elf_program_header *)(file + h->phoff);
}

/* Checks the image's segments and entry where QEMU put the file; sets image_end and entry. */
static void check_image(const uint8_t *file, uint64_t size, struct machine *m) {
    const struct elf_header *h = (const struct elf_header *)file;
    const struct elf_program_header *ph = program_headers(file, size);
    int entry_ok = 0;
    m->image_end = RS_IMAGE_BASE;
    for (uint32_t i = 0; i < h->phnum; i++) {
        const struct elf_program_header *s = &ph[i];
        if (s->type != PT_LOAD || s->memsz == 0) continue; /* as Ringside: an empty segment places nothing */
        if (s->vaddr != s->paddr || s->paddr < RS_IMAGE_BASE || s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset
            || s->memsz > m->ram_low_end || s->paddr > m->ram_low_end - s->memsz) {
            put("ringside-stub: PT_LOAD segment "); put_number(i); put(" at "); put_hex(s->paddr);
            put(" does not fit the guest layout (p_vaddr == p_paddr, at or above 0x200000, inside RAM)");
            refuse();
        }
        m->image_end = max64(m->image_end, s->paddr + s->memsz);
        if ((s->flags & 1) && h->entry >= s->paddr && h->entry < s->paddr + s->memsz) entry_ok = 1;
    }
    if (!entry_ok) { put("ringside-stub: the entry point "); put_hex(h->entry); put(" is not in an executable segment"); refuse(); }
    m->entry = h->entry;
}

static void copy_segments(const uint8_t *file, uint64_t size) {
    const struct elf_header *h = (const struct elf_header *)file;
    const struct elf_program_header *ph = program_headers(file, size);
    for (uint32_t i = 0; i < h->phnum; i++) {
        const struct elf_program_header *s = &ph[i];
        if (s->type == PT_LOAD && s->memsz != 0) copy((void *)(uintptr_t)s->paddr, file + s->offset, s->filesz);
    }
}

/* Module i's name: what follows the first space of its command line ("FILE NAME"). */
static void module_name(const struct mb_module *mod, uint32_t i, char name[RS_MODULE_NAME_BYTES]) {
    const char *s = (const char *)(uintptr_t)mod->cmdline;
    if (s) while (*s && *s != ' ') s++;
    if (!s || !*s || !s[1]) { put("ringside-stub: boot module "); put_number(i); put(" has no name (QEMU -initrd 'FILE NAME')"); refuse(); }
    s++;
    uint64_t n = length(s);
    if (n >= RS_MODULE_NAME_BYTES) { put("ringside-stub: boot module name too long: "); put(s); refuse(); }
    copy(name, s, n);
}

/* The module table and where each module and the heap go (nothing is copied yet). */
static void plan_modules(const struct mb_module *mods, uint32_t count, struct machine *m) {
    struct rs_module *table = (struct rs_module *)RS_GPA_MODULES;
    fill(table, 0, PAGE);
    uint64_t next = page_up(m->image_end);
    for (uint32_t i = 0; i < count; i++) {
        const struct mb_module *mod = &mods[i + 1];
        table[i].gpa = next;
        table[i].size = mod->end - mod->start;
        module_name(mod, i + 1, table[i].name);
        next = page_up(next + table[i].size);
    }
    m->module_count = count;
    m->heap = next;
}

static void refuse_ram(const char *what, uint64_t needs, const struct machine *m) {
    put("ringside-stub: "); put(what); put(" need RAM up to "); put_number(needs >> 20);
    put(" MiB, but the RAM holding the image ends at "); put_number(m->ram_low_end >> 20); put(" MiB (raise --memory)");
    refuse();
}

void load_guest(const struct mb_info *mbi, struct machine *m) {
    if (!(mbi->flags & (1u << 3)) || mbi->mods_count < 1) { put("ringside-stub: no guest image (QEMU -initrd IMAGE)"); refuse(); }
    const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
    uint32_t count = mbi->mods_count - 1;
    if (count > RS_MAX_MODULES) { put("ringside-stub: more than 64 boot modules"); refuse(); }
    if (count > 0 && m->abi_version < 3) {
        put("ringside-stub: boot modules need guest ABI version 3; the image boots as version "); put_number(m->abi_version); refuse();
    }
    for (uint32_t i = 0; i <= count; i++) {
        if (mods[i].end < mods[i].start || (i > 0 && mods[i].start < page_up(mods[i - 1].end)) || (mods[i].start & (PAGE - 1))) {
            put("ringside-stub: QEMU's multiboot modules are not one after another, page aligned"); refuse();
        }
    }
    uint64_t first = mods[0].start, image_size = mods[0].end - mods[0].start, last = mods[count].end;
    check_image((const uint8_t *)(uintptr_t)first, image_size, m);
    plan_modules(mods, count, m);
    if (m->heap > m->ram_low_end) refuse_ram("the image and its modules", m->heap, m);

    /* An image file reaching into the layout is read from a copy past everything. */
    uint64_t image = first, scratch = 0;
    if (first + image_size > RS_IMAGE_BASE) {
        scratch = page_up(max64(m->heap, last));
        if (scratch + image_size > m->ram_low_end) refuse_ram("the image, its modules and a copy of the image file", scratch + image_size, m);
        copy((void *)scratch, (const void *)first, image_size);
        image = scratch;
    }
    /* Every module moves by the same distance: the far one first when moving up. */
    const struct rs_module *table = (const struct rs_module *)RS_GPA_MODULES;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = count && table[0].gpa > mods[1].start ? count - 1 - k : k;
        move(table[i].gpa, mods[i + 1].start, table[i].size);
        fill((void *)(table[i].gpa + table[i].size), 0, page_up(table[i].size) - table[i].size);
    }
    /* The image's pages (its gaps and the tail of its last page too), then its segments. */
    fill((void *)RS_IMAGE_BASE, 0, page_up(m->image_end) - RS_IMAGE_BASE);
    copy_segments((const uint8_t *)image, image_size);
    /* What the files left behind: below the image, past the heap, the copy. */
    if (first < RS_IMAGE_BASE) fill((void *)first, 0, RS_IMAGE_BASE - first);
    if (last > m->heap) fill((void *)m->heap, 0, last - m->heap);
    if (scratch) fill((void *)scratch, 0, image_size);
}
