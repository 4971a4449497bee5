/// Why `KVM_RUN` returned, decoded from the shared `kvm_run` area.
public enum VCPUExit: Equatable, Sendable {
    /// `KVM_EXIT_IO`: port I/O. `value` holds the bytes written (little-endian) for `out`.
    case portOut(port: UInt16, size: Int, value: UInt32)
    /// `KVM_EXIT_IO` with `in`: the guest reads a port. The VMM answers with
    /// `VCPU.answerPortIn` before the next `runOnce()` (kvm-ioctls' `IoIn(port, data)`); this
    /// layer does not answer for it, so what an unanswered `in` reads is whatever the
    /// `kvm_run` data area held.
    case portIn(port: UInt16, size: Int)
    /// `KVM_EXIT_HLT`.
    case halt
    /// `KVM_EXIT_SHUTDOWN`: the guest triple-faulted (no IDT, so any exception does this).
    case shutdown
    /// `KVM_EXIT_INTERNAL_ERROR` with its suberror.
    case internalError(suberror: UInt32)
    /// `KVM_EXIT_FAIL_ENTRY` with the hardware reason.
    case failEntry(reason: UInt64)
    /// `KVM_EXIT_MMIO`: an access outside every memory slot.
    case mmio(address: UInt64, isWrite: Bool, length: Int)
    /// `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset this vCPU's ring before running it again.
    case dirtyRingFull
    /// `KVM_RUN` returned `EINTR` (a signal or `immediate_exit` kicked the vCPU out).
    case interrupted
    /// Any other exit reason.
    case unknown(reason: UInt32)

    /// A short name for reports ("KVM_EXIT_SHUTDOWN").
    public var name: String {
        switch self {
        case .portOut, .portIn: return "KVM_EXIT_IO"
        case .halt: return "KVM_EXIT_HLT"
        case .shutdown: return "KVM_EXIT_SHUTDOWN"
        case .internalError: return "KVM_EXIT_INTERNAL_ERROR"
        case .failEntry: return "KVM_EXIT_FAIL_ENTRY"
        case .mmio: return "KVM_EXIT_MMIO"
        case .dirtyRingFull: return "KVM_EXIT_DIRTY_RING_FULL"
        case .interrupted: return "EINTR"
        case .unknown(let r): return "exit reason \(r)"
        }
    }
}
