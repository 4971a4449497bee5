import Dispatch
import Display
import Foundation
import KVM
import Machine
import Tracking

/// Phase A of a cell: the guest in lockstep, one refresh per guest frame while the guest is
/// held at its doorbell, so each refresh sees exactly one frame's writes and nothing else
/// runs. Gives the exact host cost per frame, split by phase, the dirty counts, and the
/// guest's own time per frame (release to next doorbell), which includes the write faults
/// tracking costs it: one per dirtied page per frame, as for a guest paced to the display.
///
/// The probe runs in turns so the modes of a group can take turns on the same cores: a turn
/// lets the guest draw `n` frames and measures them; then the vCPU waits at its doorbell
/// (inside `allFramesDone`, out of guest mode) until the next turn.
final class LockstepProbe: @unchecked Sendable {
    let cell: BenchCell
    private(set) var session: TrackingSession!
    /// Display sinks that read every sync's damage and draw nothing (`BenchCell.sinks`).
    private var sinks: [DisplaySink] = []
    /// driver -> vCPU: the next turn may start.
    private let gate = DispatchSemaphore(value: 0)
    /// vCPU -> driver: the turn's frames are measured.
    private let turnDone = DispatchSemaphore(value: 0)
    // Written by the driver only while the vCPU waits on `gate` (or before start);
    // the semaphores order those writes before the vCPU reads them.
    private var remaining = 0
    private var released = false
    private var started = false
    private var warmupLeft: Int
    private let migrationRoundEvery: Int

    // Samples, preallocated: measuring a frame allocates nothing.
    private let capacity: Int
    private var hostNs: [UInt64]
    private var harvestNs: [UInt64]
    private var resetNs: [UInt64]
    private var foldNs: [UInt64]
    private var copyNs: [UInt64]
    private var presentNs: [UInt64]
    /// Guest time per frame: from the vCPU's release at one doorbell to its next doorbell.
    private var guestNs: [UInt64]
    private var lastRelease: UInt64 = 0
    private(set) var count = 0
    private var sumPages = 0
    private var sumTiles = 0
    private var sumBytes = 0
    private var ringFullHarvests = 0
    private var resetMismatches = 0
    private var refreshes = 0
    private(set) var failure: String?
    /// Auto: the session's method switches at the end of each turn (so the bench can show
    /// where they happened: the cells take turns, and each turn resumes a held guest).
    private var switchesAtTurnEnd: [Int] = []

    init(cell: BenchCell, frames: Int, warmup: Int, migrationRoundEvery: Int) {
        self.cell = cell
        capacity = frames
        warmupLeft = warmup
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        hostNs = [UInt64](repeating: 0, count: frames)
        harvestNs = hostNs; resetNs = hostNs; foldNs = hostNs; copyNs = hostNs; presentNs = hostNs; guestNs = hostNs
    }

    /// Builds the tracked machine (not started).
    func boot(system: KVMSystem, config base: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        var config = base
        config.lockstep = true
        config.guestHz = 0 // lockstep holds the guest; no pacing on top
        config.frameLimit = nil
        var events = MachineEvents()
        events.allFramesDone = { [weak self] _ in self?.frameCompleted() }
        session = try TrackingSession(system: system, config: config, plan: plan, tile: tile.size,
                                      migration: cell.migration, events: events)
        sinks = (0..<cell.sinks).map { session.makeDisplaySink(name: "null sink \($0)") }
    }

    /// Lets the guest draw `frames` more frames (the first turn adds the warm-up) and waits
    /// until they are measured. False if the machine ended or `abandon` returned true.
    func runTurn(frames: Int, timeout: Double, abandon: () -> Bool) -> Bool {
        guard failure == nil else { return false }
        remaining = frames + (started ? 0 : warmupLeft)
        guard remaining > 0 else { return true }
        if started { gate.signal() } else { started = true; session.machine.start() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while turnDone.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if session.machine.isFinished {
                failure = failure ?? describe(session.machine.wait())
                return false
            }
            if abandon() { return false }
            if Date() > deadline {
                failure = "no guest frame for \(Int(timeout)) s in lockstep"
                return false
            }
        }
        if cell.mode == .auto { switchesAtTurnEnd.append(session.totalStats.methodSwitches) }
        return failure == nil
    }

    /// Stops the machine and waits for its vCPU threads.
    func finish() {
        guard let session else { return }
        session.machine.stop()
        released = true
        gate.signal() // a vCPU waiting at its doorbell leaves now and sees the stop
        if started { session.machine.wait() }
    }

