internal import CKVM

/// The byte format of a `VCPUState`, little-endian:
///
///     u8 version (1)
///     18 x u64                  general registers, kvm_regs order
///     8 x segment               cs ds es fs gs ss tr ldt: u64 base, u32 limit, u16 selector,
///                               u8 type, u8 dpl, u8 flags (present db s l g avl unusable, bit 0 up)
///     2 x (u64 base, u16 limit) gdt idt
///     7 x u64                   cr0 cr2 cr3 cr4 cr8 efer apic_base
///     4 x u64                   interrupt bitmap
///     u8 kind, u32 n, n bytes   floating point: 1 XSAVE area, 2 kvm_fpu
///     u32 n, n x (u32, u64)     extended control registers
///     u32 n, n x (u32, u64)     MSRs
///     u32 n, n bytes            kvm_vcpu_events (n is 0 or its size)
///     u32 n, n bytes            kvm_debugregs (n is 0 or its size)
///     u8 present, u32           MP state
///
/// and nothing after. Decoding checks every length and value range, and throws on any
/// mismatch rather than trapping.
extension VCPUState {
    public static let encodingVersion: UInt8 = 1

    static let fpuBytes = MemoryLayout<kvm_fpu>.size
    static let eventsBytes = MemoryLayout<kvm_vcpu_events>.size
    static let debugRegistersBytes = MemoryLayout<kvm_debugregs>.size
    static let minXSAVEBytes = 4096
    /// Far above any XSAVE area (AMX makes it about 11 KiB); a bound for decoding.
    static let maxXSAVEBytes = 1 << 20
    static let maxExtendedControlRegisters = 16 // KVM_MAX_XCRS
    static let maxMSRs = 256 // KVM_MAX_MSR_ENTRIES

    public func encode() -> [UInt8] {
        var w = StateWriter()
        w.u8(Self.encodingVersion)
        let r = registers
        for v in [r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp,
                  r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags] { w.u64(v) }
        let s = specialRegisters
        for seg in [s.cs, s.ds, s.es, s.fs, s.gs, s.ss, s.tr, s.ldt] {
            w.u64(seg.base); w.u32(seg.limit); w.u16(seg.selector); w.u8(seg.type); w.u8(seg.dpl)
            let flags = [seg.present, seg.db, seg.s, seg.l, seg.g, seg.avl, seg.unusable]
            w.u8(flags.enumerated().reduce(0) { $0 | ($1.element ? 1 << $1.offset : 0) })
        }
        for table in [s.gdt, s.idt] { w.u64(table.base); w.u16(table.limit) }
        for v in [s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apicBase] { w.u64(v) }
        for i in 0..<4 { w.u64(s.interruptBitmap[i]) }
        switch floatingPoint {
        case .xsave(let bytes): w.u8(1); w.blob(bytes)
        case .fpu(let bytes): w.u8(2); w.blob(bytes)
        }
        w.u32(UInt32(extendedControlRegisters.count))
        for x in extendedControlRegisters { w.u32(x.index); w.u64(x.value) }
        w.u32(UInt32(msrs.count))
        for m in msrs { w.u32(m.index); w.u64(m.value) }
        w.blob(events)
        w.blob(debugRegisters)
        w.u8(mpState == nil ? 0 : 1)
        w.u32(mpState ?? 0)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(KVMError) {
        var r = StateReader(bytes)
        let version = try r.u8("the version")
        guard version == Self.encodingVersion else {
            throw .malformedState("version \(version) is not the supported version \(Self.encodingVersion)")
        }
        let g = try Self.decodeRegisters(&r)
        let s = try Self.decodeSpecialRegisters(&r)
        let fp = try Self.decodeFloatingPoint(&r)

        let xcrCount = Int(try r.u32("the XCR count"))
        guard xcrCount <= Self.maxExtendedControlRegisters else { throw .malformedState("\(xcrCount) XCRs (at most 16)") }
        var xcrs: [ExtendedControlRegister] = []
        for _ in 0..<xcrCount { xcrs.append(ExtendedControlRegister(index: try r.u32("an XCR index"), value: try r.u64("an XCR value"))) }

        let msrCount = Int(try r.u32("the MSR count"))
        guard msrCount <= Self.maxMSRs else { throw .malformedState("\(msrCount) MSRs (at most \(Self.maxMSRs))") }
        var msrs: [MSR] = []
        for _ in 0..<msrCount { msrs.append(MSR(index: try r.u32("an MSR index"), value: try r.u64("an MSR value"))) }

        let events = try r.blob("kvm_vcpu_events")
        guard events.isEmpty || events.count == Self.eventsBytes else {
            throw .malformedState("kvm_vcpu_events is \(events.count) bytes, not \(Self.eventsBytes)")
        }
        let debug = try r.blob("kvm_debugregs")
        guard debug.isEmpty || debug.count == Self.debugRegistersBytes else {
            throw .malformedState("kvm_debugregs is \(debug.count) bytes, not \(Self.debugRegistersBytes)")
        }
        let hasMP = try r.u8("the MP state flag")
        let mp = try r.u32("the MP state")
        guard hasMP <= 1 else { throw .malformedState("MP state flag \(hasMP) is neither 0 nor 1") }
        guard r.remaining == 0 else { throw .malformedState("\(r.remaining) bytes follow the end of the state") }
        self.init(registers: g, specialRegisters: s, floatingPoint: fp, extendedControlRegisters: xcrs, msrs: msrs,
                  events: events, debugRegisters: debug, mpState: hasMP == 1 ? mp : nil)
    }

    private static func decodeRegisters(_ r: inout StateReader) throws(KVMError) -> Registers {
        var g = Registers()
        g.rax = try r.u64("rax"); g.rbx = try r.u64("rbx"); g.rcx = try r.u64("rcx"); g.rdx = try r.u64("rdx")
        g.rsi = try r.u64("rsi"); g.rdi = try r.u64("rdi"); g.rsp = try r.u64("rsp"); g.rbp = try r.u64("rbp")
        g.r8 = try r.u64("r8"); g.r9 = try r.u64("r9"); g.r10 = try r.u64("r10"); g.r11 = try r.u64("r11")
        g.r12 = try r.u64("r12"); g.r13 = try r.u64("r13"); g.r14 = try r.u64("r14"); g.r15 = try r.u64("r15")
        g.rip = try r.u64("rip"); g.rflags = try r.u64("rflags")
        return g
    }

    private static func decodeSegment(_ r: inout StateReader, _ name: String) throws(KVMError) -> Segment {
        var seg = Segment()
        seg.base = try r.u64("\(name) base"); seg.limit = try r.u32("\(name) limit"); seg.selector = try r.u16("\(name) selector")
        seg.type = try r.u8("\(name) type")
        seg.dpl = try r.u8("\(name) dpl")
        guard seg.type < 16, seg.dpl < 4 else { throw .malformedState("\(name) has type \(seg.type) and dpl \(seg.dpl)") }
        let flags = try r.u8("\(name) flags")
        guard flags < 1 << 7 else { throw .malformedState("\(name) has unknown flag bits 0x\(String(flags, radix: 16))") }
        seg.present = flags & 1 != 0; seg.db = flags & 2 != 0; seg.s = flags & 4 != 0; seg.l = flags & 8 != 0
        seg.g = flags & 16 != 0; seg.avl = flags & 32 != 0; seg.unusable = flags & 64 != 0
        return seg
    }

    private static func decodeSpecialRegisters(_ r: inout StateReader) throws(KVMError) -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cs = try decodeSegment(&r, "cs"); s.ds = try decodeSegment(&r, "ds"); s.es = try decodeSegment(&r, "es")
        s.fs = try decodeSegment(&r, "fs"); s.gs = try decodeSegment(&r, "gs"); s.ss = try decodeSegment(&r, "ss")
        s.tr = try decodeSegment(&r, "tr"); s.ldt = try decodeSegment(&r, "ldt")
        s.gdt = DescriptorTable(base: try r.u64("gdt base"), limit: try r.u16("gdt limit"))
        s.idt = DescriptorTable(base: try r.u64("idt base"), limit: try r.u16("idt limit"))
        s.cr0 = try r.u64("cr0"); s.cr2 = try r.u64("cr2"); s.cr3 = try r.u64("cr3"); s.cr4 = try r.u64("cr4")
        s.cr8 = try r.u64("cr8"); s.efer = try r.u64("efer"); s.apicBase = try r.u64("apic_base")
        for i in 0..<4 { s.interruptBitmap[i] = try r.u64("the interrupt bitmap") }
        return s
    }

