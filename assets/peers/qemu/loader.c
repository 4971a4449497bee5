/*
 * The CPL-3 loader of the Ringside boot stub for QEMU (README.md here). entry.S drops
 * here in long mode at CPL 3 with interrupts off. The loader reads its options from the
 * multiboot command line, maps RAM and QEMU's VGA framebuffer the way Ringside does,
 * sets the mode through DISPI, has image.c place the guest image and its boot modules
 * (the multiboot modules) and writes what a Ringside guest finds at boot
 * (assets/guests/README.md) for the guest ABI version it is told, all from the one ABI
 * header. Then it starts the timer, closes every port the guest may not use, and asks the
 * CPL-0 part to enter the guest. It runs natively on PVM hosts: CPL 3 is not emulated.
 */
#include "loader.h"

/* entry.S */
extern uint64_t pdpt[512];
extern uint64_t pd_ram[RSQ_RAM_PAGE_DIRS][512];
extern uint64_t pd_framebuffer[512];
extern uint8_t tss[], iomap[], iomap_end[], tss1[], kernel_stack1_top[];
extern uint64_t gdt_tss1[2];
extern const uint8_t ap_trampoline[], ap_trampoline_end[];
__attribute__((noreturn)) void start_guest(uint64_t boot_info);

#define GIB (1ULL << 30)
#define LARGE_PAGE 0x200000ULL
#define PAGE_USER_2M 0x87ULL /* present, writable, user, 2 MiB */
#define TABLE_USER 7ULL      /* present, writable, user */
#define PIT_HZ 1193182ULL

struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

static struct rsq_state *const state = (struct rsq_state *)RSQ_GPA_STATE;

/* MARK: ports (open in the I/O bitmap while the loader runs) */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory"); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory"); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory"); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }

void *copy(void *dst, const void *src, uint64_t n) {
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}
void fill(void *dst, uint8_t value, uint64_t n) {
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(value) : "memory");
}
void *memcpy(void *dst, const void *src, size_t n) { return copy(dst, src, n); }
void *memset(void *dst, int c, size_t n) { fill(dst, (uint8_t)c, n); return dst; }

/* MARK: console and refusal */

