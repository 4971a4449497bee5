import Foundation
import KVM

/// Where a vCPU's thread stands, as others see it.
enum VCPUPhase: Equatable, Sendable {
    /// Not started: no thread owns the vCPU; state operations run on the caller's thread.
    case created
    /// Owned by its thread and not held: inside `KVM_RUN` (`inGuest`), or out of it handling
    /// an exit (which may write guest memory) or waiting for its pacing tick.
    case running(inGuest: Bool)
    /// Held out of the guest; state operations posted meanwhile run on its thread.
    case parked(ParkReason)
    /// The thread has ended; state operations run on the caller's thread.
    case ended
}

/// Why a vCPU is held.
enum ParkReason: Equatable, Sendable {
    /// The machine is paused, or a state operation holds it.
    case paused
    /// Lockstep: it has arrived at doorbell `frame` and waits for the others.
    case lockstep(frame: Int)
}

/// The machine's standing command to a vCPU's thread, read whenever it is out of the guest.
enum VCPUCommand: Equatable, Sendable {
    /// Run the guest.
    case run
    /// Hold out of the guest until `run` again (`Machine.pause`).
    case pause
    /// Leave and end the thread. Final: a later `run` or `pause` does not undo it.
    case stop
}

/// One vCPU's mailbox (Firecracker's vCPU event channel): the command the machine posts,
/// state operations to run while the vCPU is held, lockstep releases, and the thread's phase.
/// The thread waits in this one place, whatever it waits for; a kick takes it out of
/// `KVM_RUN` to read its mail.
final class VCPUMailbox: Sendable {
    struct Contents {
        var phase = VCPUPhase.created
        var command = VCPUCommand.run
        /// State operations in progress: the vCPU stays held until they end, even if the
        /// machine is resumed or stopped meanwhile.
        var holds = 0
        /// A state operation for the held thread to run.
        var operation: (@Sendable (VCPU) -> Void)?
        /// Lockstep: the last frame released.
        var released = 0
        /// The thread, once it runs: the kick signal's target.
        var thread: pthread_t?
    }

    let vcpu: VCPU
    let box = Monitor(Contents())

    init(vcpu: VCPU) { self.vcpu = vcpu }

    // MARK: - The machine's side

    /// Posts `command` (a `stop` stays), kicking the vCPU out of the guest for `pause` and `stop`.
    func post(_ command: VCPUCommand) {
        box.withLock { c in
            if c.command != .stop { c.command = command }
            if command != .run { kick(c) }
        }
    }

    /// Kicks the vCPU out of `KVM_RUN` once; it re-enters unless paused or stopped.
    func kick() { box.withLock { kick($0) } }

    /// `immediate_exit` for an entry still to come (the thread clears it under this lock
    /// before entering), the signal for one already inside.
    private func kick(_ c: Contents) {
        vcpu.setImmediateExit(true)
        if c.phase == .running(inGuest: true), let t = c.thread { pthread_kill(t, KickSignal.number) }
    }

    /// Marks the vCPU owned by its thread from now on, before the thread runs.
    func claimForThread() {
        box.withLock { c in
            precondition(c.phase == .created, "Machine.start() called twice")
            c.phase = .running(inGuest: false)
        }
    }

    /// Waits until the vCPU is out of the guest for good or for now: held, ended, or not started.
    func waitUntilHeld() {
        _ = box.wait { c -> Void? in
            if case .running = c.phase { return nil }
            return ()
        }
    }
}