    private static func decodeFloatingPoint(_ r: inout StateReader) throws(KVMError) -> FloatingPoint {
        switch try r.u8("the floating-point kind") {
        case 1:
            let area = try r.blob("the XSAVE area")
            guard area.count >= Self.minXSAVEBytes, area.count <= Self.maxXSAVEBytes, area.count % 4 == 0 else {
                throw .malformedState("the XSAVE area is \(area.count) bytes (need a multiple of 4 from 4096)")
            }
            return .xsave(area)
        case 2:
            let area = try r.blob("kvm_fpu")
            guard area.count == Self.fpuBytes else { throw .malformedState("kvm_fpu is \(area.count) bytes, not \(Self.fpuBytes)") }
            return .fpu(area)
        case let k:
            throw .malformedState("floating-point kind \(k) is neither 1 (XSAVE) nor 2 (kvm_fpu)")
        }
    }
}

/// Appends little-endian integers and length-prefixed byte strings.
struct StateWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { int(v) }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
    private mutating func int<T: FixedWidthInteger>(_ v: T) {
        for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }
}

/// Reads what `StateWriter` wrote; every read checks there are enough bytes left.
struct StateReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var remaining: Int { bytes.count - offset }

    mutating func u8(_ what: String) throws(KVMError) -> UInt8 { try int(what) }
    mutating func u16(_ what: String) throws(KVMError) -> UInt16 { try int(what) }
    mutating func u32(_ what: String) throws(KVMError) -> UInt32 { try int(what) }
    mutating func u64(_ what: String) throws(KVMError) -> UInt64 { try int(what) }

    mutating func blob(_ what: String) throws(KVMError) -> [UInt8] {
        let n = Int(try u32("the length of \(what)"))
        guard n <= remaining else { throw .malformedState("truncated: \(what) needs \(n) bytes, \(remaining) left") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    private mutating func int<T: FixedWidthInteger>(_ what: String) throws(KVMError) -> T {
        let n = MemoryLayout<T>.size
        guard n <= remaining else { throw .malformedState("truncated at byte \(offset): \(what) is missing") }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }
}
