internal import CKVM

/// The general registers: all 18 fields of `struct kvm_regs`.
public struct Registers: Equatable, Sendable {
    public var rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0
    public var rsi: UInt64 = 0, rdi: UInt64 = 0, rsp: UInt64 = 0, rbp: UInt64 = 0
    public var r8: UInt64 = 0, r9: UInt64 = 0, r10: UInt64 = 0, r11: UInt64 = 0
    public var r12: UInt64 = 0, r13: UInt64 = 0, r14: UInt64 = 0, r15: UInt64 = 0
    public var rip: UInt64 = 0
    /// Bit 1 is reserved and always set.
    public var rflags: UInt64 = 0x2
    public init() {}

    init(_ k: kvm_regs) {
        rax = k.rax; rbx = k.rbx; rcx = k.rcx; rdx = k.rdx
        rsi = k.rsi; rdi = k.rdi; rsp = k.rsp; rbp = k.rbp
        r8 = k.r8; r9 = k.r9; r10 = k.r10; r11 = k.r11
        r12 = k.r12; r13 = k.r13; r14 = k.r14; r15 = k.r15
        rip = k.rip; rflags = k.rflags
    }

    var kernel: kvm_regs {
        kvm_regs(rax: rax, rbx: rbx, rcx: rcx, rdx: rdx, rsi: rsi, rdi: rdi, rsp: rsp, rbp: rbp,
                 r8: r8, r9: r9, r10: r10, r11: r11, r12: r12, r13: r13, r14: r14, r15: r15, rip: rip, rflags: rflags)
    }
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
    public var avl = false
    public var unusable = false
    public init(base: UInt64 = 0, limit: UInt32 = 0, selector: UInt16 = 0, type: UInt8 = 0, present: Bool = true,
                dpl: UInt8 = 0, db: Bool = false, s: Bool = true, l: Bool = false, g: Bool = false,
                avl: Bool = false, unusable: Bool = false) {
        self.base = base; self.limit = limit; self.selector = selector; self.type = type; self.present = present
        self.dpl = dpl; self.db = db; self.s = s; self.l = l; self.g = g; self.avl = avl; self.unusable = unusable
    }

    init(_ k: kvm_segment) {
        self.init(base: k.base, limit: k.limit, selector: k.selector, type: k.type, present: k.present != 0,
                  dpl: k.dpl, db: k.db != 0, s: k.s != 0, l: k.l != 0, g: k.g != 0, avl: k.avl != 0, unusable: k.unusable != 0)
    }

    var kernel: kvm_segment {
        var o = kvm_segment()
        o.base = base; o.limit = limit; o.selector = selector; o.type = type
        o.present = present ? 1 : 0; o.dpl = dpl; o.db = db ? 1 : 0; o.s = s ? 1 : 0
        o.l = l ? 1 : 0; o.g = g ? 1 : 0; o.avl = avl ? 1 : 0; o.unusable = unusable ? 1 : 0
        return o
    }
}

/// The GDT or IDT register (`struct kvm_dtable`).
public struct DescriptorTable: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt16 = 0
    public init(base: UInt64 = 0, limit: UInt16 = 0) { self.base = base; self.limit = limit }
}

/// The special registers: every field of `struct kvm_sregs`.
public struct SpecialRegisters: Equatable, Sendable {
    public var cs = Segment(), ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    public var tr = Segment(), ldt = Segment()
    public var gdt = DescriptorTable(), idt = DescriptorTable()
    public var cr0: UInt64 = 0, cr2: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, cr8: UInt64 = 0
    public var efer: UInt64 = 0
    public var apicBase: UInt64 = 0
    /// A pending external interrupt not yet delivered: bit N is vector N (at most one set).
    public var interruptBitmap: SIMD4<UInt64> = .zero
    public init() {}

    init(_ k: kvm_sregs) {
        cs = Segment(k.cs); ds = Segment(k.ds); es = Segment(k.es); fs = Segment(k.fs); gs = Segment(k.gs); ss = Segment(k.ss)
        tr = Segment(k.tr); ldt = Segment(k.ldt)
        gdt = DescriptorTable(base: k.gdt.base, limit: k.gdt.limit)
        idt = DescriptorTable(base: k.idt.base, limit: k.idt.limit)
        cr0 = k.cr0; cr2 = k.cr2; cr3 = k.cr3; cr4 = k.cr4; cr8 = k.cr8
        efer = k.efer
        apicBase = k.apic_base
        let b = k.interrupt_bitmap
        interruptBitmap = SIMD4(b.0, b.1, b.2, b.3)
    }

    var kernel: kvm_sregs {
        var k = kvm_sregs()
        k.cs = cs.kernel; k.ds = ds.kernel; k.es = es.kernel; k.fs = fs.kernel; k.gs = gs.kernel; k.ss = ss.kernel
        k.tr = tr.kernel; k.ldt = ldt.kernel
        k.gdt.base = gdt.base; k.gdt.limit = gdt.limit
        k.idt.base = idt.base; k.idt.limit = idt.limit
        k.cr0 = cr0; k.cr2 = cr2; k.cr3 = cr3; k.cr4 = cr4; k.cr8 = cr8
        k.efer = efer
        k.apic_base = apicBase
        k.interrupt_bitmap = (interruptBitmap[0], interruptBitmap[1], interruptBitmap[2], interruptBitmap[3])
        return k
    }
}