void put(const char *s) { while (*s) outb(RS_PORT_CONSOLE, (uint8_t)*s++); }
void put_number(uint64_t v) {
    char digits[21];
    int i = 20;
    digits[i] = 0;
    do { digits[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    put(digits + i);
}
void put_hex(uint64_t v) {
    char digits[19];
    int i = 18;
    digits[i] = 0;
    do { digits[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    digits[--i] = 'x';
    digits[--i] = '0';
    put(digits + i);
}

/* Ends a refusal line started with put("ringside-stub: ...") and stops QEMU (exit port 0). */
__attribute__((noreturn)) void refuse(void) {
    put("\n");
    state->state = RSQ_REFUSED;
    state->magic = RSQ_STATE_MAGIC;
    for (;;) outl(RS_PORT_EXIT, 0);
}

/* MARK: command line: "... ringside-stub key=value ... -- guest arguments" */

uint64_t length(const char *s) {
    uint64_t n = 0;
    while (s[n]) n++;
    return n;
}

int starts_with(const char *s, const char *prefix) {
    while (*prefix) if (*s++ != *prefix++) return 0;
    return 1;
}

static const char *parse_number(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    *out = v;
    return s;
}

static void parse_options(const char *line, struct machine *m) {
    const char *p = line;
    while (*p && !starts_with(p, "ringside-stub ")) p++;
    if (!*p) { put("ringside-stub: no 'ringside-stub' options on the command line (QEMU -append)"); refuse(); }
    p += 14;
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) return;
        if (starts_with(p, "--")) {
            p += 2;
            if (*p == ' ') p++;
            m->args = p;
            m->args_length = (uint32_t)length(p);
            return;
        }
        static const char *const keys[] = { "pit=", "frames=", "width=", "height=", "ram=", "abi=", "cpus=" };
        uint64_t v = 0;
        unsigned k = 0;
        while (k < 7 && !starts_with(p, keys[k])) k++;
        const char *end = k < 7 ? parse_number(p + length(keys[k]), &v) : 0;
        if (!end || (*end && *end != ' ')) { put("ringside-stub: bad option on the command line: "); put(p); refuse(); }
        switch (k) {
        case 0: m->pit_divisor = (uint32_t)v; break;
        case 1: m->stop_frame = v; break;
        case 2: m->width = (uint32_t)v; break;
        case 3: m->height = (uint32_t)v; break;
        case 4: m->ram_size = v; break;
        case 5: m->abi_version = (uint32_t)v; break;
        case 6: m->cpus = (uint32_t)v; break;
        }
        p = end;
    }
}

/* MARK: memory */

/* RAM regions from QEMU's e820 map: the one holding the image, and the highest end. */
static void find_ram(const struct mb_info *mbi, struct machine *m) {
    if (!(mbi->flags & (1u << 6))) { put("ringside-stub: the multiboot info has no memory map"); refuse(); }
    uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
    while (p < end) {
        const struct mb_mmap *e = (const struct mb_mmap *)p;
        if (e->type == 1) {
            if (e->addr <= RS_IMAGE_BASE && e->addr + e->len > RS_IMAGE_BASE) m->ram_low_end = e->addr + e->len;
            if (e->addr + e->len > m->ram_top) m->ram_top = e->addr + e->len;
        }
        p += e->size + 4;
    }
    if (m->ram_low_end == 0) { put("ringside-stub: no RAM at the image base 0x200000"); refuse(); }
}

/*
 * Identity-maps RAM above the first GiB (entry.S maps the first) with user 2 MiB pages, and
 * at least the 4th GiB too, where the local APIC's registers are (start_timer).
 */
static void map_ram(const struct machine *m) {
    uint64_t gibs = (m->ram_top + GIB - 1) / GIB;
    if (gibs < 4) gibs = 4;
    if (gibs > 1 + RSQ_RAM_PAGE_DIRS) { put("ringside-stub: more RAM than the stub maps (at most 32 GiB)"); refuse(); }
    for (uint64_t g = 1; g < gibs; g++) {
        for (uint64_t i = 0; i < 512; i++) pd_ram[g - 1][i] = (g * GIB + i * LARGE_PAGE) | PAGE_USER_2M;
        pdpt[g] = (uint64_t)(uintptr_t)pd_ram[g - 1] | TABLE_USER;
    }
}

/* Maps RS_GPA_FRAMEBUFFER onto the VGA BAR, so images draw there unmodified. */
static void map_framebuffer(const struct machine *m) {
    uint64_t pages = m->bar_size / LARGE_PAGE;
    if (pages > 512) pages = 512;
    for (uint64_t i = 0; i < pages; i++) pd_framebuffer[i] = (m->bar + i * LARGE_PAGE) | PAGE_USER_2M;
    pdpt[(RS_GPA_FRAMEBUFFER / GIB) & 511] = (uint64_t)(uintptr_t)pd_framebuffer | TABLE_USER;
}

/* MARK: the VGA device (QEMU -vga std: PCI 1234:1111, linear framebuffer at BAR0) */

static uint32_t pci_read(uint32_t device, uint32_t reg) {
    outl(0xCF8, 0x80000000u | device << 11 | reg);
    return inl(0xCFC);
}
static void pci_write(uint32_t device, uint32_t reg, uint32_t v) {
    outl(0xCF8, 0x80000000u | device << 11 | reg);
    outl(0xCFC, v);
}

static void find_vga(struct machine *m) {
    for (uint32_t d = 0; d < 32; d++) {
        if (pci_read(d, 0) != 0x11111234u) continue;
        uint32_t bar = pci_read(d, 0x10);
        pci_write(d, 0x10, 0xFFFFFFFFu);
        uint32_t mask = pci_read(d, 0x10) & ~0xFu;
        pci_write(d, 0x10, bar);
        pci_write(d, 0x04, pci_read(d, 0x04) | 2); /* memory decoding on */
        m->bar_size = (uint64_t)(~mask) + 1;
        if ((bar & 7) != 0 || m->bar_size < LARGE_PAGE || m->bar_size > (1ULL << 29)) {
            put("ringside-stub: the VGA's BAR0 is not a 32-bit memory BAR of 2 to 512 MiB: "); put_hex(bar); refuse();
        }
        if ((bar & ~0xFu) == 0) { /* qboot leaves BARs unassigned: put it below the I/O APIC, as SeaBIOS would */
            bar = (uint32_t)((0xFE000000ULL - m->bar_size) & ~(m->bar_size - 1)) | (bar & 0xFu);
            pci_write(d, 0x10, bar);
        }
        m->bar = bar & ~0xFu;
        return;
    }
    put("ringside-stub: no QEMU standard VGA (PCI 1234:1111): run QEMU with -vga std");
    refuse();
}

static void dispi_write(uint16_t index, uint16_t value) { outw(RS_PORT_DISPI_INDEX, index); outw(RS_PORT_DISPI_DATA, value); }
static uint16_t dispi_read(uint16_t index) { outw(RS_PORT_DISPI_INDEX, index); return inw(RS_PORT_DISPI_DATA); }

/* Sets width x height x 32 the way Linux's bochs driver does; refuses what QEMU did not take. */
static void set_mode(struct machine *m) {
    uint16_t id = dispi_read(RS_DISPI_INDEX_ID);
    if (id < 0xB0C0 || id > RS_DISPI_ID5) { put("ringside-stub: no Bochs DISPI registers at port 0x1CE (id "); put_hex(id); put(")"); refuse(); }
    dispi_write(RS_DISPI_INDEX_ENABLE, RS_DISPI_DISABLED);
    dispi_write(RS_DISPI_INDEX_BPP, 32);
    dispi_write(RS_DISPI_INDEX_XRES, (uint16_t)m->width);
    dispi_write(RS_DISPI_INDEX_YRES, (uint16_t)m->height);
    dispi_write(RS_DISPI_INDEX_VIRT_WIDTH, (uint16_t)m->width);
    dispi_write(RS_DISPI_INDEX_ENABLE, RS_DISPI_ENABLED | RS_DISPI_LFB_ENABLED);
    /* Unblank as Linux's bochs driver does: reset the attribute flip-flop, then set the
       attribute index's palette-address-source bit, without which QEMU shows nothing. */
    (void)inb(0x3DA);
    outb(0x3C0, 0x20);
    m->pitch = (uint32_t)dispi_read(RS_DISPI_INDEX_VIRT_WIDTH) * 4;
    if (dispi_read(RS_DISPI_INDEX_XRES) != m->width || dispi_read(RS_DISPI_INDEX_YRES) != m->height
        || dispi_read(RS_DISPI_INDEX_BPP) != 32 || (uint64_t)m->pitch * m->height > m->bar_size) {
        put("ringside-stub: QEMU's VGA refused the mode "); put_number(m->width); put("x"); put_number(m->height);
        put(" (more video memory: -global VGA.vgamem_mb=N)");
        refuse();
    }
}

/* MARK: what the guest finds at boot */

/* The bytes of struct rs_boot_info that guest ABI `version` has (the rest of the block is 0). */
static uint64_t boot_info_bytes(uint32_t version) {
    if (version <= 1) return offsetof(struct rs_boot_info, input_queue_gpa);
    if (version == 2) return offsetof(struct rs_boot_info, modules_gpa);
    return sizeof(struct rs_boot_info);
}

/*
 * The boot-info blocks as guest ABI `version`'s document describes them (assets/guests/
 * README.md, "ABI versions and compatibility"): that version number and only that version's
 * fields, as Ringside's BootSetup writes them. The one place that knows the versions.
 */
static void write_boot_info(uint32_t version, const struct machine *m) {
    fill((void *)RS_GPA_BOOT_INFO, 0, 4096);
    for (uint32_t cpu = 0; cpu < m->cpus; cpu++) {
        struct rs_boot_info b;
        fill(&b, 0, sizeof b);
        b.magic = RS_BOOT_INFO_MAGIC;
        b.version = version;
        b.framebuffer_gpa = RS_GPA_FRAMEBUFFER;
        b.framebuffer_size = (uint64_t)m->pitch * m->height;
        b.width = m->width;
        b.height = m->height;
        b.pitch = m->pitch;
        b.format = RS_FORMAT_XRGB8888;
        b.cpu_index = cpu;
        b.cpu_count = m->cpus;
        b.arguments_gpa = RS_GPA_ARGUMENTS;
        b.arguments_length = m->args_length;
        b.counters_gpa = RS_GPA_COUNTERS;
        b.ram_size = m->ram_size;
        b.heap_gpa = m->heap;
        b.heap_size = m->ram_low_end - m->heap;
        b.input_queue_gpa = RS_GPA_INPUT_QUEUE;
        b.modules_gpa = RS_GPA_MODULES;
        b.module_count = m->module_count;
        copy((void *)(RS_GPA_BOOT_INFO + cpu * RS_BOOT_INFO_STRIDE), &b, boot_info_bytes(version));
    }
}

static void write_guest_pages(struct machine *m) {
    fill((void *)RS_GPA_COUNTERS, 0, 4096);
    if (m->args_length > RS_MAX_ARGUMENT_BYTES) m->args_length = RS_MAX_ARGUMENT_BYTES;
    fill((void *)RS_GPA_ARGUMENTS, 0, 4096);
    copy((void *)RS_GPA_ARGUMENTS, m->args, m->args_length);
    struct rs_input_queue *q = (struct rs_input_queue *)RS_GPA_INPUT_QUEUE;
    fill(q, 0, 4096);
    q->magic = RS_INPUT_QUEUE_MAGIC;
    q->capacity = RS_INPUT_QUEUE_EVENTS;
    write_boot_info(m->abi_version, m);
}

/* MARK: timer and ports */

/* PIC vectors 0x20/0x28, only IRQ 0 (the PIT) unmasked when pacing; PIT channel 0 at pit=. */
static void start_timer(const struct machine *m) {
    static const uint8_t init[][2] = {
        { 0x20, 0x11 }, { 0xA0, 0x11 }, { 0x21, 0x20 }, { 0xA1, 0x28 },
        { 0x21, 4 }, { 0xA1, 2 }, { 0x21, 1 }, { 0xA1, 1 }, { 0xA1, 0xFF },
    };
    for (unsigned i = 0; i < sizeof init / sizeof init[0]; i++) outb(init[i][0], init[i][1]);
    if (m->pit_divisor == 0) { outb(0x21, 0xFF); return; }
    /* The PIC reaches the CPU through the local APIC's LINT0 only as ExtINT (KVM's rule);
       the APIC must be software-enabled first or the LVT write stays masked. */
    volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)0xFEE00000u;
    apic[0xF0 / 4] = 0x1FF;  /* spurious-interrupt vector register: enabled, vector 0xFF */
    apic[0x350 / 4] = 0x700; /* LVT LINT0: ExtINT, unmasked */
    outb(0x43, 0x34); /* channel 0, low then high byte, rate generator */
    outb(0x40, (uint8_t)m->pit_divisor);
    outb(0x40, (uint8_t)(m->pit_divisor >> 8));
    outb(0x21, 0xFE);
}

static void open_port(uint16_t port) { iomap[port / 8] &= (uint8_t)~(1u << (port % 8)); }

/* From here on the guest reaches only its ports (assets/guests/README.md, "Ports"). */
static void guest_ports(void) {
    fill(iomap, 0xFF, (uint64_t)(iomap_end - iomap));
    open_port(RS_PORT_CONSOLE);
    for (uint16_t p = RS_PORT_EXIT; p < RS_PORT_EXIT + 4; p++) open_port(p); /* dword writes */
    open_port(RS_PORT_YIELD);
    for (uint16_t p = RS_PORT_DISPI_INDEX; p < RS_PORT_DISPI_DATA + 4; p++) open_port(p);
}

/*
 * cpus=2: vCPU 1 gets a TSS of its own (the busy bit forbids sharing one; the same I/O bitmap,
 * its own CPL-0 stack) and starts at the trampoline by INIT-SIPI-SIPI from this vCPU's local
 * APIC (mapped at CPL 3 with the 4th GiB); it enters the guest by itself (entry.S).
 */
static void start_second_vcpu(void) {
    uint64_t size = (uint64_t)(iomap_end - tss) + 1, base = (uint64_t)(uintptr_t)tss1, limit = size - 1;
    copy(tss1, tss, size);
    uint64_t rsp0 = (uint64_t)(uintptr_t)kernel_stack1_top;
    copy(tss1 + 4, &rsp0, 8);
    gdt_tss1[0] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ULL << 40 | ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
    gdt_tss1[1] = base >> 32;
    copy((void *)RSQ_AP_TRAMPOLINE, ap_trampoline, (uint64_t)(ap_trampoline_end - ap_trampoline));
    volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)0xFEE00000u;
    apic[0xF0 / 4] = 0x1FF;   /* this APIC on, to send */
    static const uint32_t icr[] = { 0x4500, 0x4600 | (RSQ_AP_TRAMPOLINE >> 12), 0x4600 | (RSQ_AP_TRAMPOLINE >> 12) }; /* INIT, SIPI, SIPI */
    for (unsigned i = 0; i < 3; i++) {
        apic[0x310 / 4] = 1u << 24; /* APIC ID 1 */
        apic[0x300 / 4] = icr[i];
        while (apic[0x300 / 4] & (1u << 12)) { } /* delivered */
    }
}

