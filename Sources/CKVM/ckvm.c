#include "ckvm.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

static int result(int r) { return r < 0 ? -errno : r; }

int ckvm_get_api_version(int fd) { return result(ioctl(fd, KVM_GET_API_VERSION, 0)); }
int ckvm_create_vm(int fd) { return result(ioctl(fd, KVM_CREATE_VM, 0)); }
int ckvm_check_extension(int fd, long cap) { return result(ioctl(fd, KVM_CHECK_EXTENSION, cap)); }
int ckvm_get_vcpu_mmap_size(int fd) { return result(ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0)); }

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
