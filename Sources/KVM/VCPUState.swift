/// Everything a vCPU needs to continue elsewhere (in another VM, on another host with the
/// same KVM features): what `VCPU.saveState()` reads and `VCPU.loadState(_:)` writes.
/// Kernel structures without a Swift model are kept as their bytes. `encode()` gives the
/// bytes a migration stream carries; `init(decoding:)` checks them.
public struct VCPUState: Equatable, Sendable {
    /// A model-specific register and its value.
    public struct MSR: Equatable, Sendable {
        public var index: UInt32
        public var value: UInt64
        public init(index: UInt32, value: UInt64) { self.index = index; self.value = value }
    }

    /// An extended control register (`XCR0` is index 0) and its value.
    public struct ExtendedControlRegister: Equatable, Sendable {
        public var index: UInt32
        public var value: UInt64
        public init(index: UInt32, value: UInt64) { self.index = index; self.value = value }
    }

    /// The x87/SSE/AVX state.
    public enum FloatingPoint: Equatable, Sendable {
        /// The `struct kvm_xsave` area of `KVM_GET_XSAVE` (4096 bytes) or `KVM_GET_XSAVE2`
        /// (its `KVM_CAP_XSAVE2` size): the FXSAVE region, the XSAVE header and the extended
        /// components, at the offsets CPUID leaf 0xD gives on the saving host.
        case xsave([UInt8])
        /// `struct kvm_fpu` (x87 and SSE only), used only when the host has no `KVM_CAP_XSAVE`.
        case fpu([UInt8])
    }

    public var registers: Registers
    public var specialRegisters: SpecialRegisters
    public var floatingPoint: FloatingPoint
    /// From `KVM_GET_XCRS`; empty when the host has no `KVM_CAP_XCRS`.
    public var extendedControlRegisters: [ExtendedControlRegister]
    /// The MSRs of `VCPUState.savedMSRs` that the saving host supports, in that order.
    public var msrs: [MSR]
    /// `struct kvm_vcpu_events` (pending exception, interrupt, NMI, SMI, interrupt shadow);
    /// empty when the host has no `KVM_CAP_VCPU_EVENTS`.
    public var events: [UInt8]
    /// `struct kvm_debugregs` (DR0-3, DR6, DR7); empty when the host has no `KVM_CAP_DEBUGREGS`.
    public var debugRegisters: [UInt8]
    /// `KVM_MP_STATE_*` (0 is RUNNABLE); nil when the host has no `KVM_CAP_MP_STATE`.
    public var mpState: UInt32?

    public init(registers: Registers, specialRegisters: SpecialRegisters, floatingPoint: FloatingPoint,
                extendedControlRegisters: [ExtendedControlRegister], msrs: [MSR], events: [UInt8],
                debugRegisters: [UInt8], mpState: UInt32?) {
        self.registers = registers
        self.specialRegisters = specialRegisters
        self.floatingPoint = floatingPoint
        self.extendedControlRegisters = extendedControlRegisters
        self.msrs = msrs
        self.events = events
        self.debugRegisters = debugRegisters
        self.mpState = mpState
    }

    public static let tsc: UInt32 = 0x10
    public static let sysenterCS: UInt32 = 0x174, sysenterESP: UInt32 = 0x175, sysenterEIP: UInt32 = 0x176
    public static let pat: UInt32 = 0x277
    public static let star: UInt32 = 0xC000_0081, lstar: UInt32 = 0xC000_0082, cstar: UInt32 = 0xC000_0083, sfmask: UInt32 = 0xC000_0084
    public static let fsBase: UInt32 = 0xC000_0100, gsBase: UInt32 = 0xC000_0101, kernelGSBase: UInt32 = 0xC000_0102
    public static let tscAux: UInt32 = 0xC000_0103

    /// The MSRs a guest may rely on that are not in `kvm_sregs`, in the order they are saved
    /// and loaded. The TSC is last, so it is written as close to `KVM_RUN` as possible.
    /// Each is kept when the host lists it in `KVM_GET_MSR_INDEX_LIST`; FS_BASE and GS_BASE
    /// always are (KVM never lists them: they are also the fs and gs segment bases).
    public static let savedMSRs: [UInt32] = [
        star, lstar, cstar, sfmask, kernelGSBase, fsBase, gsBase,
        sysenterCS, sysenterESP, sysenterEIP, pat, tscAux, tsc,
    ]
    static let alwaysSupportedMSRs: Set<UInt32> = [fsBase, gsBase]
}
