// C shim for <linux/kvm.h>: what Swift cannot import directly.
// Fixed-arity ioctl wrappers (ioctl is variadic, KVM_* request numbers are
// function-like macros) and acquire/release atomics on kernel-shared memory.
// Nothing else lives here. Every wrapper returns the ioctl's result or -errno.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <stdint.h>
#include <stddef.h>

// /dev/kvm
int ckvm_get_api_version(int kvm_fd);
int ckvm_create_vm(int kvm_fd);
int ckvm_check_extension(int fd, long cap);
int ckvm_get_vcpu_mmap_size(int kvm_fd);
/// KVM_GET_MSR_INDEX_LIST into `indices` (room for `capacity`): the count, or -E2BIG if it does not fit.
int ckvm_get_msr_index_list(int kvm_fd, uint32_t *indices, uint32_t capacity);

// VM fd
int ckvm_enable_cap(int vm_fd, uint32_t cap, uint64_t arg0);
int ckvm_set_user_memory_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t host_addr);
int ckvm_create_vcpu(int vm_fd, unsigned long index);
int ckvm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap);
int ckvm_clear_dirty_log(int vm_fd, uint32_t slot, uint64_t first_page, uint32_t num_pages, void *bitmap);
int ckvm_reset_dirty_rings(int vm_fd);

// vCPU fd
int ckvm_run(int vcpu_fd);
int ckvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int ckvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int ckvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int ckvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int ckvm_get_fpu(int vcpu_fd, struct kvm_fpu *fpu);
int ckvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu);
/// KVM_GET_XSAVE writes 4096 bytes; KVM_GET_XSAVE2 and KVM_SET_XSAVE use the size
/// KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) returns on the VM fd (at least 4096).
int ckvm_get_xsave(int vcpu_fd, void *xsave);
int ckvm_get_xsave2(int vcpu_fd, void *xsave);
int ckvm_set_xsave(int vcpu_fd, const void *xsave);
int ckvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *xcrs);
int ckvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *xcrs);
/// KVM_GET_MSRS / KVM_SET_MSRS on `count` entries (struct kvm_msrs has a flexible array):
/// the number of entries read or written, which stops at the first one KVM refuses.
int ckvm_get_msrs(int vcpu_fd, struct kvm_msr_entry *entries, uint32_t count);
int ckvm_set_msrs(int vcpu_fd, const struct kvm_msr_entry *entries, uint32_t count);
int ckvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *events);
int ckvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *events);
int ckvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *regs);
int ckvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *regs);
int ckvm_get_mp_state(int vcpu_fd, uint32_t *mp_state);
int ckvm_set_mp_state(int vcpu_fd, uint32_t mp_state);
/// KVM_GET_SUPPORTED_CPUID on kvm_fd, then KVM_SET_CPUID2 on vcpu_fd (the struct has a flexible array).
int ckvm_copy_supported_cpuid(int kvm_fd, int vcpu_fd);

// Constants Swift cannot see (function-like macros).
static inline uint64_t ckvm_dirty_log_page_offset(void) { return KVM_DIRTY_LOG_PAGE_OFFSET; }

// Atomics on memory shared with the kernel (dirty ring entry flags).
static inline uint32_t ckvm_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ckvm_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ckvm_store_relaxed_u8(uint8_t *p, uint8_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

#endif
