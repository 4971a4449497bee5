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
final class PacedProbe: @unchecked Sendable {
    let cell: BenchCell
    let rates: BenchRatePair
    /// The machine, its null sinks and the measured frames (`ProbeMachine`).
    private var guest: ProbeMachine!
    /// The running turn's loop; doorbells poke it. Nil between turns.
    private let loop = Mutex<SyncLoop?>(nil)
    private let migrationRoundEvery: Int
    // Written on the loop's thread only while a turn runs; read after it stopped.
    private var latencies = LatencyHistogram()
    /// Doorbell to the start of the sync that shows it: the loop's wake-up (where the time
    /// goes when the latency is not the sync's own work).
    private var wakeups = LatencyHistogram()
    /// Each measured frame's latency split three ways (ns), preallocated: the wait for the
    /// loop's token bucket, the rest of the wake-up (the scheduler), and the sync's own work
    /// (lock, harvest, reset, fold, copy).
    private var splits: [(latency: UInt64, token: UInt64, wake: UInt64, work: UInt64)]
    private var splitCount = 0
    /// The loop's token bucket, replayed from sync start times (`SyncLoop` refills one token
    /// per period up to 1.25 and spends one per sync; the replay is exact up to clock reads).
    private var bucketTokens = 0.0
    private var lastSyncStart: UInt64 = 0
    private var syncs = 0
    private let syncFailure = Mutex<String?>(nil)
    /// The session's phase timers over the measured syncs (main thread only).
    private var measuredStats = TrackingStats()
    /// Why the phase failed (a sync's error, or how the machine ended), or nil.
    var failure: String? { guest?.failure }

    init(cell: BenchCell, rates: BenchRatePair, migrationRoundEvery: Int) {
        self.cell = cell
        self.rates = rates
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        splits = Array(repeating: (0, 0, 0, 0), count: 1 << 14)
    }

    /// Syncs per second at most, as `ringside run --guest-hz G --refresh D` allows them.
    var syncRate: Double { SyncLoop.rate(display: Double(rates.displayHz), guestHz: Double(rates.guestHz)) }

    func boot(system: KVMSystem, config: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        // As ringside run: the doorbell is noted, then the loop poked.
        guest = try ProbeMachine(system: system, config: config, guestHz: Double(rates.guestHz), cell: cell, plan: plan, tile: tile) { [weak self] in
            self?.loop.withLock { $0 }?.poke()
        }
    }

    /// Runs the paced guest and its sync loop for `warmup` unmeasured then `seconds` measured
    /// seconds, then pauses the guest and stops the loop. False if the machine ended or
    /// `abandon` returned true.
    func runTurn(seconds: Double, warmup: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        // A doorbell left from before the pause would count the pause as latency.
        guest.clearDoorbell()
        lastSyncStart = 0 // a new loop starts with one token and spends it at once
        let l = SyncLoop(period: 1 / syncRate) { [unowned self] in syncOnce() }
        loop.withLock { $0 = l }
        l.start()
        guest.startOrResume()
        defer {
            guest.measuring.store(false, ordering: .releasing)
            guest.session.machine.pause()
            loop.withLock { $0 = nil }
            l.stop()
            if let e = syncFailure.withLock({ $0 }) { guest.failure = guest.failure ?? e }
        }
        let completed = guest.measure(seconds: seconds, warmup: warmup, abandon: abandon) { opening in
            if opening { _ = guest.session.takeIntervalStats() } else { add(guest.session.takeIntervalStats()) }
        }
        return completed && syncFailure.withLock({ $0 }) == nil
    }

    func finish() { guest?.finish() }

    /// The loop's body: one sync as `ringside run` does it, then the null sinks read.
    private func syncOnce() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let doorbell: UInt64
        do {
            doorbell = try guest.sync().doorbell
        } catch {
            syncFailure.withLock { $0 = $0 ?? "\(error)" }
            guest.session.machine.stop()
            return
        }
        // When could the loop have had a token for this doorbell?
        let period = 1e9 / syncRate
        var tokenReady = t0
        if lastSyncStart == 0 {
            bucketTokens = 1
        } else {
            tokenReady = lastSyncStart + UInt64(max(0, 1 - bucketTokens) * period)
            bucketTokens = min(1.25, bucketTokens + Double(t0 - lastSyncStart) / period)
        }
        bucketTokens -= 1
        lastSyncStart = t0
        let copyEnd = guest.copyEnd
        if guest.measuring.load(ordering: .acquiring) && doorbell != 0 && copyEnd > doorbell {
            let wake = t0 > doorbell ? t0 - doorbell : 0
            latencies.record(copyEnd - doorbell)
            wakeups.record(wake)
            if splitCount < splits.count {
                let token = min(wake, tokenReady > doorbell ? tokenReady - doorbell : 0)
                splits[splitCount] = (copyEnd - doorbell, token, wake - token, copyEnd - max(t0, doorbell))
                splitCount += 1
            }
        }
        syncs += 1
        if cell.migration && syncs % migrationRoundEvery == 0 { _ = guest.session.endMigrationRound() }
    }

    private func add(_ s: TrackingStats) {
        measuredStats.syncs += s.syncs
        measuredStats.ringFullHarvests += s.ringFullHarvests
        measuredStats.harvestNanos += s.harvestNanos
        measuredStats.resetNanos += s.resetNanos
        measuredStats.foldNanos += s.foldNanos
        measuredStats.copyNanos += s.copyNanos
        measuredStats.bytesCopied += s.bytesCopied
        measuredStats.dirtyTiles += s.dirtyTiles
    }

    /// This pair's result, and a note on where the time went.
    func result(notes: inout [String]) -> BenchPacedResult {
        var r = BenchPacedResult(rates: rates, samples: Int(latencies.total))
        let (measuredFrames, measuredNanos) = (guest.measuredFrames, guest.measuredNanos)
        let seconds = Double(measuredNanos) / 1e9
        r.guestFPS = guest.guestFPS(cpus: cell.cpus)
        r.latencyP50Micros = latencies.percentile(0.5).map { $0 / 1000 }
        r.latencyP99Micros = latencies.percentile(0.99).map { $0 / 1000 }
        let st = measuredStats
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
