import KVM

/// What a vCPU's thread does after an exit (`ExitHandler.handle`).
enum ExitAction: Equatable, Sendable {
    /// Enter the guest again.
    case reenter
    /// Complete the guest's `in` with these bytes (`VCPU.answerPortIn`), then enter again.
    case completeIn(UInt32)
    /// Let another thread run, then enter again.
    case yield
    /// The vCPU finished frame `frame` and the doorbell did its part. Meet the others
    /// (lockstep); end the run if it was the `last` (`--frames`); else hold until `holdUntil`
    /// (host monotonic ns, the next pacing tick) when paced.
    case frameDone(frame: Int, last: Bool, holdUntil: UInt64?)
    /// `KVM_EXIT_DIRTY_RING_FULL`: harvest and reset the dirty ring, then enter again.
    case harvestDirtyRing
    /// End the run: the guest wrote its exit status.
    case guestExit(status: UInt32)
    /// End the run: the guest stopped in a way it should not have.
    case crash(VCPUExit)
}

/// Exit handling as a function over data (Firecracker's `handle_kvm_exit`): one vCPU's exit
/// in, what its thread does next out. Port I/O goes to the bus, whose devices do their part
/// (count a frame, assemble a console line, set a mode); `KVM_RUN`, the lockstep meet and the
/// holds stay with the thread, so tests feed this fake exits without a VM.
struct ExitHandler: Sendable {
    let cpu: Int
    let bus: PortBus
    /// `--frames`: the frame at which this vCPU's run ends.
    let frameLimit: Int?
    var pacer: Pacer
    /// Auto-converge's brake (`GuestThrottle`), read at each frame doorbell.
    var throttle: GuestThrottle? = nil

    mutating func handle(_ exit: VCPUExit, now: UInt64) -> ExitAction {
        switch exit {
        case .interrupted:
            return .reenter
        case .portIn(let port, let size):
            return .completeIn(bus.read(port: port, size: size, cpu: cpu))
        case .portOut(let port, let size, let value):
            switch bus.write(port: port, size: size, value: value, cpu: cpu) {
            case .none: return .reenter
            case .yield: return .yield
            case .exit(let status): return .guestExit(status: status)
            case .frameDone(let frame):
                let last = frameLimit.map { frame >= $0 } ?? false
                return .frameDone(frame: frame, last: last, holdUntil: last ? nil : pacer.nextTick(now: now, throttle: throttle?.percent ?? 0))
            }
        case .dirtyRingFull:
            return .harvestDirtyRing
        case .halt, .shutdown, .internalError, .failEntry, .mmio, .unknown:
            return .crash(exit)
        }
    }
}
