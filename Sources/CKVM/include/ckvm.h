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
/// KVM_GET_SUPPORTED_CPUID on kvm_fd, then KVM_SET_CPUID2 on vcpu_fd (the struct has a flexible array).
int ckvm_copy_supported_cpuid(int kvm_fd, int vcpu_fd);

// Constants Swift cannot see (function-like macros).
static inline uint64_t ckvm_dirty_log_page_offset(void) { return KVM_DIRTY_LOG_PAGE_OFFSET; }

// Atomics on memory shared with the kernel (dirty ring entry flags).
static inline uint32_t ckvm_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ckvm_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ckvm_store_relaxed_u8(uint8_t *p, uint8_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

#endif
