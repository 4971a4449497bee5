internal import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// A vCPU file descriptor with its mapped `kvm_run` area and, if the VM has one, its dirty ring.
// @unchecked: only the owning vCPU thread touches kvm_run; callers serialize harvests of the ring.
public final class VCPU: @unchecked Sendable {
    public let index: Int
    public unowned let vm: VirtualMachine
    let fd: OwnedFD
    let run: UnsafeMutablePointer<kvm_run>
    let runSize: Int
    /// The dirty ring mapping, when the VM has the dirty ring enabled.
    public private(set) var dirtyRing: DirtyRingView?
    let ringMapping: (UnsafeMutableRawPointer, Int)?

    init(vm: VirtualMachine, index: Int, fd: OwnedFD, runSize: Int) throws(KVMError) {
        self.vm = vm
        self.index = index
        self.fd = fd
        self.runSize = runSize
        guard let p = mmap(nil, runSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.raw, 0), p != MAP_FAILED else {
            throw .ioctl(.mmapRun(vcpu: index), errno: Glibc.errno)
        }
        // SAFETY: the kernel maps a struct kvm_run at offset 0 of the vCPU fd.
        run = p.bindMemory(to: kvm_run.self, capacity: 1)
        let ringBytes = vm.dirtyRingBytes
        if ringBytes > 0 {
            let offset = off_t(ckvm_dirty_log_page_offset()) * off_t(getpagesize())
            guard let r = mmap(nil, ringBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.raw, offset), r != MAP_FAILED else {
                let e = Glibc.errno
                munmap(p, runSize)
                throw .ioctl(.mmapRing(vcpu: index), errno: e)
            }
            ringMapping = (r, ringBytes)
            dirtyRing = DirtyRingView(entries: r, count: ringBytes / HostCapabilities.ringEntryBytes)
        } else {
            ringMapping = nil
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(run), runSize)
        if let (p, n) = ringMapping { munmap(p, n) }
    }

    /// Walks this vCPU's dirty ring (see `DirtyRingView.harvest`). Callers serialize harvests.
    @inline(__always)
    public func harvestDirtyRing(_ body: (UInt32, UInt64) -> Void) -> Int {
        guard dirtyRing != nil else { return 0 }
        return dirtyRing!.harvest(body)
    }

    /// `KVM_RUN` once, decoding the exit.
    public func runOnce() throws(KVMError) -> VCPUExit {
        let r = ckvm_run(fd.raw)
        if r == -EINTR || r == -EAGAIN { return .interrupted }
        _ = try check(r, .run(vcpu: index))
        return decodeExit()
    }

    func decodeExit() -> VCPUExit {
        let reason = run.pointee.exit_reason
        switch Int32(reason) {
        case KVM_EXIT_IO:
            let io = run.pointee.io
            let data = UnsafeRawPointer(run) + Int(io.data_offset)
            let size = Int(io.size)
            if io.direction == UInt8(KVM_EXIT_IO_OUT) {
                var v: UInt32 = 0
                // SAFETY: the kernel put `size` (1, 2 or 4) bytes at data_offset inside the kvm_run mapping.
                for i in 0..<min(size, 4) { v |= UInt32(data.load(fromByteOffset: i, as: UInt8.self)) << (8 * i) }
                return .portOut(port: io.port, size: size, value: v)
            }
            // The bytes the guest reads are the VMM's to give (`answerPortIn`): this layer
            // decodes, the machine's port bus answers.
            return .portIn(port: io.port, size: size)
        case KVM_EXIT_HLT: return .halt
        case KVM_EXIT_SHUTDOWN: return .shutdown
        case KVM_EXIT_INTERNAL_ERROR: return .internalError(suberror: run.pointee.internal.suberror)
        case KVM_EXIT_FAIL_ENTRY: return .failEntry(reason: run.pointee.fail_entry.hardware_entry_failure_reason)
        case KVM_EXIT_MMIO:
            return .mmio(address: run.pointee.mmio.phys_addr, isWrite: run.pointee.mmio.is_write != 0, length: Int(run.pointee.mmio.len))
        case 31: return .dirtyRingFull // KVM_EXIT_DIRTY_RING_FULL
        default: return .unknown(reason: reason)
        }
    }

    /// Answers the `in` of the last `.portIn` exit: `value`'s low bytes (little-endian) become
    /// what the guest reads, for each of the exit's `count` repetitions. Call it before the
    /// next `runOnce()`, which completes the instruction with these bytes.
    public func answerPortIn(_ value: UInt32) {
        let io = run.pointee.io
        guard Int32(run.pointee.exit_reason) == KVM_EXIT_IO, io.direction == UInt8(KVM_EXIT_IO_IN) else { return }
        // SAFETY: the kernel reserved size * count bytes at data_offset inside the kvm_run mapping for this `in`.
        let out = UnsafeMutableRawPointer(run) + Int(io.data_offset)
        for r in 0..<Int(io.count) {
            for i in 0..<Int(io.size) { out.storeBytes(of: i < 4 ? UInt8(truncatingIfNeeded: value >> (8 * i)) : 0, toByteOffset: r * Int(io.size) + i, as: UInt8.self) }
        }
    }

    /// Sets `kvm_run.immediate_exit`: the next (or current, once signalled) `KVM_RUN` returns `EINTR`.
    public func setImmediateExit(_ on: Bool) {
        // SAFETY: immediate_exit is a byte in the kvm_run mapping the kernel reads on entry.
        withUnsafeMutablePointer(to: &run.pointee.immediate_exit) { ckvm_store_relaxed_u8($0, on ? 1 : 0) }
    }

    /// `KVM_GET_REGS`.
    public func registers() throws(KVMError) -> Registers {
        var k = kvm_regs()
        _ = try check(ckvm_get_regs(fd.raw, &k), .getRegs(vcpu: index))
        return Registers(k)
    }

    /// `KVM_SET_REGS`: every general register, as given.
    public func setRegisters(_ r: Registers) throws(KVMError) {
        var k = r.kernel
        _ = try check(ckvm_set_regs(fd.raw, &k), .setRegs(vcpu: index))
    }

    /// `KVM_GET_SREGS`.
    public func specialRegisters() throws(KVMError) -> SpecialRegisters {
        var k = kvm_sregs()
        _ = try check(ckvm_get_sregs(fd.raw, &k), .getSregs(vcpu: index))
        return SpecialRegisters(k)
    }

    /// `KVM_SET_SREGS`: every special register, as given. To change a few, read them with
    /// `specialRegisters()` first. Without an in-kernel local APIC, `KVM_RUN` loads CR8 from
    /// `kvm_run.cr8`, so that is set to the same value.
    public func setSpecialRegisters(_ s: SpecialRegisters) throws(KVMError) {
        var k = s.kernel
        _ = try check(ckvm_set_sregs(fd.raw, &k), .setSregs(vcpu: index))
        // SAFETY: cr8 is a field of the kvm_run mapping, read by the kernel only inside KVM_RUN,
        // which the vCPU's owner is not in while it sets registers.
        run.pointee.cr8 = s.cr8
    }
}
