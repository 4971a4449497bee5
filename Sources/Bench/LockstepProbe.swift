import Dispatch
import Display
import Foundation
import KVM
import Machine
import Synchronization
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
final class LockstepProbe: Sendable {
    let cell: BenchCell
    let session: TrackingSession
    /// Display sinks that read every sync's damage and draw nothing (`BenchCell.sinks`).
    private let sinks: [DisplaySink]
    /// driver -> vCPU: the next turn may start.
    private let gate = DispatchSemaphore(value: 0)
    /// vCPU -> driver: the turn's frames are measured.
    private let turnDone = DispatchSemaphore(value: 0)
    private let migrationRoundEvery: Int
    /// The turn's control (set by the driver while the vCPU waits on `gate`, or before the
    /// start) and the samples (written by the vCPU in `frameCompleted`, read by `fill` after
    /// the turns).
    private let state: Mutex<LockstepSamples>

    /// Builds the tracked machine (not started).
    init(cell: BenchCell, frames: Int, warmup: Int, migrationRoundEvery: Int,
         system: KVMSystem, config base: MachineConfig, plan: TrackingPlan, tile: TileSizeSpec) throws(TrackingError) {
        self.cell = cell
        self.migrationRoundEvery = max(1, migrationRoundEvery)
        state = Mutex(LockstepSamples(capacity: frames, warmup: warmup))
        var config = base
        config.lockstep = true
        config.guestHz = 0 // lockstep holds the guest; no pacing on top
        config.frameLimit = nil
        let probe = WeakProbe()
        var events = MachineEvents()
        events.allFramesDone = { _ in probe.probe?.frameCompleted() }
        session = try TrackingSession(system: system, config: config, plan: plan, tile: tile.size,
                                      migration: cell.migration, events: events)
        let session = session
        sinks = (0..<cell.sinks).map { session.makeDisplaySink(name: "null sink \($0)") }
        probe.set(self)
    }

    var failure: String? { state.withLock { $0.failure } }

    /// Lets the guest draw `frames` more frames (the first turn adds the warm-up) and waits
    /// until they are measured. False if the machine ended or `abandon` returned true.
    func runTurn(frames: Int, timeout: Double, abandon: () -> Bool) -> Bool {
        let go = state.withLock { s -> (run: Bool, started: Bool)? in
            guard s.failure == nil else { return nil }
            s.remaining = frames + (s.started ? 0 : s.warmupLeft)
            guard s.remaining > 0 else { return (false, s.started) }
            defer { s.started = true }
            return (true, s.started)
        }
        guard let go else { return false }
        guard go.run else { return true }
        if go.started { gate.signal() } else { session.machine.start() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while turnDone.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if session.machine.isFinished {
                let outcome = describe(session.machine.wait())
                state.withLock { $0.failure = $0.failure ?? outcome }
                return false
            }
            if abandon() { return false }
            if Date() > deadline {
                state.withLock { $0.failure = "no guest frame for \(Int(timeout)) s in lockstep" }
                return false
            }
        }
        if cell.mode == .auto {
            let switches = session.totalStats.methodSwitches
            state.withLock { $0.switchesAtTurnEnd.append(switches) }
        }
        return failure == nil
    }

    /// Stops the machine and waits for its vCPU threads.
    func finish() {
        session.machine.stop()
        let started = state.withLock { s in
            s.released = true
            return s.started
        }
        gate.signal() // a vCPU waiting at its doorbell leaves now and sees the stop
        if started { session.machine.wait() }
    }

