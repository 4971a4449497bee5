import Dispatch
import Display
import Foundation
import KVM
import Machine
import Synchronization
import Tracking

/// Phase C of a cell, at one rate pair: the guest paced at the pair's guest Hz (the machine's
/// own pacing, `MachineConfig.guestHz`), synced by a `SyncLoop` exactly as `ringside run`
/// drives it: period `1 / SyncLoop.rate(display:guestHz:)`, poked from every frame doorbell.
/// Gives the latency users see, from a frame's doorbell to the end of the copy into the
/// shadow of the first sync that started after it, and the guest's achieved frame rate.
///
/// The runner gives each probe one unbroken turn: a guest resumed after a pause makes a frame
/// at once, into a fresh loop that has just spent its token, so turns would add a late frame
/// each. Between turns (if any) the guest is paused and the loop stopped.
final class PacedProbe: Sendable {
    let cell: BenchCell
    let rates: BenchRatePair
    /// The machine, its null sinks and the measured frames (`ProbeMachine`).
    private let guest: ProbeMachine
    /// The running turn's loop; doorbells poke it. Nil between turns.
    private let loop: LoopSlot
    private let migrationRoundEvery: Int
    /// Written on the loop's thread only while a turn runs; read after it stopped.
    private struct Syncs {
        var latencies = LatencyHistogram()
        /// Doorbell to the start of the sync that shows it: the loop's wake-up (where the time
        /// goes when the latency is not the sync's own work).
        var wakeups = LatencyHistogram()
        /// Each measured frame's latency split three ways (ns), preallocated: the wait for the
        /// loop's token bucket, the rest of the wake-up (the scheduler), and the sync's own work
        /// (lock, harvest, reset, fold, copy).
        var splits = [(latency: UInt64, token: UInt64, wake: UInt64, work: UInt64)](repeating: (0, 0, 0, 0), count: 1 << 14)
        var splitCount = 0
        /// The loop's token bucket, replayed from sync start times (`SyncLoop` refills one token
        /// per period up to 1.25 and spends one per sync; the replay is exact up to clock reads).
        var bucketTokens = 0.0
        var lastSyncStart: UInt64 = 0
        var count = 0
        var failure: String?
        /// The session's phase timers over the measured syncs (added by the driver).
        var measuredStats = TrackingStats()
    }
    private let syncs = Mutex(Syncs())
    /// Why the phase failed (a sync's error, or how the machine ended), or nil.
    var failure: String? { guest.failure }

    /// Builds the cell's machine (not started), paced at the pair's guest rate.
    init(cell: BenchCell, rates: BenchRatePair, migrationRoundEvery: Int,
         system: KVMSystem, config: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        self.cell = cell
        self.rates = rates
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        // As ringside run: the doorbell is noted, then the loop poked.
        let loop = LoopSlot()
        self.loop = loop
        guest = try ProbeMachine(system: system, config: config, guestHz: Double(rates.guestHz), cell: cell, plan: plan, tile: tile) {
            loop.poke()
        }
    }

    /// Syncs per second at most, as `ringside run --guest-hz G --refresh D` allows them.
    var syncRate: Double { SyncLoop.rate(display: Double(rates.displayHz), guestHz: Double(rates.guestHz)) }

    /// Runs the paced guest and its sync loop for `warmup` unmeasured then `seconds` measured
    /// seconds, then pauses the guest and stops the loop. False if the machine ended or
    /// `abandon` returned true.
    func runTurn(seconds: Double, warmup: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        // A doorbell left from before the pause would count the pause as latency.
        guest.clearDoorbell()
        syncs.withLock { $0.lastSyncStart = 0 } // a new loop starts with one token and spends it at once
        let l = SyncLoop(period: 1 / syncRate) { [unowned self] in syncOnce() }
        loop.set(l)
        l.start()
        guest.startOrResume()
        defer {
            guest.measuring.store(false, ordering: .releasing)
            guest.session.machine.pause()
            loop.set(nil)
            l.stop()
            if let e = syncs.withLock({ $0.failure }) { guest.fail(e) }
        }
        let completed = guest.measure(seconds: seconds, warmup: warmup, abandon: abandon) { opening in
            let stats = guest.session.takeIntervalStats()
            if !opening { syncs.withLock { $0.measuredStats.add(stats) } }
        }
        return completed && syncs.withLock({ $0.failure }) == nil
    }

    func finish() { guest.finish() }

