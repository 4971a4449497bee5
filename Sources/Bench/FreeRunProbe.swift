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
    /// The machine, its null sinks and the measured frames (`ProbeMachine`).
    private var guest: ProbeMachine!
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
    private let migrationRoundEvery: Int
    private var refreshes = 0
    /// Why the phase failed (a refresh's error, or how the machine ended), or nil.
    var failure: String? { guest?.failure }

    init(cell: BenchCell, migrationRoundEvery: Int, refreshHz: Double) {
        self.cell = cell
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        period = refreshHz > 0 ? UInt64(1e9 / refreshHz) : 0
    }

    func boot(system: KVMSystem, config: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        guest = try ProbeMachine(system: system, config: config, guestHz: 0, cell: cell, plan: plan, tile: tile)
    }

    /// Runs the guest and the refresh loop for `warmup` unmeasured then `seconds` measured
    /// seconds, then pauses the guest. False if the machine ended or `abandon` returned true.
    func runTurn(seconds: Double, warmup: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        // A doorbell left from before the pause would count the pause (other modes' turns) as latency.
        guest.clearDoorbell()
        guest.startOrResume()
        startRefresher()
        defer {
            stopRefresher.store(true, ordering: .releasing)
            refresherDone.wait()
            guest.session.machine.pause()
        }
        return guest.measure(seconds: seconds, warmup: warmup, abandon: abandon) && failure == nil
    }

    func finish() { guest?.finish() }

    /// Latency and the guest's frame rate into `record`; the refresher's counts into `notes`,
    /// and a finding when the guest made no frame (the refresher starved it) or no latency.
    func fill(_ record: inout BenchRecord, notes: inout [String]) {
        let seconds = Double(guest.measuredNanos) / 1e9
        record.freeRunGuestFPS = guest.guestFPS(cpus: cell.cpus)
        if measuredRefreshes > 0 {
            let rate = period == 0 ? "back to back" : String(format: "%.0f Hz", 1e9 / Double(period))
            var line = "free-run: \(measuredRefreshes) refreshes (\(rate)), \(idleRefreshes) found nothing"
            if let fps = record.freeRunGuestFPS { line += String(format: "; guest %.0f fps", fps) }
            if let p50 = refreshTimes.percentile(0.5), let p99 = refreshTimes.percentile(0.99) {
                line += String(format: "; the others took p50 %.0f us, p99 %.0f us", p50 / 1000, p99 / 1000)
            }
            notes.append(line + String(format: "; longest %.0f us", Double(longestRefresh) / 1000))
        }
        if let finding = Self.finding(frames: guest.measuredFrames, seconds: seconds, latencySamples: latencies.total,
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
            let doorbell: UInt64, tiles: Int
            do {
                (doorbell, tiles) = try guest.sync()
            } catch {
                guest.failure = "\(error)"
                guest.session.machine.stop()
                return
            }
            if guest.measuring.load(ordering: .relaxed) {
                let took = DispatchTime.now().uptimeNanoseconds - t0
                longestRefresh = max(longestRefresh, took)
                measuredRefreshes += 1
                if tiles > 0 { refreshTimes.record(took) } else { idleRefreshes += 1 }
                if doorbell != 0 && guest.copyEnd > doorbell { latencies.record(guest.copyEnd - doorbell) }
            }
            refreshes += 1
            if cell.migration && refreshes % migrationRoundEvery == 0 { _ = guest.session.endMigrationRound() }
        }
    }
}

