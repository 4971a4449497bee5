import Machine
import Tracking

/// A guest program with the arguments that make it one workload of the matrix
/// (`bounce16` is `bounce` with `sprites=16`).
public struct BenchWorkload: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The label in records and tables: `desktop`, `bounce16`.
    public let label: String
    /// The built-in guest image name.
    public let guest: String
    /// The guest's argument string.
    public let arguments: String
    /// Frames the guest runs before any phase measures it (DOOM's title screen), in every phase.
    public var leadInFrames = 0
    /// Runs in the one-vCPU rows only (its program uses one vCPU).
    public var oneVCPU = false

    public init(label: String, guest: String, arguments: String) {
        self.label = label
        self.guest = guest
        self.arguments = arguments
    }

    public var description: String { label }

    /// The guests the bench knows, in the default matrix's order (sparse to dense, then the
    /// one that alternates between the two, then DOOM, skipped when it is not built).
    public static let defaults: [BenchWorkload] = [
        named("idle")!, named("desktop")!, named("terminal")!,
        named("bounce4")!, named("bounce16")!, named("bounce64")!, named("plasma")!, named("alternate")!, doom,
    ]

    static let plainGuests = ["idle", "desktop", "terminal", "plasma"]

    /// Frames per phase of plain `alternate` (one second at 60 Hz).
    public static let alternatePeriod = 60

    /// `idle`, `desktop`, `terminal`, `plasma`, `bounceN` (N sprites, 1...4096),
    /// `alternateN` (quiet and animated phases of N frames, 1...1000000; plain `alternate`: 60),
    /// or `doom`.
    public static func named(_ text: String) -> BenchWorkload? {
        if plainGuests.contains(text) { return BenchWorkload(label: text, guest: text, arguments: "") }
        if text == doom.label { return doom }
        if text == "alternate" { return named("alternate\(alternatePeriod)").map { BenchWorkload(label: text, guest: $0.guest, arguments: $0.arguments) } }
        if text.hasPrefix("alternate"), let n = Int(text.dropFirst("alternate".count)), (1...1_000_000).contains(n) {
            return BenchWorkload(label: "alternate\(n)", guest: "alternate", arguments: "period=\(n)")
        }
        if text.hasPrefix("bounce"), let n = Int(text.dropFirst("bounce".count)), (1...4096).contains(n) {
            return BenchWorkload(label: "bounce\(n)", guest: "bounce", arguments: "sprites=\(n)")
        }
        return nil
    }
}

/// A framebuffer size.
public struct BenchResolution: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let width: Int
    public let height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }

    public static let defaults = [
        BenchResolution(width: 640, height: 480), BenchResolution(width: 1280, height: 800),
        BenchResolution(width: 1920, height: 1080), BenchResolution(width: 3840, height: 2160),
    ]

    /// `WxH` within the machine's limits.
    public static func parse(_ text: String) -> BenchResolution? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]),
              MachineConfig.widthRange.contains(w), MachineConfig.heightRange.contains(h) else { return nil }
        return BenchResolution(width: w, height: h)
    }
}

/// One cell of the matrix: a workload at a resolution, tracked one way, with this much RAM.
public struct BenchCell: Sendable, Equatable, CustomStringConvertible {
    public let workload: BenchWorkload
    public let resolution: BenchResolution
    public let mode: TrackingMode
    public let ramBytes: UInt64
    /// Whether a migration list is subscribed (so the RAM slot is dirty-logged too).
    public let migration: Bool
    public let cpus: Int
    /// Display sinks reading every sync (null sinks: they take the damage and draw nothing).
    public var sinks = 1

    public var description: String {
        "\(workload) \(resolution) \(mode.rawValue) \(formatBytes(ramBytes))" + (sinks == 1 ? "" : " \(sinks) sinks")
    }
}

/// Cells run together: one workload, resolution and RAM size, every requested mode at every
/// requested sink count, so modes and sink counts are measured interleaved under the same
/// conditions.
public struct BenchGroup: Sendable {
    public let workload: BenchWorkload
    public let resolution: BenchResolution
    public let ramBytes: UInt64
    public let cells: [BenchCell]
    public let cpus: Int
    /// Index of the first cell in the whole matrix (0-based).
    public let firstIndex: Int
}

