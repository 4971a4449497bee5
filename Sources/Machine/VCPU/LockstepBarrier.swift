/// Lockstep (`MachineConfig.lockstep`): every vCPU meets at its frame doorbell, and the last
/// to arrive runs `allFramesDone` while the others are held, so nothing writes guest memory
/// meanwhile. This is the bookkeeping alone (who has arrived, who releases which frame), so
/// it is tested without threads; `LockstepMeet` holds it under a lock and wakes the vCPUs.
struct LockstepBarrier: Sendable, Equatable {
    /// What an arriving vCPU does.
    enum Arrival: Equatable, Sendable {
        /// Others have not arrived yet: wait until the frame is released.
        case wait
        /// It is the last: run `allFramesDone` if `runCallback`, then release the frame.
        case release(runCallback: Bool)
    }

    /// The last doorbell at which each vCPU has done its VMM work (counters page, `frameDone`,
    /// input) and waits. The frame count rises before that work, so the meet counts this
    /// instead: `allFramesDone` must not run beside another vCPU's VMM writes.
    private(set) var arrived: [Int]
    /// The last frame released: a vCPU held at this doorbell or an earlier one goes on.
    private(set) var released: Int
    /// The last frame a vCPU has taken on to release (it runs `allFramesDone` unlocked), so
    /// that two vCPUs arriving at the same moment do not both run it.
    private var claimed: Int
    /// Restored with uneven counts (a migration from a run without lockstep): frames below
    /// this are catch-up frames of the vCPUs behind, released without `allFramesDone`
    /// (memory then holds other vCPUs' later frames). A vCPU ahead waits at its doorbell.
    private var catchUp: Int

    /// The barrier for vCPUs that have completed `frameCounts` frames (zeros at boot).
    init(frameCounts: [Int]) {
        arrived = frameCounts
        // A vCPU ahead of the slowest may have been stopped anywhere in its next frame (a
        // source without lockstep pauses vCPUs mid-frame), so memory can already hold part of
        // frame max + 1: with uneven counts the first frame shown to `allFramesDone` is
        // max + 1, the first one every vCPU finishes here.
        let low = frameCounts.min() ?? 0, high = frameCounts.max() ?? 0
        released = low
        claimed = low
        catchUp = high > low ? high + 1 : high
    }

    /// vCPU `cpu` arrived at doorbell `frame` with its VMM work done there.
    mutating func arrive(cpu: Int, frame: Int) -> Arrival {
        arrived[cpu] = frame
        guard arrived.min()! >= frame, claimed < frame else { return .wait }
        claimed = frame
        return .release(runCallback: frame >= catchUp)
    }

    /// The vCPU that claimed `frame` (`arrive` said `.release`) is done with it.
    mutating func release(_ frame: Int) { released = frame }
}
