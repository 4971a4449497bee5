import Dispatch
import Foundation
import KVM
import Machine
import Synchronization
import Tracking

/// A problem with what the bench was asked to do; `description` is the user's one line.
public struct BenchError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How one cell ended: its record, or why it has none.
public struct BenchCellResult: Sendable {
    /// 0-based position in the matrix.
    public let index: Int
    public let cell: BenchCell
    public let record: BenchRecord?
    public let failure: String?
    /// Things worth knowing about the numbers (ring-full exits, a mode fallback, a cut budget).
    public let notes: [String]
}

/// Callbacks from `BenchRunner.run`, on the calling thread.
public struct BenchEvents {
    /// A group of cells (one workload, resolution and RAM size, all modes) is about to run.
    public var groupStarted: ((_ group: BenchGroup, _ totalCells: Int) -> Void)?
    /// A cell is done (or failed).
    public var cellFinished: ((_ result: BenchCellResult, _ totalCells: Int) -> Void)?
    public init() {}
}

/// What a whole run produced.
public struct BenchSummary: Sendable {
    public var records: [BenchRecord] = []
    public var failures: [BenchCellResult] = []
    /// Stopped early (`requestStop` or `abandon`): some cells never ran.
    public var interrupted = false
}

/// Runs a `BenchPlan`: for each group, phase A (lockstep, exact per-frame host cost) with the
/// cells (modes and sink counts) taking turns, then phase B (free-run, guest frame rate and
/// latency) the same way, then phase C (paced at each rate pair, latency as users see it).
/// Never prints and never exits: results go to `BenchEvents` and the returned summary.
public final class BenchRunner: Sendable {
    /// The plan as run: without the workloads in `skipped`.
    public let plan: BenchPlan
    /// One line per workload left out because its guest is not built (DOOM).
    public let skipped: [String]
    let system: KVMSystem
    let caps: HostCapabilities
    private let images: [String: GuestImage]
    private let modules: [String: [BootModule]]
    private let stopAfterGroup = Atomic<Bool>(false)
    private let abandonNow = Atomic<Bool>(false)

    /// Opens KVM and checks the whole plan (images, geometry, RAM, vCPUs, ring size) before
    /// anything runs, so bad input fails at once with one line.
    public init(plan asked: BenchPlan, device: String = "/dev/kvm") throws(BenchError) {
        var plan = asked
        skipped = plan.workloads.compactMap(\.notBuiltReason)
        plan.workloads.removeAll { $0.notBuiltReason != nil }
        if plan.workloads.isEmpty, let only = skipped.first { throw BenchError(only) }
        guard !plan.workloads.isEmpty, !plan.resolutions.isEmpty, !plan.modes.isEmpty, !plan.ramSizes.isEmpty else {
            throw BenchError("the matrix is empty: every filter needs at least one value")
        }
        guard plan.frames >= 1 else { throw BenchError("--frames \(plan.frames) is out of range: use 1 or more") }
        guard plan.rounds >= 1, plan.rounds <= plan.frames else {
            throw BenchError("--rounds \(plan.rounds) is out of range: use 1...\(plan.frames) (at most one turn per frame)")
        }
        guard plan.freeRunSeconds > 0, plan.freeRunSeconds <= 600 else {
            throw BenchError("--free-run-seconds \(plan.freeRunSeconds) is out of range: use more than 0, at most 600")
        }
        guard plan.pacedSeconds >= 0, plan.pacedSeconds <= 600, !plan.pacedSeconds.isNaN else {
            throw BenchError("--paced-seconds \(plan.pacedSeconds) is out of range: use 0 (no paced phase) ... 600")
        }
        guard plan.pacedSeconds == 0 || !plan.pacedRates.isEmpty else {
            throw BenchError("--paced-rates names no rate pair: give at least one, e.g. 60/60, or --paced-seconds 0")
        }
        for pair in plan.pacedRates where !BenchRatePair.hzRange.contains(pair.guestHz) || !BenchRatePair.hzRange.contains(pair.displayHz) {
            throw BenchError("--paced-rates: '\(pair)' is out of range: use whole Hz 1...1000")
        }
        guard !plan.sinkCounts.isEmpty else { throw BenchError("--sinks names no sink count: use 1...64") }
        for n in plan.sinkCounts where !BenchPlan.sinkRange.contains(n) {
            throw BenchError("--sinks: \(n) is out of range: use 1...64")
        }
        self.plan = plan
        do {
            system = try KVMSystem(path: device)
            caps = try HostCapabilities(system: system)
        } catch { throw BenchError("\(error)") }
        var images: [String: GuestImage] = [:]
        var modules: [String: [BootModule]] = [:]
        for w in plan.workloads where images[w.guest] == nil {
            do { images[w.guest] = try GuestCatalog.load(w.guest) } catch { throw BenchError("\(error)") }
            modules[w.guest] = try w.bootModules(maxBytes: plan.ramSizes.min() ?? GuestLayout.minRAM)
        }
        self.images = images
        self.modules = modules
        for group in plan.groups() {
            do { try config(for: group).validate(maxVCPUs: caps.usableVCPUs) } catch { throw BenchError("\(error)") }
        }
        for mode in plan.modes {
            do {
                _ = try TrackingPlan.make(mode: mode, ringEntries: plan.ringEntries, caps: caps, migration: plan.migration && mode.hasPageList)
            } catch { throw BenchError("\(error)") }
        }
    }

