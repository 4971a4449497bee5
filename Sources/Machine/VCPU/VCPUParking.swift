import Foundation
import KVM

/// The vCPU thread's side of its mailbox: every wait of the thread is one of these.
extension VCPUMailbox {
    /// The thread has begun: kicks may signal it from now on.
    func threadBegan() { box.withLock { $0.thread = pthread_self() } }

    /// The thread has ended: state operations run on the caller's thread from now on.
    func threadEnded() {
        box.withLock { c in
            c.phase = .ended
            c.thread = nil
        }
    }

    /// Waits while the machine is paused or a state operation holds the vCPU, then enters
    /// the guest: true, with `immediate_exit` cleared under the lock, so a pause or stop
    /// posted later still kicks this entry. False when stopped.
    func enterGuest() -> Bool {
        park(.paused) { c in
            switch c.command {
            case .pause: return nil
            case .stop:
                c.phase = .running(inGuest: false)
                return false
            case .run:
                vcpu.setImmediateExit(false)
                c.phase = .running(inGuest: true)
                return true
            }
        }
    }

    /// Back from `KVM_RUN`: a kick no longer needs the signal.
    func leftGuest() { box.withLock { $0.phase = .running(inGuest: false) } }

    /// Lockstep: holds the vCPU at doorbell `frame` until the last vCPU to arrive releases it
    /// (and, if the machine is paused meanwhile, until it resumes), or until stopped.
    func waitForRelease(of frame: Int) {
        park(.lockstep(frame: frame)) { c -> Void? in
            guard c.command == .stop || (c.command == .run && c.released >= frame) else { return nil }
            c.phase = .running(inGuest: false)
            return ()
        }
    }

    /// Posted by the vCPU that released lockstep frame `frame`.
    func release(frame: Int) { box.withLock { $0.released = frame } }

    /// Pacing: waits until host time `deadline` (monotonic ns), or less if the machine pauses
    /// or stops meanwhile (a paused vCPU must park at once, not at its next tick).
    func hold(untilUptime deadline: UInt64) {
        _ = box.wait(untilUptime: deadline) { c -> Void? in c.command == .run ? nil : () }
    }

    /// Holds the thread out of the guest (counted as parked, `reason`) until `leave` returns a
    /// value and no state operation holds it, running the operations posted meanwhile: a
    /// posted operation always runs before the thread leaves. `leave` runs under the lock and
    /// sets the phase the thread leaves in.
    private func park<R>(_ reason: ParkReason, until leave: (inout Contents) -> R?) -> R {
        while true {
            let step: ParkStep<R> = box.wait { c in
                if let op = c.operation {
                    c.operation = nil
                    return .run(op)
                }
                if c.holds == 0, let r = leave(&c) { return .leave(r) }
                c.phase = .parked(reason)
                return nil
            }!
            switch step {
            case .run(let operation): operation(vcpu) // still parked: the caller waits for its result
            case .leave(let r): return r
            }
        }
    }
}

/// What a parked thread does next: run a posted state operation, or leave with a value.
private enum ParkStep<R> {
    case run(@Sendable (VCPU) -> Void)
    case leave(R)
}
