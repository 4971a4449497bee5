import Dispatch
import Display
import Foundation
import KVM
import Machine
import Synchronization
import Tracking

/// What the timed probes (`FreeRunProbe`, `PacedProbe`) share: the cell's tracked machine,
/// booted without lockstep or frame limit and with the cell's null sinks; the oldest unshown
/// doorbell and the end of the last copy, for write-to-present latency; turns that start or
/// resume the guest and add up the frames it completes over their measured seconds.
final class ProbeMachine: Sendable {
    let session: TrackingSession
    /// Display sinks that read every sync's damage and draw nothing (`BenchCell.sinks`).
    private let sinks: [DisplaySink]
    /// Time of the oldest doorbell no sync has started after yet (ns, 0 = none). A doorbell
    /// stores its time only into an empty slot; each sync empties the slot just before it
    /// harvests, so every frame behind that doorbell is in that sync's harvest.
    private let pendingDoorbell: DoorbellSlot
    /// Whether the turn is in its measured seconds.
    let measuring = Atomic<Bool>(false)
    /// Set by the sync's body, under the session lock, right after the copy.
    private let copyEndStamp: CopyEndStamp
    /// Stamps `copyEndStamp`; made once, so a sync allocates nothing.
    private let stampCopyEnd: @Sendable (DisplayTracker, DirtyTileBitmap) -> Void
    private struct Turns {
        var started = false
        var measuredFrames = 0
        var measuredNanos: UInt64 = 0
        /// Why the machine ended during a turn (first cause wins), or nil.
        var failure: String?
    }
    private let turns = Mutex(Turns())
    /// Frames (summed over vCPUs) the guest runs before its first measured seconds, and the
    /// longest that may take (`BenchWorkload.leadInFrames`).
    private let leadInFrames: Int
    private let leadInLimit: Double