    /// Lines describing the host and the method, for the report's header.
    public var setup: [String] {
        let ring = (try? TrackingPlan.make(mode: .ring, ringEntries: plan.ringEntries, caps: caps, migration: false))?.reason ?? "?"
        return [
            "KVM: ring mode uses \(ring); bitmap mode uses \(TrackingPlan.bitmapPlan(requested: .bitmap, caps: caps, why: nil).reason)",
            plan.cpuCounts.map(String.init).joined(separator: " and ") + " vCPU\(plan.cpus > 1 ? "s" : "")"
                + (plan.cpuCounts.count > 1 ? " (more than one at the smallest RAM size only)" : "") + ", \(ProcessInfo.processInfo.activeProcessorCount) host cores, tile \(plan.tileWidth)x\(plan.tileHeight)"
                + (plan.migration ? "; ring/bitmap cells subscribe a migration list (RAM logged); compare/full run at the smallest RAM size only"
                                  : "; no migration list: RAM is not logged, every mode runs at the smallest RAM size only"),
            "phase A (lockstep): \(plan.warmupFrames) warm-up + \(plan.frames) frames per cell, host cost of one refresh per guest frame "
                + "and guest time per frame (guest fps); "
                + "phase B (free-run): \(formatSeconds(plan.freeRunSeconds)) per cell, refresh "
                + (plan.freeRunRefreshHz > 0 ? "at \(formatNumber(plan.freeRunRefreshHz)) Hz" : "back to back")
                + ", doorbell-to-shadow latency; "
                + (plan.pacedSeconds > 0
                    ? "phase C (paced): \(formatSeconds(plan.pacedSeconds)) per cell over guest/display Hz "
                        + plan.pacedRates.map(\.description).joined(separator: ", ")
                        + ", one unbroken turn per cell and pair, syncs by SyncLoop as in ringside run, doorbell-to-shadow latency; "
                    : "no paced phase; ")
                + "cells take turns in \(plan.rounds) round\(plan.rounds > 1 ? "s" : "")",
            "display sinks per cell: " + plan.sinkCounts.map(String.init).joined(separator: ", ")
                + " (null sinks read the damage log after every sync; present = all of them)",
        ]
    }

    /// Finish the cells now running, then start no more.
    public func requestStop() { stopAfterGroup.store(true, ordering: .releasing) }
    /// Stop the running cells now too; their results are dropped.
    public func abandon() {
        stopAfterGroup.store(true, ordering: .releasing)
        abandonNow.store(true, ordering: .releasing)
    }
    public var stopRequested: Bool { stopAfterGroup.load(ordering: .acquiring) }

    public func run(_ events: BenchEvents = BenchEvents()) -> BenchSummary {
        var summary = BenchSummary()
        let groups = plan.groups()
        let total = groups.reduce(0) { $0 + $1.cells.count }
        for group in groups {
            if stopRequested { summary.interrupted = true; break }
            events.groupStarted?(group, total)
            guard let results = runGroup(group) else { summary.interrupted = true; break }
            for r in results {
                if let record = r.record { summary.records.append(record) } else { summary.failures.append(r) }
                events.cellFinished?(r, total)
            }
        }
        return summary
    }

    // MARK: - one group

    func config(for group: BenchGroup) -> MachineConfig {
        var c = MachineConfig(image: images[group.workload.guest]!)
        c.arguments = group.workload.arguments
        c.modules = modules[group.workload.guest] ?? []
        c.ramBytes = group.ramBytes
        c.width = group.resolution.width
        c.height = group.resolution.height
        c.cpus = group.cpus
        c.guestHz = 0
        return c
    }

    var tile: TileSizeSpec { TileSizeSpec(width: plan.tileWidth, height: plan.tileHeight) }
    var abandoned: Bool { abandonNow.load(ordering: .acquiring) }

    /// The three phases for every cell of `group`; nil when abandoned.
    private func runGroup(_ group: BenchGroup) -> [BenchCellResult]? {
        var run = GroupRun(group: group, runner: self)
        guard run.lockstepPhase(), run.freeRunPhase(), run.pacedPhase() else { return nil }
        return run.results()
    }
}

func formatSeconds(_ s: Double) -> String {
    s < 10 ? String(format: "%.2g s", s) : String(format: "%.0f s", s)
}
