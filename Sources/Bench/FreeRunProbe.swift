import Dispatch
import Display
import Foundation
import KVM
import Machine
import Synchronization
import Tracking

/// Phase B of a cell: the guest free-running (no pacing, no lockstep) while a refresh thread
/// harvests and copies back to back, uncapped. Gives what tracking costs the guest (its
/// frames per second) and the write-to-present latency: from a frame's doorbell to the end
/// of the copy into the shadow of the first refresh that started after it.
///
/// Runs in turns like `LockstepProbe`: between turns the machine is paused.
final class FreeRunProbe: @unchecked Sendable {
    let cell: BenchCell
    private(set) var session: TrackingSession!
    /// Display sinks that read every sync's damage and draw nothing (`BenchCell.sinks`).
    private var sinks: [DisplaySink] = []
    /// Time of the oldest doorbell no refresh has started after yet (ns, 0 = none). A doorbell
    /// stores its time only into an empty slot; each refresh empties the slot just before it
    /// harvests, so every frame behind that doorbell is in that refresh's harvest.
    private let pendingDoorbell = Atomic<UInt64>(0)
    private let measuring = Atomic<Bool>(false)
    private let stopRefresher = Atomic<Bool>(false)
    private let refresherDone = DispatchSemaphore(value: 0)
    private var latencies = LatencyHistogram()
    /// How long each measured refresh that repainted something took (harvest to the end of
    /// the null present); refreshes that found nothing are only counted.
    private var refreshTimes = LatencyHistogram()
    private var idleRefreshes = 0
    private var longestRefresh: UInt64 = 0
    private var measuredRefreshes = 0
    /// Refresh period in ns; 0 = back to back.
    private let period: UInt64
    /// Set by the refresh's body, under the session lock, right after the copy.
    private var copyEnd: UInt64 = 0
    private var stampCopyEnd: ((DisplayTracker, DirtyTileBitmap) -> Void)!
    private let migrationRoundEvery: Int
    private var refreshes = 0
    private var started = false
    private var measuredFrames = 0
    private var measuredNanos: UInt64 = 0
    private(set) var failure: String?

    init(cell: BenchCell, migrationRoundEvery: Int, refreshHz: Double) {
        self.cell = cell
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        period = refreshHz > 0 ? UInt64(1e9 / refreshHz) : 0
    }

    func boot(system: KVMSystem, config base: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        var config = base
        config.lockstep = false
        config.guestHz = 0
        config.frameLimit = nil
        var events = MachineEvents()
        events.frameDone = { [weak self] _, _ in
            guard let self else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            _ = self.pendingDoorbell.compareExchange(expected: 0, desired: now, ordering: .acquiringAndReleasing)
        }
        session = try TrackingSession(system: system, config: config, plan: plan, tile: tile.size,
                                      migration: cell.migration, events: events)
        sinks = (0..<cell.sinks).map { session.makeDisplaySink(name: "null sink \($0)") }
        stampCopyEnd = { [unowned self] _, _ in self.copyEnd = DispatchTime.now().uptimeNanoseconds }
    }

    /// Runs the guest and the refresh loop for `warmup` unmeasured then `seconds` measured
    /// seconds, then pauses the guest. False if the machine ended or `abandon` returned true.
    func runTurn(seconds: Double, warmup: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        let m = session.machine
        // A doorbell left from before the pause would count the pause (other modes' turns) as latency.
        pendingDoorbell.store(0, ordering: .releasing)
        if started { m.resume() } else { started = true; m.start() }
        startRefresher()
        defer {
            stopRefresher.store(true, ordering: .releasing)
            refresherDone.wait()
            m.pause()
        }
        if warmup > 0 && !sleep(warmup, abandon) { return false }
        let f0 = frames()
        let t0 = DispatchTime.now().uptimeNanoseconds
        measuring.store(true, ordering: .releasing)
        let completed = sleep(seconds, abandon)
        measuring.store(false, ordering: .releasing)
        let f1 = frames()
        let t1 = DispatchTime.now().uptimeNanoseconds
        guard completed else { return false }
        if m.isFinished {
            failure = failure ?? describe(m.wait())
            return false
        }
        measuredFrames += f1 - f0
        measuredNanos += t1 - t0
        return failure == nil
    }

    func finish() {
        guard let session else { return }
        session.machine.stop()
        if started { session.machine.wait() }
    }