    /// Boots `base` for `cell` at `guestHz` (0 = free-running); `doorbell` runs on the vCPU
    /// thread after each frame's doorbell time is noted.
    init(system: KVMSystem, config base: MachineConfig, guestHz: Double, cell: BenchCell, plan: TrackingPlan, tile: TileSizeSpec,
         doorbell: @escaping @Sendable () -> Void = {}) throws(TrackingError) {
        var config = base
        config.lockstep = false
        config.guestHz = guestHz
        config.frameLimit = nil
        leadInFrames = cell.workload.leadInFrames * max(1, cell.cpus)
        leadInLimit = 60 + (guestHz > 0 ? 2 * Double(cell.workload.leadInFrames) / guestHz : 0)
        let slot = DoorbellSlot()
        var events = MachineEvents()
        events.frameDone = { _, _ in
            slot.note()
            doorbell()
        }
        pendingDoorbell = slot
        session = try TrackingSession(system: system, config: config, plan: plan, tile: tile.size,
                                      migration: cell.migration, events: events)
        let session = session
        sinks = (0..<cell.sinks).map { session.makeDisplaySink(name: "null sink \($0)") }
        let stamp = CopyEndStamp()
        copyEndStamp = stamp
        stampCopyEnd = { _, _ in stamp.value.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
    }

    /// The end of the last sync's copy (ns); read on the thread that ran the sync.
    var copyEnd: UInt64 { copyEndStamp.value.load(ordering: .relaxed) }
    var measuredFrames: Int { turns.withLock { $0.measuredFrames } }
    var measuredNanos: UInt64 { turns.withLock { $0.measuredNanos } }
    var failure: String? { turns.withLock { $0.failure } }

    /// Records why the phase failed, unless a cause is already recorded.
    func fail(_ why: String) { turns.withLock { $0.failure = $0.failure ?? why } }

    /// Forgets a doorbell left from before a pause: it would count the pause as latency.
    func clearDoorbell() { pendingDoorbell.clear() }

    /// Starts the guest on the first turn, resumes it on the others.
    func startOrResume() {
        let resume = turns.withLock { t in defer { t.started = true }; return t.started }
        if resume { session.machine.resume() } else { session.machine.start() }
    }

    /// One sync (harvest, fold, copy, stamping `copyEnd`) and the null sinks' reads. Returns
    /// the oldest doorbell it shows (0 = none) and the tiles it repainted.
    func sync() throws -> (doorbell: UInt64, tiles: Int) {
        let doorbell = pendingDoorbell.take()
        let tiles = try session.sync(stampCopyEnd)
        for sink in sinks { session.read(sink) { _, _ in } }
        return (doorbell, tiles)
    }

    /// `warmup` unmeasured seconds, then `seconds` measured with `measuring` set, whose frames
    /// and time are added up; `window(true)` and `window(false)` run just before and just
    /// after the measured seconds. False if `abandon` said so or the machine ended.
    func measure(seconds: Double, warmup: Double, abandon: () -> Bool, window: (_ opening: Bool) -> Void = { _ in }) -> Bool {
        if !leadIn(abandon) { return false }
        if warmup > 0 && !sleep(warmup, abandon) { return false }
        window(true)
        let f0 = frames()
        let t0 = DispatchTime.now().uptimeNanoseconds
        measuring.store(true, ordering: .releasing)
        let completed = sleep(seconds, abandon)
        measuring.store(false, ordering: .releasing)
        let f1 = frames()
        let t1 = DispatchTime.now().uptimeNanoseconds
        window(false)
        guard completed else { return false }
        if session.machine.isFinished {
            fail(describe(session.machine.wait()))
            return false
        }
        turns.withLock { t in
            t.measuredFrames += f1 - f0
            t.measuredNanos += t1 - t0
        }
        return true
    }

    /// The guest's frames per second per vCPU over the measured seconds (nil before any).
    func guestFPS(cpus: Int) -> Double? {
        let (frames, nanos) = turns.withLock { ($0.measuredFrames, $0.measuredNanos) }
        return nanos > 0 ? Double(frames) / Double(max(1, cpus)) / (Double(nanos) / 1e9) : nil
    }

    func finish() {
        session.machine.stop()
        if turns.withLock({ $0.started }) { session.machine.wait() }
    }

    /// Runs the guest until it has made `leadInFrames` frames (at once if it has); false if
    /// `abandon` said so, the machine ended, or it took longer than `leadInLimit`.
    func leadIn(_ abandon: () -> Bool) -> Bool {
        let start = DispatchTime.now().uptimeNanoseconds
        while frames() < leadInFrames {
            if Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 > leadInLimit {
                fail("the guest made \(frames()) of its \(leadInFrames) lead-in frames in \(Int(leadInLimit)) s")
                return false
            }
            if !sleep(0.005, abandon) { return false }
        }
        return true
    }

    /// Frames completed, summed over vCPUs.
    private func frames() -> Int { session.machine.totalFramesCompleted }

    /// Sleeps in short slices; false if `abandon` said so or the machine ended.
    private func sleep(_ seconds: Double, _ abandon: () -> Bool) -> Bool {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= end { return true }
            if abandon() { return false }
            if session.machine.isFinished { fail(describe(session.machine.wait())); return false }
            usleep(UInt32(min(end - now, 20_000_000) / 1000))
        }
    }
}

/// The oldest doorbell not yet behind a sync (ns, 0 = none).
final class DoorbellSlot: Sendable {
    private let time = Atomic<UInt64>(0)
    /// A doorbell: its time goes in only if the slot is empty.
    func note() {
        _ = time.compareExchange(expected: 0, desired: DispatchTime.now().uptimeNanoseconds, ordering: .acquiringAndReleasing)
    }
    /// Empties the slot just before a harvest; returns what it held.
    func take() -> UInt64 { time.exchange(0, ordering: .acquiringAndReleasing) }
    func clear() { time.store(0, ordering: .releasing) }
}

/// When the last sync's copy ended (ns).
final class CopyEndStamp: Sendable {
    let value = Atomic<UInt64>(0)
}
