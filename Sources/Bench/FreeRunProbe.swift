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
final class FreeRunProbe: Sendable {
    let cell: BenchCell
    /// The machine, its null sinks and the measured frames (`ProbeMachine`).
    private let guest: ProbeMachine
    private let stopRefresher = Atomic<Bool>(false)
    private let refresherDone = DispatchSemaphore(value: 0)
    /// Written by the refresh thread while a turn runs; read after it stopped.
    private struct Refreshes {
        var latencies = LatencyHistogram()
        /// How long each measured refresh that repainted something took (harvest to the end of
        /// the null present); refreshes that found nothing are only counted.
        var times = LatencyHistogram()
        var idle = 0
        var longest: UInt64 = 0
        var measured = 0
        var count = 0
        /// Auto: measured refreshes made while the framebuffer was logged, and the session's
        /// method switches when measuring began and ended.
        var logged = 0
        var switchesAtStart: Int?
        var switchesAtEnd = 0
    }
    private let refreshes = Mutex(Refreshes())
    /// Refresh period in ns; 0 = back to back.
    private let period: UInt64
    private let migrationRoundEvery: Int
    /// Why the phase failed (a refresh's error, or how the machine ended), or nil.
    var failure: String? { guest.failure }

    /// Builds the cell's machine (not started).
    init(cell: BenchCell, migrationRoundEvery: Int, refreshHz: Double,
         system: KVMSystem, config: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        self.cell = cell
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        period = refreshHz > 0 ? UInt64(1e9 / refreshHz) : 0
        guest = try ProbeMachine(system: system, config: config, guestHz: 0, cell: cell, plan: plan, tile: tile)
    }

    /// Runs the guest and the refresh loop for `warmup` unmeasured then `seconds` measured
    /// seconds, then pauses the guest. False if the machine ended or `abandon` returned true.
    func runTurn(seconds: Double, warmup: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        // A doorbell left from before the pause would count the pause (other modes' turns) as latency.
        guest.clearDoorbell()
        guest.startOrResume()
        // The lead-in (DOOM's title screen) runs before the refresher starts: back-to-back
        // harvests re-protect a logged guest's pages after every write, and on PVM, where a
        // write fault costs 15 us, that held DOOM to 3-197 of its 240 lead-in frames in 60 s.
        // A full ring is harvested on the vCPU thread meanwhile (`harvestForRingFull`).
        guard guest.leadIn(abandon) else {
            guest.session.machine.pause()
            return false
        }
        guest.clearDoorbell()
        startRefresher()
        defer {
            stopRefresher.store(true, ordering: .releasing)
            refresherDone.wait()
            guest.session.machine.pause()
        }
        return guest.measure(seconds: seconds, warmup: warmup, abandon: abandon) && failure == nil
    }

    func finish() { guest.finish() }

    /// Latency and the guest's frame rate into `record`; the refresher's counts into `notes`,
    /// and a finding when the guest made no frame (the refresher starved it) or no latency.
    func fill(_ record: inout BenchRecord, notes: inout [String]) {
        let seconds = Double(guest.measuredNanos) / 1e9
        let r = refreshes.withLock { $0 }
        record.freeRunGuestFPS = guest.guestFPS(cpus: cell.cpus)
        if r.measured > 0 {
            let rate = period == 0 ? "back to back" : String(format: "%.0f Hz", 1e9 / Double(period))
            var line = "free-run: \(r.measured) refreshes (\(rate)), \(r.idle) found nothing"
            if let fps = record.freeRunGuestFPS { line += String(format: "; guest %.0f fps", fps) }
            if let p50 = r.times.percentile(0.5), let p99 = r.times.percentile(0.99) {
                line += String(format: "; the others took p50 %.0f us, p99 %.0f us", p50 / 1000, p99 / 1000)
            }
            notes.append(line + String(format: "; longest %.0f us", Double(r.longest) / 1000))
            if cell.mode == .auto { notes.append(autoNote(r)) }
        }
        if let finding = Self.finding(frames: guest.measuredFrames, seconds: seconds, latencySamples: r.latencies.total,
                                      busySyncs: r.measured - r.idle) { notes.append(finding) }
        record.latencyP50Micros = r.latencies.percentile(0.5).map { $0 / 1000 }
        record.latencyP99Micros = r.latencies.percentile(0.99).map { $0 / 1000 }
    }

    /// Auto in the free-run phase: how many measured refreshes ran logged, the switches made
    /// while measuring, and the reasons of the last ones the session kept.
    private func autoNote(_ r: Refreshes) -> String {
        let st = guest.session.totalStats
        let n = r.switchesAtEnd - (r.switchesAtStart ?? r.switchesAtEnd)
        var line = String(format: "auto in free-run: %d of %d refreshes logged (%.0f%%), %d switch%@ from the first measured refresh to the last (warm-ups between turns included)", r.logged, r.measured,
                          100 * Double(r.logged) / Double(max(1, r.measured)), n, n == 1 ? "" : "es")
        if n > 0 { line += "; the last: " + st.switches.suffix(min(n, 3)).map(\.line).joined(separator: " / ") }
        return line
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
                guest.fail("\(error)")
                guest.session.machine.stop()
                return
            }
            let took = DispatchTime.now().uptimeNanoseconds - t0
            let measuring = guest.measuring.load(ordering: .relaxed), copyEnd = guest.copyEnd
            let auto = cell.mode == .auto && measuring
            let logged = auto && guest.session.displayMethod == .logged
            let switches = auto ? guest.session.totalStats.methodSwitches : 0
            let count = refreshes.withLock { r in
                if auto {
                    if r.switchesAtStart == nil { r.switchesAtStart = switches }
                    r.switchesAtEnd = switches
                    if logged { r.logged += 1 }
                }
                if measuring {
                    r.longest = max(r.longest, took)
                    r.measured += 1
                    if tiles > 0 { r.times.record(took) } else { r.idle += 1 }
                    if doorbell != 0 && copyEnd > doorbell { r.latencies.record(copyEnd - doorbell) }
                }
                r.count += 1
                return r.count
            }
            if cell.migration && count % migrationRoundEvery == 0 { _ = guest.session.endMigrationRound() }
        }
    }
}

