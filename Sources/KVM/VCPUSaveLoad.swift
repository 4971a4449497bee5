internal import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// Saving and loading a vCPU's complete state. The caller must own the vCPU: no thread may
/// be inside `KVM_RUN` on it meanwhile.
extension VCPU {
    /// Reads everything in `VCPUState`. First completes whatever the last exit left pending
    /// (see `completePendingExit()`), so the state is between two instructions.
    public func saveState() throws(KVMError) -> VCPUState {
        try completePendingExit()
        let regs = try registers()
        let sregs = try specialRegisters()
        let fp = try floatingPointState()
        let xcrs = try extendedControlRegisters()
        let msrs = try readMSRs(try supportedSavedMSRs())
        var events: [UInt8] = []
        if vm.checkExtension(.vcpuEvents) > 0 {
            var e = kvm_vcpu_events()
            _ = try check(ckvm_get_vcpu_events(fd.raw, &e), .getVCPUEvents(vcpu: index))
            events = bytes(of: &e)
        }
        var debug: [UInt8] = []
        if vm.checkExtension(.debugRegs) > 0 {
            var d = kvm_debugregs()
            _ = try check(ckvm_get_debugregs(fd.raw, &d), .getDebugRegs(vcpu: index))
            debug = bytes(of: &d)
        }
        var mp: UInt32?
        if vm.checkExtension(.mpState) > 0 {
            var m: UInt32 = 0
            _ = try check(ckvm_get_mp_state(fd.raw, &m), .getMPState(vcpu: index))
            mp = m
        }
        return VCPUState(registers: regs, specialRegisters: sregs, floatingPoint: fp, extendedControlRegisters: xcrs,
                         msrs: msrs, events: events, debugRegisters: debug, mpState: mp)
    }

    /// Writes `state` into this vCPU, which then continues where the saved one stopped.
    /// The order matters:
    /// 1. special registers before general ones: CR0/CR4/EFER and CS decide the mode the
    ///    general registers are checked in, and setting them may reset pending state;
    /// 2. XCRs before the XSAVE area: XCR0 says which XSAVE components the guest has enabled;
    /// 3. MSRs after both (their checks read CPUID and EFER), TSC last among them;
    /// 4. debug registers, then MP state;
    /// 5. events last: `KVM_SET_REGS` and `KVM_SET_SREGS` drop a pending exception and
    ///    requeue interrupts, so the pending events must be written after them.
    /// A part the state has but this host lacks the capability for throws `capabilityMissing`.
    public func loadState(_ state: VCPUState) throws(KVMError) {
        try setSpecialRegisters(state.specialRegisters)
        try setRegisters(state.registers)
        try setExtendedControlRegisters(state.extendedControlRegisters)
        try setFloatingPointState(state.floatingPoint)
        try writeMSRs(state.msrs)
        if !state.debugRegisters.isEmpty {
            try require(.debugRegs)
            var d = kvm_debugregs()
            try fill(&d, from: state.debugRegisters, what: "kvm_debugregs")
            _ = try check(ckvm_set_debugregs(fd.raw, &d), .setDebugRegs(vcpu: index))
        }
        if let mp = state.mpState {
            try require(.mpState)
            _ = try check(ckvm_set_mp_state(fd.raw, mp), .setMPState(vcpu: index))
        }
        if !state.events.isEmpty {
            try require(.vcpuEvents)
            var e = kvm_vcpu_events()
            try fill(&e, from: state.events, what: "kvm_vcpu_events")
            _ = try check(ckvm_set_vcpu_events(fd.raw, &e), .setVCPUEvents(vcpu: index))
        }
    }

    /// After a `KVM_EXIT_IO` or `KVM_EXIT_MMIO` the instruction is finished (RIP advanced, an
    /// `in` value stored) only by the next `KVM_RUN`. `KVM_RUN` with `immediate_exit` set does
    /// that and returns `EINTR` without running guest code (KVM API, "immediate_exit"), so
    /// the registers read afterwards are between two instructions. Leaves `immediate_exit` set.
    public func completePendingExit() throws(KVMError) {
        setImmediateExit(true)
        let r = ckvm_run(fd.raw)
        if r == -EINTR || r == -EAGAIN { return }
        _ = try check(r, .run(vcpu: index))
    }

    /// The MSRs of `VCPUState.savedMSRs` this host's KVM lists (plus FS_BASE and GS_BASE).
    public func supportedSavedMSRs() throws(KVMError) -> [UInt32] {
        let listed = Set(try vm.system.msrIndexList())
        return VCPUState.savedMSRs.filter { listed.contains($0) || VCPUState.alwaysSupportedMSRs.contains($0) }
    }

    // MARK: - Parts

    func floatingPointState() throws(KVMError) -> VCPUState.FloatingPoint {
        if vm.checkExtension(.xsave) > 0 {
            let size = max(VCPUState.minXSAVEBytes, vm.checkExtension(.xsave2))
            var area = [UInt8](repeating: 0, count: size)
            // SAFETY: the buffer holds `size` bytes: 4096 for KVM_GET_XSAVE, the KVM_CAP_XSAVE2
            // size for KVM_GET_XSAVE2, which is all the kernel writes.
            let r = area.withUnsafeMutableBytes { size > VCPUState.minXSAVEBytes ? ckvm_get_xsave2(fd.raw, $0.baseAddress) : ckvm_get_xsave(fd.raw, $0.baseAddress) }
            _ = try check(r, size > VCPUState.minXSAVEBytes ? .getXSAVE2(vcpu: index) : .getXSAVE(vcpu: index))
            return .xsave(area)
        }
        var f = kvm_fpu()
        _ = try check(ckvm_get_fpu(fd.raw, &f), .getFPU(vcpu: index))
        return .fpu(bytes(of: &f))
    }

