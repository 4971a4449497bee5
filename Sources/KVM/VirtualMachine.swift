internal import CKVM
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A VM file descriptor (from `KVM_CREATE_VM`): memory slots, dirty logging, vCPU creation.
public final class VirtualMachine: Sendable {
    public let system: KVMSystem
    let fd: OwnedFD
    private let ringBytes = Atomic<Int>(0)
    /// Bytes of each vCPU's dirty ring, once enabled.
    public var dirtyRingBytes: Int { ringBytes.load(ordering: .acquiring) }

    init(system: KVMSystem, fd: OwnedFD) {
        self.system = system
        self.fd = fd
    }

    /// `KVM_CHECK_EXTENSION` on the VM fd; 0 when unsupported.
    public func checkExtension(_ cap: Capability) -> Int {
        max(0, Int(ckvm_check_extension(fd.raw, cap.rawValue)))
    }

    /// `KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING[_ACQ_REL])`: must come before any vCPU exists.
    public func enableDirtyRing(bytes: Int, acquireRelease: Bool) throws(KVMError) {
        let cap: Capability = acquireRelease ? .dirtyLogRingAcqRel : .dirtyLogRing
        _ = try check(ckvm_enable_cap(fd.raw, UInt32(cap.rawValue), UInt64(bytes)), .enableCap(cap, bytes: bytes))
        ringBytes.store(bytes, ordering: .releasing)
    }

    /// `KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)`: `KVM_GET_DIRTY_LOG` stops
    /// re-protecting pages; `KVM_CLEAR_DIRTY_LOG` does it instead.
    public func enableManualDirtyLogProtect(flags: Int) throws(KVMError) {
        _ = try check(ckvm_enable_cap(fd.raw, UInt32(Capability.manualDirtyLogProtect2.rawValue), UInt64(flags)),
                      .enableCap(.manualDirtyLogProtect2))
    }

    /// `KVM_SET_USER_MEMORY_REGION`: maps `memory` at `guestPhysicalAddress` as slot `slot`.
    public func setMemoryRegion(slot: UInt32, guestPhysicalAddress: UInt64, memory: GuestMemory, logDirtyPages: Bool) throws(KVMError) {
        let flags: UInt32 = logDirtyPages ? UInt32(KVM_MEM_LOG_DIRTY_PAGES) : 0
        _ = try check(
            ckvm_set_user_memory_region(fd.raw, slot, flags, guestPhysicalAddress, UInt64(memory.size),
                                        UInt64(UInt(bitPattern: memory.base))),
            .setUserMemoryRegion(slot: slot))
    }

    /// `KVM_GET_DIRTY_LOG`: fills `bitmap` (one bit per page of the slot, 64-bit words).
    public func getDirtyLog(slot: UInt32, into bitmap: UnsafeMutablePointer<UInt64>) throws(KVMError) {
        _ = try check(ckvm_get_dirty_log(fd.raw, slot, bitmap), .getDirtyLog(slot: slot))
    }

    /// `KVM_CLEAR_DIRTY_LOG`: re-protects the pages whose bits are set in `bitmap`,
    /// which covers `pageCount` pages from `firstPage` (a multiple of 64).
    public func clearDirtyLog(slot: UInt32, firstPage: UInt64, pageCount: UInt32, bitmap: UnsafeMutablePointer<UInt64>) throws(KVMError) {
        _ = try check(ckvm_clear_dirty_log(fd.raw, slot, firstPage, pageCount, bitmap), .clearDirtyLog(slot: slot))
    }

    /// `KVM_RESET_DIRTY_RINGS`: re-protects every harvested page of every ring and
    /// recycles the entries; returns how many entries were reset.
    public func resetDirtyRings() throws(KVMError) -> Int {
        Int(try check(ckvm_reset_dirty_rings(fd.raw), .resetDirtyRings))
    }

    /// `KVM_CREATE_VCPU`, then maps its `kvm_run` area (and its dirty ring, if enabled).
    public func createVCPU(index: Int) throws(KVMError) -> VCPU {
        let raw = try check(ckvm_create_vcpu(fd.raw, UInt(index)), .createVCPU(index))
        let owned = OwnedFD(raw)
        _ = try check(ckvm_copy_supported_cpuid(system.fd.raw, raw), .setCPUID(vcpu: index))
        return try VCPU(vm: self, index: index, fd: owned, runSize: system.vcpuMmapSize())
    }
}
