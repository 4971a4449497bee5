internal import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// General-purpose registers (a subset of `struct kvm_regs` Ringside sets and reports).
public struct Registers: Equatable, Sendable {
    public var rip: UInt64 = 0
    public var rsp: UInt64 = 0
    public var rdi: UInt64 = 0
    public var rflags: UInt64 = 0x2
    public init() {}
}

/// A segment as `struct kvm_segment` describes it.
public struct Segment: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt32 = 0
    public var selector: UInt16 = 0
    public var type: UInt8 = 0
    public var present = true
    public var dpl: UInt8 = 0
    public var db = false
    public var s = true
    public var l = false
    public var g = false
    public init(base: UInt64 = 0, limit: UInt32 = 0, selector: UInt16 = 0, type: UInt8 = 0, present: Bool = true,
                dpl: UInt8 = 0, db: Bool = false, s: Bool = true, l: Bool = false, g: Bool = false) {
        self.base = base; self.limit = limit; self.selector = selector; self.type = type; self.present = present
        self.dpl = dpl; self.db = db; self.s = s; self.l = l; self.g = g
    }
}

/// Special registers Ringside sets for long mode (a subset of `struct kvm_sregs`).
public struct SpecialRegisters: Equatable, Sendable {
    public var cs = Segment(), ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    public var tr = Segment()
    public var gdtBase: UInt64 = 0, gdtLimit: UInt16 = 0
    public var cr0: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, efer: UInt64 = 0
    public init() {}
}

/// A vCPU file descriptor with its mapped `kvm_run` area and, if the VM has one, its dirty ring.
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
            // Reads get all ones, as from an empty ISA bus.
            let out = UnsafeMutableRawPointer(mutating: data)
            for i in 0..<size * Int(io.count) { out.storeBytes(of: 0xFF, toByteOffset: i, as: UInt8.self) }
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

    /// Sets `kvm_run.immediate_exit`: the next (or current, once signalled) `KVM_RUN` returns `EINTR`.
    public func setImmediateExit(_ on: Bool) {
        // SAFETY: immediate_exit is a byte in the kvm_run mapping the kernel reads on entry.
        withUnsafeMutablePointer(to: &run.pointee.immediate_exit) { ckvm_store_relaxed_u8($0, on ? 1 : 0) }
    }

    /// `KVM_GET_REGS`.
    public func registers() throws(KVMError) -> Registers {
        var k = kvm_regs()
        _ = try check(ckvm_get_regs(fd.raw, &k), .getRegs(vcpu: index))
        var r = Registers()
        r.rip = k.rip; r.rsp = k.rsp; r.rdi = k.rdi; r.rflags = k.rflags
        return r
    }

    /// `KVM_SET_REGS`: the given registers, every other general register zero.
    public func setRegisters(_ r: Registers) throws(KVMError) {
        var k = kvm_regs()
        k.rip = r.rip; k.rsp = r.rsp; k.rdi = r.rdi; k.rflags = r.rflags
        _ = try check(ckvm_set_regs(fd.raw, &k), .setRegs(vcpu: index))
    }

    /// `KVM_GET_SREGS`, overwrite what `s` describes, `KVM_SET_SREGS`.
    public func setSpecialRegisters(_ s: SpecialRegisters) throws(KVMError) {
        var k = kvm_sregs()
        _ = try check(ckvm_get_sregs(fd.raw, &k), .getSregs(vcpu: index))
        func seg(_ x: Segment) -> kvm_segment {
            var o = kvm_segment()
            o.base = x.base; o.limit = x.limit; o.selector = x.selector; o.type = x.type
            o.present = x.present ? 1 : 0; o.dpl = x.dpl; o.db = x.db ? 1 : 0; o.s = x.s ? 1 : 0
            o.l = x.l ? 1 : 0; o.g = x.g ? 1 : 0
            return o
        }
        k.cs = seg(s.cs); k.ds = seg(s.ds); k.es = seg(s.es); k.fs = seg(s.fs); k.gs = seg(s.gs); k.ss = seg(s.ss)
        k.tr = seg(s.tr)
        k.gdt.base = s.gdtBase; k.gdt.limit = s.gdtLimit
        k.cr0 = s.cr0; k.cr3 = s.cr3; k.cr4 = s.cr4; k.efer = s.efer
        _ = try check(ckvm_set_sregs(fd.raw, &k), .setSregs(vcpu: index))
    }
}