    /// Latency and the guest's frame rate into `record`; the refresher's counts into `notes`,
    /// and a finding when the guest made no frame (the refresher starved it) or no latency.
    func fill(_ record: inout BenchRecord, notes: inout [String]) {
        let seconds = Double(measuredNanos) / 1e9
        if measuredNanos > 0 { record.freeRunGuestFPS = Double(measuredFrames) / Double(max(1, cell.cpus)) / seconds }
        if measuredRefreshes > 0 {
            let rate = period == 0 ? "back to back" : String(format: "%.0f Hz", 1e9 / Double(period))
            var line = "free-run: \(measuredRefreshes) refreshes (\(rate)), \(idleRefreshes) found nothing"
            if let fps = record.freeRunGuestFPS { line += String(format: "; guest %.0f fps", fps) }
            if let p50 = refreshTimes.percentile(0.5), let p99 = refreshTimes.percentile(0.99) {
                line += String(format: "; the others took p50 %.0f us, p99 %.0f us", p50 / 1000, p99 / 1000)
            }
            notes.append(line + String(format: "; longest %.0f us", Double(longestRefresh) / 1000))
        }
        if let finding = Self.finding(frames: measuredFrames, seconds: seconds, latencySamples: latencies.total,
                                      busySyncs: measuredRefreshes - idleRefreshes) { notes.append(finding) }
        record.latencyP50Micros = latencies.percentile(0.5).map { $0 / 1000 }
        record.latencyP99Micros = latencies.percentile(0.99).map { $0 / 1000 }
    }

    /// The note for a free-run phase with no latency to report, or nil: every cell says why
    /// its latency is empty rather than leaving it empty silently.
    /// `busySyncs` is how many measured syncs found something repainted: a guest that made no
    /// frame but kept the syncs busy was running, yet never reached its doorbell.
    static func finding(frames: Int, seconds: Double, latencySamples: UInt64, busySyncs: Int) -> String? {
        guard seconds > 0, latencySamples == 0 else { return nil }
        if frames == 0 {
            let writing = busySyncs > 0 ? " although \(busySyncs) syncs found it drawing" : ""
            return "FINDING free-run: the guest made no frame in \(formatSeconds(seconds))\(writing): the back-to-back refresher starved it, so there is no latency (free_run_guest_fps 0)"
        }
        return "FINDING free-run: the guest made \(frames) frames but no sync started after a doorbell in the measured time, so there is no latency"
    }

    /// Frames completed, summed over vCPUs.
    private func frames() -> Int {
        let m = session.machine
        return m.frameCounts.reduce(0, +)
    }

    /// Sleeps in short slices; false if `abandon` said so or the machine ended.
    private func sleep(_ seconds: Double, _ abandon: () -> Bool) -> Bool {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= end { return true }
            if abandon() { return false }
            if session.machine.isFinished { failure = failure ?? describe(session.machine.wait()); return false }
            usleep(UInt32(min(end - now, 20_000_000) / 1000))
        }
    }

    private func startRefresher() {
        stopRefresher.store(false, ordering: .releasing)
        let t = Thread { [self] in
            refreshLoop()
            refresherDone.signal()
        }
        t.name = "bench-refresh"
        t.start()
    }

    /// Back-to-back refreshes until told to stop. Allocates nothing per refresh.
    private func refreshLoop() {
        var next = DispatchTime.now().uptimeNanoseconds
        while !stopRefresher.load(ordering: .acquiring) {
            if period > 0 {
                next += period
                let now = DispatchTime.now().uptimeNanoseconds
                if next > now { usleep(UInt32((next - now) / 1000)) } else { next = now }
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let doorbell = pendingDoorbell.exchange(0, ordering: .acquiringAndReleasing)
            var tiles = 0
            do {
                tiles = try session.sync(stampCopyEnd)
            } catch {
                failure = "\(error)"
                session.machine.stop()
                return
            }
            for sink in sinks { session.read(sink) { _, _ in } } // null sinks
            if measuring.load(ordering: .relaxed) {
                let took = DispatchTime.now().uptimeNanoseconds - t0
                longestRefresh = max(longestRefresh, took)
                measuredRefreshes += 1
                if tiles > 0 { refreshTimes.record(took) } else { idleRefreshes += 1 }
                if doorbell != 0 && copyEnd > doorbell { latencies.record(copyEnd - doorbell) }
            }
            refreshes += 1
            if cell.migration && refreshes % migrationRoundEvery == 0 { _ = session.endMigrationRound() }
        }
    }
}