    /// The loop's body: one sync as `ringside run` does it, then the null sinks read.
    private func syncOnce() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let doorbell: UInt64
        do {
            doorbell = try guest.sync().doorbell
        } catch {
            syncs.withLock { $0.failure = $0.failure ?? "\(error)" }
            guest.session.machine.stop()
            return
        }
        let copyEnd = guest.copyEnd
        let measuring = guest.measuring.load(ordering: .acquiring)
        let period = 1e9 / syncRate
        let count = syncs.withLock { s in
            // When could the loop have had a token for this doorbell?
            var tokenReady = t0
            if s.lastSyncStart == 0 {
                s.bucketTokens = 1
            } else {
                tokenReady = s.lastSyncStart + UInt64(max(0, 1 - s.bucketTokens) * period)
                s.bucketTokens = min(1.25, s.bucketTokens + Double(t0 - s.lastSyncStart) / period)
            }
            s.bucketTokens -= 1
            s.lastSyncStart = t0
            if measuring && doorbell != 0 && copyEnd > doorbell {
                let wake = t0 > doorbell ? t0 - doorbell : 0
                s.latencies.record(copyEnd - doorbell)
                s.wakeups.record(wake)
                if s.splitCount < s.splits.count {
                    let token = min(wake, tokenReady > doorbell ? tokenReady - doorbell : 0)
                    s.splits[s.splitCount] = (copyEnd - doorbell, token, wake - token, copyEnd - max(t0, doorbell))
                    s.splitCount += 1
                }
            }
            s.count += 1
            return s.count
        }
        if cell.migration && count % migrationRoundEvery == 0 { _ = guest.session.endMigrationRound() }
    }

    /// This pair's result, and a note on where the time went.
    func result(notes: inout [String]) -> BenchPacedResult {
        let (latencies, wakeups, st) = syncs.withLock { ($0.latencies, $0.wakeups, $0.measuredStats) }
        let (splits, splitCount) = syncs.withLock { ($0.splits, $0.splitCount) }
        var r = BenchPacedResult(rates: rates, samples: Int(latencies.total))
        let (measuredFrames, measuredNanos) = (guest.measuredFrames, guest.measuredNanos)
        let seconds = Double(measuredNanos) / 1e9
        r.guestFPS = guest.guestFPS(cpus: cell.cpus)
        r.latencyP50Micros = latencies.percentile(0.5).map { $0 / 1000 }
        r.latencyP99Micros = latencies.percentile(0.99).map { $0 / 1000 }
        let n = Double(max(1, st.syncs))
        func us(_ ns: UInt64) -> Double { Double(ns) / n / 1000 }
        var line = "paced \(rates) (sync rate \(formatNumber(syncRate))/s): \(measuredFrames) frames, \(st.syncs) syncs"
        if let w50 = wakeups.percentile(0.5), let w99 = wakeups.percentile(0.99) {
            line += String(format: "; doorbell to sync start p50 %.0f us, p99 %.0f us", w50 / 1000, w99 / 1000)
        }
        if splitCount > 0 {
            // The samples at or above the p99 rank, so the split explains the p99.
            let tail = splitCount - Int((0.99 * Double(splitCount)).rounded(.up)) + 1
            let worst = splits[0..<splitCount].sorted { $0.latency > $1.latency }.prefix(max(1, tail))
            func mean(_ f: ((latency: UInt64, token: UInt64, wake: UInt64, work: UInt64)) -> UInt64) -> Double {
                Double(worst.reduce(0) { $0 + f($1) }) / Double(worst.count) / 1000
            }
            line += String(format: "; the %d at or above p99 average %.0f us = token wait %.0f + scheduler %.0f + sync %.0f",
                           worst.count, mean(\.latency), mean(\.token), mean(\.wake), mean(\.work))
        }
        line += String(format: "; per sync harvest %.1f, reset %.1f, fold %.1f, copy %.1f us (%.0f KiB)",
                       us(st.harvestNanos), us(st.resetNanos), us(st.foldNanos), us(st.copyNanos), Double(st.bytesCopied) / n / 1024)
        if st.ringFullHarvests > 0 { line += "; \(st.ringFullHarvests) ring-full harvests" }
        notes.append(line)
        if measuredNanos > 0 && measuredFrames == 0 {
            notes.append("FINDING paced \(rates): the guest made no frame in \(formatSeconds(seconds)), so there is no latency")
        }
        return r
    }
}

/// The running turn's sync loop, for the doorbells to poke; nil between turns.
final class LoopSlot: Sendable {
    private let loop = Mutex<SyncLoop?>(nil)
    func set(_ l: SyncLoop?) { loop.withLock { $0 = l } }
    func poke() { loop.withLock { $0 }?.poke() }
}

extension TrackingStats {
    /// Adds another interval's phase timers and counts.
    mutating func add(_ s: TrackingStats) {
        syncs += s.syncs
        ringFullHarvests += s.ringFullHarvests
        harvestNanos += s.harvestNanos
        resetNanos += s.resetNanos
        foldNanos += s.foldNanos
        copyNanos += s.copyNanos
        bytesCopied += s.bytesCopied
        dirtyTiles += s.dirtyTiles
    }
}