    /// On the vCPU thread, with every vCPU held at its doorbell: one refresh for one frame.
    private func frameCompleted() {
        if state.withLock({ $0.released || $0.failure != nil }) { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        // Ring-full harvests the vCPU ran during this frame (its writes filled the ring).
        let during = session.takeIntervalStats()
        do {
            try session.sync()
        } catch {
            state.withLock { $0.failure = "\(error)" }
            session.machine.stop()
            turnDone.signal()
            return
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        for sink in sinks { session.read(sink) { _, _ in } } // null sinks: take the repainted tiles, draw nothing
        let t2 = DispatchTime.now().uptimeNanoseconds
        let st = session.takeIntervalStats()
        let (refreshes, turnEnded, released) = state.withLock { s in
            s.record(t0: t0, t1: t1, t2: t2, during: during, after: st)
            s.refreshes += 1
            s.remaining -= 1
            return (s.refreshes, s.remaining <= 0, s.released)
        }
        if cell.migration && refreshes % migrationRoundEvery == 0 { _ = session.endMigrationRound() }
        if turnEnded {
            turnDone.signal()
            if !released { gate.wait() }
        }
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { $0.lastRelease = now }
    }

    /// Fills the lockstep fields of `record`.
    func fill(_ record: inout BenchRecord, notes: inout [String]) {
        let samples = state.withLock { $0 }
        samples.fill(&record)
        guard samples.count > 0 else { return }
        if samples.ringFullHarvests > 0 {
            notes.append(String(format: "%.1f ring-full exits per frame (ring of %d entries)",
                                Double(samples.ringFullHarvests) / Double(samples.count), ringEntries))
        }
        if samples.resetMismatches > 0 { notes.append("\(samples.resetMismatches) KVM_RESET_DIRTY_RINGS count mismatches") }
        if cell.mode == .auto {
            let st = session.totalStats
            let fault = session.writeFaultNanos.map { String(format: "%.1f us", $0 / 1000) } ?? "?"
            let perTurn = zip(samples.switchesAtTurnEnd, [0] + samples.switchesAtTurnEnd).map { String($0 - $1) }.joined(separator: ", ")
            let counts = session.policyCounts.map { ", \($0.explorations) exploration\($0.explorations == 1 ? "" : "s"), \($0.stalls) stall\($0.stalls == 1 ? "" : "s") left out" } ?? ""
            notes.append("auto: \(st.methodSwitches) switch\(st.methodSwitches == 1 ? "" : "es") of method in lockstep (per turn: \(perTurn)), ending \(st.method?.rawValue ?? "?") (write fault \(fault) a page\(counts))")
        }
    }

    private var ringEntries: Int {
        if case .ring(let n, _) = session.plan.logging { return n }
        return 0
    }
}

/// The lockstep phase's turn state and samples, preallocated: measuring a frame allocates nothing.
struct LockstepSamples {
    var remaining = 0
    var released = false
    var started = false
    var warmupLeft: Int
    var refreshes = 0
    var failure: String?
    /// Auto: the session's method switches at the end of each turn (so the bench can show
    /// where they happened: the cells take turns, and each turn resumes a held guest).
    var switchesAtTurnEnd: [Int] = []
    let capacity: Int
    var hostNs: [UInt64]
    var harvestNs: [UInt64]
    var resetNs: [UInt64]
    var foldNs: [UInt64]
    var copyNs: [UInt64]
    var presentNs: [UInt64]
    /// Guest time per frame: from the vCPU's release at one doorbell to its next doorbell.
    var guestNs: [UInt64]
    var lastRelease: UInt64 = 0
    var count = 0
    var sumPages = 0
    var sumTiles = 0
    var sumBytes = 0
    var ringFullHarvests = 0
    var resetMismatches = 0

    init(capacity: Int, warmup: Int) {
        self.capacity = capacity
        warmupLeft = warmup
        hostNs = [UInt64](repeating: 0, count: capacity)
        harvestNs = hostNs; resetNs = hostNs; foldNs = hostNs; copyNs = hostNs; presentNs = hostNs; guestNs = hostNs
    }

    /// One frame: sync from `t0` to `t1`, the null sinks' reads to `t2`; `during` holds the
    /// ring-full harvests of the frame, `after` the sync's own phases.
    mutating func record(t0: UInt64, t1: UInt64, t2: UInt64, during: TrackingStats, after st: TrackingStats) {
        let guestTime = lastRelease == 0 ? 0 : t0 - lastRelease
        if warmupLeft > 0 {
            warmupLeft -= 1
            return
        }
        guard count < capacity else { return }
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

    /// The lockstep fields of `record`.
    func fill(_ record: inout BenchRecord) {
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
    }
}

/// Lets the machine's lockstep callback reach the probe that owns the machine, without the
/// machine keeping the probe alive.
final class WeakProbe: Sendable {
    private let ref = Mutex<Weak?>(nil)
    private struct Weak { weak var probe: LockstepProbe? }
    func set(_ p: LockstepProbe) { ref.withLock { $0 = Weak(probe: p) } }
    var probe: LockstepProbe? { ref.withLock { $0?.probe } }
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
