import KVM

/// A guest that stopped in a way it should not have.
public struct GuestCrash: Sendable, CustomStringConvertible {
    public var cpu: Int
    public var exit: VCPUExit
    public var rip: UInt64?
    public var lastConsoleLine: String?

    public var description: String {
        var detail = exit.name
        switch exit {
        case .shutdown: detail += " (triple fault: the guest raised an exception it cannot handle)"
        case .internalError(let s): detail += " (suberror \(s))"
        case .failEntry(let r): detail += " (hardware reason 0x\(String(r, radix: 16)))"
        case .mmio(let a, let w, _): detail += " (\(w ? "write" : "read") of unmapped address 0x\(String(a, radix: 16)))"
        case .halt: detail += " (the guest halted)"
        default: break
        }
        let where_ = rip.map { "RIP 0x\(String($0, radix: 16))" } ?? "RIP unknown"
        let last = lastConsoleLine.map { "; last console line: \"\($0)\"" } ?? "; the guest printed nothing"
        return "guest crashed on vCPU \(cpu): \(detail) at \(where_)\(last)"
    }
}

/// How a machine run ended.
public enum MachineOutcome: Sendable {
    /// Every vCPU reached `--frames N`.
    case framesCompleted
    /// Stopped by the host (`stop()`: time limit, Ctrl-C, window closed).
    case stopped
    /// The guest wrote `status` to the exit port (0xF4).
    case guestExit(status: UInt32)
    case crashed(GuestCrash)
    case failed(KVMError)
}

/// Callbacks from vCPU threads. They run on the vCPU's own thread and must be quick.
public struct MachineEvents: Sendable {
    /// A completed debug-console line from vCPU `cpu`.
    public var consoleLine: (@Sendable (_ cpu: Int, _ line: String) -> Void)?
    /// vCPU `cpu` rang the frame doorbell for its frame `frame` (1-based).
    public var frameDone: (@Sendable (_ cpu: Int, _ frame: Int) -> Void)?
    /// vCPU `cpu` exited with `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset before returning.
    /// An error ends the run with `.failed(error)` (every vCPU stops): a ring that could not
    /// be reset would only fill again, and pages harvested but not reported would be lost.
    public var dirtyRingFull: (@Sendable (_ cpu: Int) throws(KVMError) -> Void)?
    /// With `MachineConfig.lockstep`: every vCPU has finished frame `frame` and is held at its
    /// doorbell while this runs (on the last vCPU to arrive), so guest memory is still.
    public var allFramesDone: (@Sendable (_ frame: Int) -> Void)?
    /// vCPU `cpu` set a new display mode through DISPI; the boot info already says so.
    public var modeSet: (@Sendable (_ cpu: Int, _ mode: DisplayMode) -> Void)?
    /// vCPU `cpu` asked for a mode the device refused (`reason` says which and why); the old
    /// mode stays in force and the guest runs on.
    public var modeRefused: (@Sendable (_ cpu: Int, _ reason: String) -> Void)?
    public init() {}
}
