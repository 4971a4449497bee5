#include "ckvm.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static int result(int r) { return r < 0 ? -errno : r; }

int ckvm_get_api_version(int fd) { return result(ioctl(fd, KVM_GET_API_VERSION, 0)); }
int ckvm_create_vm(int fd) { return result(ioctl(fd, KVM_CREATE_VM, 0)); }
int ckvm_check_extension(int fd, long cap) { return result(ioctl(fd, KVM_CHECK_EXTENSION, cap)); }
int ckvm_get_vcpu_mmap_size(int fd) { return result(ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0)); }

int ckvm_get_msr_index_list(int fd, uint32_t *indices, uint32_t capacity) {
    struct kvm_msr_list *l = calloc(1, sizeof(*l) + (size_t)capacity * sizeof(uint32_t));
    if (!l) return -ENOMEM;
    l->nmsrs = capacity;
    int r = result(ioctl(fd, KVM_GET_MSR_INDEX_LIST, l));
    if (r >= 0) {
        memcpy(indices, l->indices, (size_t)l->nmsrs * sizeof(uint32_t));
        r = (int)l->nmsrs;
    }
    free(l);
    return r;
}

int ckvm_enable_cap(int fd, uint32_t cap, uint64_t arg0) {
    struct kvm_enable_cap c = {.cap = cap};
    c.args[0] = arg0;
    return result(ioctl(fd, KVM_ENABLE_CAP, &c));
}

int ckvm_set_user_memory_region(int fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t host) {
    struct kvm_userspace_memory_region r = {
        .slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = host};
    return result(ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r));
}

int ckvm_create_vcpu(int fd, unsigned long index) { return result(ioctl(fd, KVM_CREATE_VCPU, index)); }

int ckvm_get_dirty_log(int fd, uint32_t slot, void *bitmap) {
    struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = bitmap};
    return result(ioctl(fd, KVM_GET_DIRTY_LOG, &log));
}

int ckvm_clear_dirty_log(int fd, uint32_t slot, uint64_t first, uint32_t num, void *bitmap) {
    struct kvm_clear_dirty_log c = {.slot = slot, .first_page = first, .num_pages = num, .dirty_bitmap = bitmap};
    return result(ioctl(fd, KVM_CLEAR_DIRTY_LOG, &c));
}

int ckvm_reset_dirty_rings(int fd) { return result(ioctl(fd, KVM_RESET_DIRTY_RINGS, 0)); }

int ckvm_run(int fd) { return result(ioctl(fd, KVM_RUN, 0)); }
int ckvm_get_regs(int fd, struct kvm_regs *r) { return result(ioctl(fd, KVM_GET_REGS, r)); }
int ckvm_set_regs(int fd, const struct kvm_regs *r) { return result(ioctl(fd, KVM_SET_REGS, r)); }
int ckvm_get_sregs(int fd, struct kvm_sregs *s) { return result(ioctl(fd, KVM_GET_SREGS, s)); }
int ckvm_set_sregs(int fd, const struct kvm_sregs *s) { return result(ioctl(fd, KVM_SET_SREGS, s)); }

int ckvm_get_fpu(int fd, struct kvm_fpu *f) { return result(ioctl(fd, KVM_GET_FPU, f)); }
int ckvm_set_fpu(int fd, const struct kvm_fpu *f) { return result(ioctl(fd, KVM_SET_FPU, f)); }
int ckvm_get_xsave(int fd, void *x) { return result(ioctl(fd, KVM_GET_XSAVE, x)); }
int ckvm_get_xsave2(int fd, void *x) { return result(ioctl(fd, KVM_GET_XSAVE2, x)); }
int ckvm_set_xsave(int fd, const void *x) { return result(ioctl(fd, KVM_SET_XSAVE, x)); }
int ckvm_get_xcrs(int fd, struct kvm_xcrs *x) { return result(ioctl(fd, KVM_GET_XCRS, x)); }
int ckvm_set_xcrs(int fd, const struct kvm_xcrs *x) { return result(ioctl(fd, KVM_SET_XCRS, x)); }
int ckvm_get_vcpu_events(int fd, struct kvm_vcpu_events *e) { return result(ioctl(fd, KVM_GET_VCPU_EVENTS, e)); }
int ckvm_set_vcpu_events(int fd, const struct kvm_vcpu_events *e) { return result(ioctl(fd, KVM_SET_VCPU_EVENTS, e)); }
int ckvm_get_debugregs(int fd, struct kvm_debugregs *d) { return result(ioctl(fd, KVM_GET_DEBUGREGS, d)); }
int ckvm_set_debugregs(int fd, const struct kvm_debugregs *d) { return result(ioctl(fd, KVM_SET_DEBUGREGS, d)); }

int ckvm_get_mp_state(int fd, uint32_t *mp_state) {
    struct kvm_mp_state m = {0};
    int r = result(ioctl(fd, KVM_GET_MP_STATE, &m));
    if (r >= 0) *mp_state = m.mp_state;
    return r;
}

int ckvm_set_mp_state(int fd, uint32_t mp_state) {
    struct kvm_mp_state m = {.mp_state = mp_state};
    return result(ioctl(fd, KVM_SET_MP_STATE, &m));
}

// struct kvm_msrs has a flexible array: copy `count` entries in, and out again into `out` if given.
static int msrs(int fd, unsigned long request, const struct kvm_msr_entry *in, struct kvm_msr_entry *out, uint32_t count) {
    struct kvm_msrs *m = calloc(1, sizeof(*m) + (size_t)count * sizeof(*in));
    if (!m) return -ENOMEM;
    m->nmsrs = count;
    memcpy(m->entries, in, (size_t)count * sizeof(*in));
    int r = result(ioctl(fd, request, m));
    if (r >= 0 && out) memcpy(out, m->entries, (size_t)count * sizeof(*out));
    free(m);
    return r;
}

int ckvm_get_msrs(int fd, struct kvm_msr_entry *entries, uint32_t count) { return msrs(fd, KVM_GET_MSRS, entries, entries, count); }
int ckvm_set_msrs(int fd, const struct kvm_msr_entry *entries, uint32_t count) { return msrs(fd, KVM_SET_MSRS, entries, NULL, count); }

int ckvm_copy_supported_cpuid(int kvm_fd, int vcpu_fd) {
    enum { MAX = 256 };
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX * sizeof(struct kvm_cpuid_entry2));
    if (!c) return -ENOMEM;
    c->nent = MAX;
    int r = result(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c));
    if (r >= 0) r = result(ioctl(vcpu_fd, KVM_SET_CPUID2, c));
    free(c);
    return r;
}
