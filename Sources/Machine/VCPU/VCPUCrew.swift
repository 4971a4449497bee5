import Dispatch

/// A machine's vCPU threads as a group: the commands that go to all of them (pause, resume,
/// stop), and how the run ended. The threads hold the crew; the crew holds only their
/// mailboxes, so a machine whose threads have ended is freed with them.
final class VCPUCrew: Sendable {
    struct RunState {
        var started = false
        var ended = 0
        var outcome: MachineOutcome?
    }

    let mailboxes: [VCPUMailbox]
    let lockstep: LockstepMeet?
    /// The outcome when every thread ends with none recorded: `.framesCompleted` with a frame limit.
    private let quietEnd: MachineOutcome
    private let run = Monitor(RunState())

    init(mailboxes: [VCPUMailbox], lockstep: LockstepMeet?, quietEnd: MachineOutcome) {
        self.mailboxes = mailboxes
        self.lockstep = lockstep
        self.quietEnd = quietEnd
    }

    /// Runs `body` if the machine has not started, holding `start()` out meanwhile; else throws
    /// `snapshotMismatch("<what> can only be restored before the machine starts")`.
    func beforeStart<R>(restoring what: String, _ body: () throws(MachineError) -> R) throws(MachineError) -> R {
        try run.withLock { r throws(MachineError) in
            guard !r.started else { throw .snapshotMismatch("\(what) can only be restored before the machine starts") }
            return try body()
        }
    }

    /// Marks the run started and every vCPU owned by its thread-to-be.
    func markStarted() {
        run.withLock { r in
            precondition(!r.started, "Machine.start() called twice")
            r.started = true
        }
        for m in mailboxes { m.claimForThread() }
    }

    /// Takes every vCPU out of the guest and returns once each is held (or ended).
    func pause() {
        for m in mailboxes { m.post(.pause) }
        for m in mailboxes { m.waitUntilHeld() }
    }

    func resume() { for m in mailboxes { m.post(.run) } }

    /// Records the run's outcome (the first one stands) and makes every vCPU leave.
    func finish(with outcome: MachineOutcome) {
        run.withLock { r in if r.outcome == nil { r.outcome = outcome } }
        for m in mailboxes { m.post(.stop) }
    }

    /// A vCPU thread has ended.
    func threadEnded() {
        run.withLock { r in
            r.ended += 1
            if r.ended == mailboxes.count, r.outcome == nil { r.outcome = quietEnd }
        }
    }

    /// Waits until every thread has ended, or until host time `deadline` (then nil).
    func wait(untilUptime deadline: UInt64?) -> MachineOutcome? {
        run.wait(untilUptime: deadline) { r in r.ended == mailboxes.count ? (r.outcome ?? .stopped) : nil }
    }

    /// How the run ended, once every thread has; nil while any runs (or before `start()`).
    var outcome: MachineOutcome? {
        run.withLock { r in r.ended == mailboxes.count ? (r.outcome ?? .stopped) : nil }
    }
}