__attribute__((noreturn)) void loader_main(uint32_t mbi_address) {
    const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)mbi_address;
    struct machine m = { .width = 1280, .height = 800, .ram_size = 256ULL << 20, .abi_version = RS_BOOT_INFO_VERSION, .cpus = 1 };
    fill(state, 0, 4096); /* RSQ_LOADING */
    state->version = RSQ_STATE_VERSION;
    if (!(mbi->flags & (1u << 2))) { put("ringside-stub: no command line"); refuse(); }
    parse_options((const char *)(uintptr_t)mbi->cmdline, &m);
    if (m.abi_version < RS_ABI_VERSION_MIN || m.abi_version > RS_BOOT_INFO_VERSION) {
        put("ringside-stub: abi="); put_number(m.abi_version); put(" is not a guest ABI version this stub boots (");
        put_number(RS_ABI_VERSION_MIN); put(" to "); put_number(RS_BOOT_INFO_VERSION); put(")"); refuse();
    }
    if (m.cpus < 1 || m.cpus > RSQ_MAX_CPUS) { put("ringside-stub: cpus="); put_number(m.cpus); put(" is not 1 or 2"); refuse(); }
    find_ram(mbi, &m);
    map_ram(&m);
    find_vga(&m);
    map_framebuffer(&m);
    set_mode(&m);
    load_guest(mbi, &m); /* after everything that reads the multiboot info */
    write_guest_pages(&m);
    state->stop_frame = m.stop_frame;
    state->period_ns = m.pit_divisor ? m.pit_divisor * 1000000000ULL / PIT_HZ : 0;
    state->framebuffer_bar = m.bar;
    state->framebuffer_bar_size = m.bar_size;
    state->width = m.width;
    state->height = m.height;
    state->pitch = m.pitch;
    state->boot_info_version = m.abi_version;
    state->ram_size = m.ram_size;
    state->heap_end = m.ram_low_end;
    state->entry = m.entry;
    state->stack = RS_GPA_STACKS_TOP - 8;
    state->cpu_count = m.cpus;
    start_timer(&m);
    guest_ports();
    if (m.cpus == 2) start_second_vcpu(); /* after the ports are closed: its TSS copies the bitmap */
    state->magic = RSQ_STATE_MAGIC;
    start_guest(RS_GPA_BOOT_INFO);
}
