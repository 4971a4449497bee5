import Foundation

/// What `ringside bench --peer qemu` measures.
public struct PeerBenchPlan: Sendable {
    public struct Workload: Sendable {
        public var label: String
        public var guest: String
        public var arguments: String
        /// Frames the guest runs before a cell measures it (DOOM's title screen).
        public var leadInFrames: Int
        public init(label: String, guest: String, arguments: String, leadInFrames: Int = 0) {
            self.label = label
            self.guest = guest
            self.arguments = arguments
            self.leadInFrames = leadInFrames
        }
    }

    public var workloads: [Workload] = [
        .init(label: "desktop", guest: "desktop", arguments: ""),
        .init(label: "bounce16", guest: "bounce", arguments: "sprites=16"),
        .init(label: "plasma", guest: "plasma", arguments: ""),
        .init(label: "terminal", guest: "terminal", arguments: "lines=1"),
        // DOOM's attract-mode demo, the same picture at frame N under both VMMs (one game tic
        // per guest frame), measured once the demo plays (about frame 220); the WAD is a boot
        // module. Left out with a line when DOOM is not built (assets/guests/doom).
        .init(label: "doom", guest: "doom", arguments: "clock=frames", leadInFrames: 240),
    ]
    public var resolutions: [(width: Int, height: Int)] = [(1280, 800), (1920, 1080)]
    public var encodings: [String] = ["Raw", "ZRLE", "Tight", "Tight+JPEG"]
    public var guestHz = 60.0
    /// Measured seconds per display, idle and speed cell.
    public var seconds = 8.0
    /// Unmeasured seconds after the client's first update.
    public var warmup = 1.0
    public var display = true
    public var idle = true
    public var speed = true
    /// Migration: these workloads (by label) at these RAM sizes and downtime budgets.
    public var migrationWorkloads = ["desktop"]
    public var migrationRAM: [UInt64] = [256 << 20, 4 << 30]
    public var migrationBudgetsMs: [Double] = [300, 30]
    /// Migrations per VMM for each RAM size and budget (the records hold the medians).
    public var migrationRepeats = 3
    /// Seconds the guest runs before the migration starts.
    public var migrateAfter = 2.0
    /// The frame compared under both VMMs (0: no frame cell).
    public var frameCheck = 0
    public var quick = false

    public init() {}

    /// For CI: desktop at 640x400, ZRLE, one second per cell, frame 30 compared; no migration.
    public static var quick: PeerBenchPlan {
        var p = PeerBenchPlan()
        p.quick = true
        p.workloads = [p.workloads[0]]
        p.resolutions = [(640, 400)]
        p.encodings = ["ZRLE"]
        p.seconds = 1
        p.warmup = 0.5
        p.speed = false
        p.migrationWorkloads = []
        p.frameCheck = 30
        return p
    }

    /// Frames of references a display cell can need: the guest runs from boot through the
    /// client's first update, its lead-in, the warm-up and the window.
    func referenceFrames(leadIn: Int) -> Int { leadIn + Int((guestHz > 0 ? guestHz : 60) * (warmup + seconds + 8)) }
}