    func setFloatingPointState(_ fp: VCPUState.FloatingPoint) throws(KVMError) {
        switch fp {
        case .xsave(let saved):
            try require(.xsave)
            // KVM_SET_XSAVE reads this host's XSAVE size; a shorter area from another host is
            // padded with zeros (its header's XSTATE_BV marks what the padding does not hold).
            var area = saved
            let size = max(VCPUState.minXSAVEBytes, vm.checkExtension(.xsave2))
            if area.count < size { area += [UInt8](repeating: 0, count: size - area.count) }
            // SAFETY: the buffer holds at least this host's XSAVE size, all KVM_SET_XSAVE reads.
            let r = area.withUnsafeBytes { ckvm_set_xsave(fd.raw, $0.baseAddress) }
            _ = try check(r, .setXSAVE(vcpu: index))
        case .fpu(let saved):
            var f = kvm_fpu()
            try fill(&f, from: saved, what: "kvm_fpu")
            _ = try check(ckvm_set_fpu(fd.raw, &f), .setFPU(vcpu: index))
        }
    }

    func extendedControlRegisters() throws(KVMError) -> [VCPUState.ExtendedControlRegister] {
        guard vm.checkExtension(.xcrs) > 0 else { return [] }
        var k = kvm_xcrs()
        _ = try check(ckvm_get_xcrs(fd.raw, &k), .getXCRS(vcpu: index))
        let n = min(Int(k.nr_xcrs), VCPUState.maxExtendedControlRegisters)
        return withUnsafeBytes(of: &k.xcrs) { raw in
            // SAFETY: xcrs is a C array of KVM_MAX_XCRS (16) struct kvm_xcr; n is at most 16.
            let xcrs = raw.bindMemory(to: kvm_xcr.self)
            return (0..<n).map { VCPUState.ExtendedControlRegister(index: xcrs[$0].xcr, value: xcrs[$0].value) }
        }
    }

    func setExtendedControlRegisters(_ list: [VCPUState.ExtendedControlRegister]) throws(KVMError) {
        guard !list.isEmpty else { return }
        try require(.xcrs)
        guard list.count <= VCPUState.maxExtendedControlRegisters else {
            throw .outOfRange("\(list.count) XCRs; KVM takes at most \(VCPUState.maxExtendedControlRegisters)")
        }
        var k = kvm_xcrs()
        k.nr_xcrs = UInt32(list.count)
        withUnsafeMutableBytes(of: &k.xcrs) { raw in
            // SAFETY: xcrs is a C array of 16 struct kvm_xcr; list.count is at most 16 (checked above).
            let xcrs = raw.bindMemory(to: kvm_xcr.self)
            for (i, x) in list.enumerated() { xcrs[i] = kvm_xcr(xcr: x.index, reserved: 0, value: x.value) }
        }
        _ = try check(ckvm_set_xcrs(fd.raw, &k), .setXCRS(vcpu: index))
    }

    func readMSRs(_ indices: [UInt32]) throws(KVMError) -> [VCPUState.MSR] {
        var entries = indices.map { kvm_msr_entry(index: $0, reserved: 0, data: 0) }
        let n = try check(ckvm_get_msrs(fd.raw, &entries, UInt32(entries.count)), .getMSRs(vcpu: index))
        if Int(n) < entries.count { throw .msrNotAccepted(.getMSRs(vcpu: index), msr: entries[Int(n)].index) }
        return entries.map { VCPUState.MSR(index: $0.index, value: $0.data) }
    }

    func writeMSRs(_ msrs: [VCPUState.MSR]) throws(KVMError) {
        guard !msrs.isEmpty else { return }
        let entries = msrs.map { kvm_msr_entry(index: $0.index, reserved: 0, data: $0.value) }
        let n = try check(ckvm_set_msrs(fd.raw, entries, UInt32(entries.count)), .setMSRs(vcpu: index))
        if Int(n) < entries.count { throw .msrNotAccepted(.setMSRs(vcpu: index), msr: entries[Int(n)].index) }
    }

    private func require(_ cap: Capability) throws(KVMError) {
        if vm.checkExtension(cap) == 0 { throw .capabilityMissing(cap.name) }
    }
}

/// The bytes of a kernel struct.
private func bytes<T>(of value: inout T) -> [UInt8] {
    // SAFETY: T is a plain C struct from <linux/kvm.h>; its bytes are its whole value.
    withUnsafeBytes(of: &value) { Array($0) }
}

/// Fills a kernel struct from bytes of exactly its size.
private func fill<T>(_ value: inout T, from bytes: [UInt8], what: String) throws(KVMError) {
    guard bytes.count == MemoryLayout<T>.size else {
        throw .malformedState("\(what) is \(bytes.count) bytes, not \(MemoryLayout<T>.size)")
    }
    // SAFETY: T is a plain C struct from <linux/kvm.h> and bytes has exactly its size.
    withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes) }
}