    /// On the vCPU thread, with every vCPU held at its doorbell: one refresh for one frame.
    private func frameCompleted() {
        if released || failure != nil { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let guestTime = lastRelease == 0 ? 0 : t0 - lastRelease
        // Ring-full harvests the vCPU ran during this frame (its writes filled the ring).
        let during = session.takeIntervalStats()
        do {
            try session.sync()
        } catch {
            failure = "\(error)"
            session.machine.stop()
            turnDone.signal()
            return
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        for sink in sinks { session.read(sink) { _, _ in } } // null sinks: take the repainted tiles, draw nothing
        let t2 = DispatchTime.now().uptimeNanoseconds
        let st = session.takeIntervalStats()
        refreshes += 1
        if cell.migration && refreshes % migrationRoundEvery == 0 { _ = session.endMigrationRound() }

        if warmupLeft > 0 {
            warmupLeft -= 1
        } else if count < capacity {
            let ringFull = during.harvestNanos + during.resetNanos
            hostNs[count] = (t1 - t0) + (t2 - t1) + ringFull
            harvestNs[count] = during.harvestNanos + st.harvestNanos
            resetNs[count] = during.resetNanos + st.resetNanos
            foldNs[count] = st.foldNanos
            copyNs[count] = st.copyNanos
            presentNs[count] = t2 - t1
            guestNs[count] = guestTime
            sumPages += during.uniquePages + st.uniquePages
            sumTiles += st.dirtyTiles
            sumBytes += st.bytesCopied
            ringFullHarvests += during.ringFullHarvests + st.ringFullHarvests
            resetMismatches = max(resetMismatches, st.resetMismatches)
            count += 1
        }
        remaining -= 1
        if remaining <= 0 {
            turnDone.signal()
            if !released { gate.wait() }
        }
        lastRelease = DispatchTime.now().uptimeNanoseconds
    }

    /// Fills the lockstep fields of `record`.
    func fill(_ record: inout BenchRecord, notes: inout [String]) {
        record.frames = count
        guard count > 0 else { return }
        func us(_ a: [UInt64]) -> [Double] { a[0..<count].map { Double($0) / 1000 }.sorted() }
        let host = us(hostNs)
        record.hostMedianMicros = percentile(sorted: host, 0.5)
        record.hostP99Micros = percentile(sorted: host, 0.99)
        let hostSum = host.reduce(0, +)
        record.hostMeanMicros = hostSum / Double(count)
        let guestSum = us(guestNs).reduce(0, +)
        record.lockstepFPS = hostSum + guestSum > 0 ? Double(count) * 1e6 / (hostSum + guestSum) : nil
        record.displayFPS = record.hostMedianMicros.map { 1e6 / max($0, 0.001) }
        record.harvestMicros = percentile(sorted: us(harvestNs), 0.5)
        record.resetMicros = percentile(sorted: us(resetNs), 0.5)
        record.foldMicros = percentile(sorted: us(foldNs), 0.5)
        record.copyMicros = percentile(sorted: us(copyNs), 0.5)
        record.presentMicros = percentile(sorted: us(presentNs), 0.5)
        // Each guest frame here follows one harvest and reset, as with a guest paced to the
        // display: it pays the write faults of every page it dirties once per frame.
        let guest = us(guestNs).filter { $0 > 0 }
        record.guestFPS = percentile(sorted: guest, 0.5).map { 1e6 / max($0, 0.001) }
        record.dirtyPages = Double(sumPages) / Double(count)
        record.dirtyTiles = Double(sumTiles) / Double(count)
        record.bytesCopied = Double(sumBytes) / Double(count)
        if ringFullHarvests > 0 {
            notes.append(String(format: "%.1f ring-full exits per frame (ring of %d entries)",
                                Double(ringFullHarvests) / Double(count), ringEntries))
        }
        if resetMismatches > 0 { notes.append("\(resetMismatches) KVM_RESET_DIRTY_RINGS count mismatches") }
        if cell.mode == .auto {
            let st = session.totalStats
            let fault = session.writeFaultNanos.map { String(format: "%.1f us", $0 / 1000) } ?? "?"
            let perTurn = zip(switchesAtTurnEnd, [0] + switchesAtTurnEnd).map { String($0 - $1) }.joined(separator: ", ")
            let counts = session.policyCounts.map { ", \($0.explorations) exploration\($0.explorations == 1 ? "" : "s"), \($0.stalls) stall\($0.stalls == 1 ? "" : "s") left out" } ?? ""
            notes.append("auto: \(st.methodSwitches) switch\(st.methodSwitches == 1 ? "" : "es") of method in lockstep (per turn: \(perTurn)), ending \(st.method?.rawValue ?? "?") (write fault \(fault) a page\(counts))")
        }
    }

    private var ringEntries: Int {
        if case .ring(let n, _) = session.plan.logging { return n }
        return 0
    }
}

/// The tile size, carried as plain numbers so plans stay `Sendable` and printable.
struct TileSizeSpec {
    let width: Int
    let height: Int
    var size: TileSize { TileSize(width: width, height: height) }
}

/// One line for a machine that ended when it should not have.
func describe(_ outcome: MachineOutcome) -> String {
    switch outcome {
    case .framesCompleted, .stopped: return "the guest stopped unexpectedly"
    case .guestExit(let status): return "the guest exited with status \(status)"
    case .crashed(let crash): return crash.description
    case .failed(let e): return e.description
    }
}
