import Synchronization

/// The lockstep barrier shared by a machine's vCPU threads: the last vCPU to arrive at a
/// doorbell runs `allFramesDone`, then posts the release to every vCPU's mailbox, where the
/// others wait (held, so a pause or a state operation reaches them there).
final class LockstepMeet: Sendable {
    private let barrier: Mutex<LockstepBarrier>
    private let mailboxes: [VCPUMailbox]
    private let allFramesDone: (@Sendable (_ frame: Int) -> Void)?

    init(mailboxes: [VCPUMailbox], allFramesDone: (@Sendable (Int) -> Void)?) {
        self.mailboxes = mailboxes
        self.allFramesDone = allFramesDone
        barrier = Mutex(LockstepBarrier(frameCounts: Array(repeating: 0, count: mailboxes.count)))
    }

    /// Restarts the barrier from restored frame counts (before `start()`).
    func restore(frameCounts: [Int]) {
        let released = barrier.withLock { b in
            b = LockstepBarrier(frameCounts: frameCounts)
            return b.released
        }
        for m in mailboxes { m.release(frame: released) }
    }

    /// The last frame released.
    var released: Int { barrier.withLock { $0.released } }

    /// vCPU `cpu` arrived at doorbell `frame`: the last to arrive runs `allFramesDone` and
    /// releases everyone; the others wait in `mailbox` until then (or until stopped).
    func meet(cpu: Int, frame: Int, waitingIn mailbox: VCPUMailbox) {
        switch barrier.withLock({ $0.arrive(cpu: cpu, frame: frame) }) {
        case .release(let runCallback):
            if runCallback { allFramesDone?(frame) }
            barrier.withLock { $0.release(frame) }
            for m in mailboxes { m.release(frame: frame) }
        case .wait:
            mailbox.waitForRelease(of: frame)
        }
    }
}