/// What to run and how long each cell runs.
public struct BenchPlan: Sendable {
    public var workloads = BenchWorkload.defaults
    public var resolutions = BenchResolution.defaults
    public var modes = TrackingMode.fixed + [.auto]
    public var ramSizes: [UInt64] = [256 << 20, 4 << 30, 16 << 30]
    /// vCPU counts: each adds its rows. Rows with more than one vCPU run at the smallest RAM
    /// size only (the RAM size's cost is measured with one).
    public var cpuCounts = [1, 2]
    /// The largest vCPU count (setting it asks for that count alone).
    public var cpus: Int {
        get { cpuCounts.max() ?? 1 }
        set { cpuCounts = [newValue] }
    }
    /// Subscribe a migration list in the modes that have one (ring, bitmap): RAM is logged too.
    public var migration = true
    /// Lockstep frames measured per cell (phase A), split over `rounds`.
    public var frames = 200
    /// Lockstep frames run before measuring, per cell.
    public var warmupFrames = 10
    /// Free-run seconds measured per cell (phase B), split over `rounds`.
    public var freeRunSeconds = 0.6
    /// Refreshes per second in the free-run phase; 0 = back to back (uncapped).
    public var freeRunRefreshHz = 0.0
    /// Free-run seconds before measuring, per cell.
    public var freeRunWarmup = 0.1
    /// Paced seconds measured per cell (phase C), shared by the rate pairs; 0 skips the phase.
    /// Each cell runs each pair in one unbroken turn (not in `rounds`).
    public var pacedSeconds = 1.0
    /// Paced seconds before measuring, per cell and rate pair (a fresh guest's first frames
    /// draw its whole screen).
    public var pacedWarmup = 0.1
    /// Guest Hz / display Hz pairs of the paced phase, in `BenchRatePair` order.
    public var pacedRates = BenchRatePair.defaults
    /// Display sink counts: each mode of a group runs once per count.
    public var sinkCounts = [1]
    /// Turns each cell gets, interleaved with the other cells of its group.
    public var rounds = 4
    /// Phase A stops starting new rounds once a group has spent this long in it (huge frames).
    public var lockstepBudgetSeconds = 8.0
    public var ringEntries = TrackingPlan.defaultRingEntries
    public var tileWidth = 64
    public var tileHeight = 16
    /// End a migration round every this many refreshes (outside the timed part).
    public var migrationRoundEvery = 32

    public init() {}

    /// Sink counts `--sinks` accepts.
    public static let sinkRange = 1...64

    /// The small matrix for `--quick`: about 20 s in a release build.
    public static var quick: BenchPlan {
        var p = BenchPlan()
        p.workloads = ["desktop", "plasma", "bounce16", "alternate10"].map { BenchWorkload.named($0)! }
        p.resolutions = [BenchResolution(width: 640, height: 480), BenchResolution(width: 1280, height: 800)]
        p.ramSizes = [256 << 20]
        p.frames = 20
        p.warmupFrames = 3
        p.freeRunSeconds = 0.1
        p.freeRunWarmup = 0.02
        p.pacedSeconds = 0.5
        p.pacedWarmup = 0.02
        p.rounds = 2
        p.lockstepBudgetSeconds = 2
        return p
    }

    /// The groups, in run order. Modes without a page list (compare, full) do not log RAM, so
    /// their cost cannot depend on its size: they run at the smallest RAM size only.
    public func groups() -> [BenchGroup] {
        var out: [BenchGroup] = []
        var index = 0
        let smallest = ramSizes.min()
        for cpus in cpuCounts {
        for w in workloads where cpus == 1 || !w.oneVCPU {
            for r in resolutions {
                for ram in ramSizes where cpus == 1 || ram == smallest {
                    // Auto subscribes no migration list: a subscriber would pin its framebuffer
                    // logged, and auto is measured as the display's choice.
                    func logsRAM(_ m: TrackingMode) -> Bool { migration && m.hasPageList && m != .auto }
                    let modes = self.modes.filter { logsRAM($0) || ram == smallest }
                    guard !modes.isEmpty else { continue }
                    let cells = modes.flatMap { mode in
                        sinkCounts.map {
                            BenchCell(workload: w, resolution: r, mode: mode, ramBytes: ram,
                                      migration: logsRAM(mode), cpus: cpus, sinks: $0)
                        }
                    }
                    out.append(BenchGroup(workload: w, resolution: r, ramBytes: ram, cells: cells, cpus: cpus, firstIndex: index))
                    index += cells.count
                }
            }
        }
        }
        return out
    }

    public var cellCount: Int { groups().reduce(0) { $0 + $1.cells.count } }
}

/// `256M`, `4G`, `16G`.
public func formatBytes(_ bytes: UInt64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30)G" }
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)M" }
    return "\(bytes)"
}
