import Foundation
import KVM

/// One vCPU's thread (Firecracker's `vstate/vcpu`): the only code that runs the vCPU. It
/// enters the guest when its mailbox allows, hands each exit to its `ExitHandler`, and does
/// what that says: answer an `in`, meet the other vCPUs, hold until the pacing tick, or end
/// the run. An OS thread, because `KVM_RUN` blocks.
struct VCPUThread: Sendable {
    /// The VM, held for as long as the thread runs (a `VCPU` refers to it unowned).
    let vm: VirtualMachine
    let mailbox: VCPUMailbox
    var handler: ExitHandler
    let crew: VCPUCrew
    let console: ConsolePort
    /// Frames the vCPU had completed when its thread began (restored ones count).
    let startFrame: Int
    let dirtyRingFull: (@Sendable (_ cpu: Int) throws(KVMError) -> Void)?

    var vcpu: VCPU { mailbox.vcpu }

    /// Runs the thread (1 MiB of stack, named `vcpuN`) until the run ends for this vCPU.
    func spawn() {
        let t = Thread { [self] in
            var me = self
            me.run()
        }
        t.name = "vcpu\(vcpu.index)"
        t.stackSize = 1 << 20
        t.start()
    }

    private mutating func run() {
        mailbox.threadBegan()
        defer {
            mailbox.threadEnded()
            crew.threadEnded()
        }
        // A machine restored at or past its frame limit has nothing left to run (and must not
        // wait for a release the others, also done, will never give).
        if let limit = handler.frameLimit, startFrame >= limit { return }
        // Restored ahead of the slowest vCPU (or while held at a lockstep doorbell): held until
        // the others catch up (`LockstepBarrier.init`).
        if let meet = crew.lockstep, startFrame > meet.released { mailbox.waitForRelease(of: startFrame) }
        while mailbox.enterGuest() {
            let exit: VCPUExit
            do {
                exit = try vcpu.runOnce()
            } catch {
                mailbox.leftGuest()
                return crew.finish(with: .failed(error))
            }
            mailbox.leftGuest()
            guard follow(handler.handle(exit, now: DispatchTime.now().uptimeNanoseconds)) else { return }
        }
    }

    /// Does what the exit handler said; false when this vCPU's run is over.
    private func follow(_ action: ExitAction) -> Bool {
        switch action {
        case .reenter:
            return true
        case .completeIn(let value):
            vcpu.answerPortIn(value)
            return true
        case .yield:
            sched_yield() // the guest waits for another vCPU's thread: let it run
            return true
        case .frameDone(let frame, let last, let holdUntil):
            crew.lockstep?.meet(cpu: vcpu.index, frame: frame, waitingIn: mailbox)
            if last { return false }
            if let holdUntil { mailbox.hold(untilUptime: holdUntil) }
            return true
        case .harvestDirtyRing:
            return harvestFullRing()
        case .guestExit(let status):
            crew.finish(with: .guestExit(status: status))
            return false
        case .crash(let exit):
            let rip = try? vcpu.registers().rip
            crew.finish(with: .crashed(GuestCrash(cpu: vcpu.index, exit: exit, rip: rip, lastConsoleLine: console.lastWords(cpu: vcpu.index))))
            return false
        }
    }

    /// `KVM_EXIT_DIRTY_RING_FULL`: the machine's handler harvests and resets, or, without
    /// one, the entries are dropped and the rings reset. A failure ends the run: a ring that
    /// could not be reset would only fill again.
    private func harvestFullRing() -> Bool {
        do {
            if let dirtyRingFull {
                try dirtyRingFull(vcpu.index)
            } else {
                _ = vcpu.harvestDirtyRing { _, _ in }
                _ = try vm.resetDirtyRings()
            }
            return true
        } catch {
            crew.finish(with: .failed(error))
            return false
        }
    }
}
