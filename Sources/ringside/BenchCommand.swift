import ArgumentParser
import Bench
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the tracking modes over a matrix of guests, resolutions and RAM sizes.",
        discussion: """
        Each cell runs three times. Phase A (lockstep): the guest is held at each frame doorbell \
        while one sync harvests, resets, folds and copies that frame, giving the exact host cost \
        per frame by phase and the dirty counts (display fps = 1e6 / host us median), and the \
        guest's own time per frame, write faults included (guest fps). Phase B (free-run): the \
        guest runs unpaced while a sync thread loops back to back (or at --refresh-hz), giving \
        the doorbell-to-shadow latency and the guest's frame rate against that thread (0 when it \
        starved the guest: then there is no latency, and a FINDING note says so). Phase C \
        (paced): for each --paced-rates pair G/D the guest is paced at G Hz and synced by the \
        same doorbell-poked loop as ringside run with --refresh D, giving the latency users see \
        and the guest's achieved frames/s; a line per cell shows p50/p99 per pair. The modes \
        and sink counts of each (guest, resolution, RAM) take turns, in rounds, so they are \
        compared under the same conditions. Each cell has --sinks null display sinks that read \
        the damage log after every sync and draw nothing; "present" is all their reads together.

        Ring and bitmap cells subscribe a migration list, so guest RAM is dirty-logged too; that \
        is what --ram varies (RAM is reserved, not touched). Compare and full log nothing and run \
        at the smallest --ram only.

        Ctrl-C finishes the cells running and stops (a second Ctrl-C drops them); files are \
        written with what finished. Exit status: 0 when every cell ran, 1 for bad input or a \
        failed cell, 130 when interrupted.
        """
    )

    @Flag(help: "A small matrix (desktop, plasma, bounce16, alternate10 at 640x480 and 1280x800, 256M, 1 and 2 vCPUs, few frames).")
    var quick = false
    @Option(help: "Guests, comma-separated: idle, desktop, terminal, plasma, bounce (= bounce4,bounce16,bounce64), bounceN, alternate or alternateN (phases of N frames; alternate = 60), doom (its demo with clock=frames, measured from frame 240, one vCPU; skipped when not built).")
    var guests: String?
    @Option(help: "Resolutions, comma-separated WxH (default 640x480,1280x800,1920x1080,3840x2160).")
    var resolutions: String?
    @Option(help: "Tracking modes, comma-separated: ring, bitmap, compare, full, auto (default ring, bitmap, compare, full, auto).")
    var modes: String?
    @Option(help: "Guest RAM sizes, comma-separated (default 256M,4G,16G).")
    var ram: String?
    @Option(parsing: .unconditional, help: "Lockstep frames measured per cell, 1...100000 (default 200; 20 with --quick).",
            transform: NumericOptions.int("--frames", NumericOptions.benchFrames))
    var frames: Int?
    @Option(parsing: .unconditional, help: "Lockstep warm-up frames per cell, 0...10000 (default 10; 3 with --quick).",
            transform: NumericOptions.int("--warmup", NumericOptions.benchWarmup))
    var warmup: Int?
    @Option(name: .customLong("free-run-seconds"), parsing: .unconditional,
            help: "Free-run seconds measured per cell, 0.01...600 (default 0.6; 0.1 with --quick).",
            transform: NumericOptions.double("--free-run-seconds", NumericOptions.benchFreeRunSeconds, unit: " seconds"))
    var freeRunSeconds: Double?
    @Option(name: .customLong("refresh-hz"), parsing: .unconditional,
            help: "Free-run phase: refreshes per second, 1...100000; 0 = back to back, uncapped (default).",
            transform: NumericOptions.double("--refresh-hz", NumericOptions.benchRefreshHz, zeroMeans: "back to back"))
    var refreshHz: Double = 0
    @Option(name: .customLong("paced-seconds"), parsing: .unconditional,
            help: "Paced seconds measured per cell, shared by the rate pairs, 0...600; 0 = no paced phase (default 1; 0.5 with --quick).",
            transform: NumericOptions.double("--paced-seconds", 0...600, unit: " seconds"))
    var pacedSeconds: Double?
    @Option(name: .customLong("paced-rates"), help: "Paced phase: guest Hz / display Hz pairs, comma-separated (default 60/60,60/144,144/60).")
    var pacedRates: String?
    @Option(help: "Display sink counts, comma-separated, each 1...64: every mode runs once per count, side by side (default 1).")
    var sinks: String?
    @Option(parsing: .unconditional,
            help: "Turns per cell: the cells of a group alternate this many times, at most --frames (default 4; 2 with --quick). With --migration: runs per cell, the cells taking turns (default 1).",
            transform: NumericOptions.int("--rounds", NumericOptions.benchRounds))
    var rounds: Int?
    @Option(parsing: .unconditional,
            help: "vCPUs per guest, 1...16 and at most what this host's KVM allows. (default: rows with 1, and with 2 at the smallest RAM size)",
            transform: NumericOptions.int("--cpus", NumericOptions.cpus))
    var cpus: Int?
    @Option(name: .customLong("ring-entries"), parsing: .unconditional,
            help: "Dirty ring entries per vCPU: a power of two, 256...65536 and at most the host's limit.",
            transform: NumericOptions.int("--ring-entries", NumericOptions.ringEntries, powerOfTwo: true))
    var ringEntries: Int?
    @Option(help: "Tile size WxH for the dirty-tile bitmap.")
    var tile = "64x16"
    @Flag(name: .customLong("no-migration"), help: "Do not subscribe a migration list (RAM is then not logged).")
    var noMigration = false
    @Flag(help: "Migration instead of the matrix: migrate each guest at each RAM size and mode to a destination in this process over loopback (default guests idle,desktop,bounce16,plasma,pagewriter; RAM 256M,4G,16G; modes ring,bitmap).")
    var migration = false
    @Option(name: .customLong("max-downtime"), parsing: .unconditional,
            help: "With --migration: the downtime budget in milliseconds, 1...60000 (default 30).",
            transform: NumericOptions.double("--max-downtime", 1...60_000, unit: " milliseconds"))
    var maxDowntimeMS: Double?
    @Option(name: .customLong("compress"),
            help: ArgumentHelp("With --migration: page compression per cell, comma-separated auto, on, off (default auto); the cells of one guest and RAM size take turns.", valueName: "modes"))
    var compress: String?
    @Option(name: .customLong("max-bandwidth"),
            help: ArgumentHelp("With --migration: the source's bandwidth limit in bytes per second, e.g. 20M, as a slower link (default unlimited).", valueName: "rate"))
    var migrationBandwidth: String?
    @Flag(name: .customLong("input-latency"), help: "Input latency instead of the matrix: from a key event pushed at a random moment to the end of the first guest frame that can show it, per guest (default idle,desktop,plasma at 1280x800) paced at 60 Hz and free-running.")
    var inputLatency = false
    @Flag(help: "VNC instead of the matrix: bytes and encode time per guest frame for Raw, ZRLE, Tight and Tight with JPEG (quality level 5), served from the dirty tiles beside a compare-only and a full-frame server, per guest (default idle,desktop,plasma) at 1280x800 and 1920x1080 (--resolutions), lockstep (--frames, default 60); then host cost with 1, 8 and 32 clients, and update latency over loopback with 1, 8 and 32 clients. With --quick: idle and desktop at 640x400, Raw and ZRLE, 6 frames, 1 and 8 clients.")
    var vnc = false
    @Option(help: "Measure against another VMM instead of the matrix: qemu (the same guest image under QEMU behind Ringside's boot stub, the same client, one after the other; --quick for CI; --guests, --resolutions, --ram for migration, --free-run-seconds for the seconds per cell, --no-migration).")
    var peer: String?
    @Option(name: .customLong("peer-cells"), help: "With --peer: which cells, comma-separated: display, idle, speed, migration (default all).")
    var peerCells: String?
    @Option(help: "Write the records as a JSON array to FILE.")
    var json: String?
    @Option(help: "Write the records as CSV to FILE.")
    var csv: String?
    @Option(help: "Draw host cost against dirty fraction and RAM size into FILE (.svg).")
    var chart: String?
    @Option(help: "Redraw --chart from a JSON file an earlier run wrote (--tile as then), without running anything.")
    var replot: String?
    @Option(help: ArgumentHelp("KVM device path.", visibility: .hidden))
    var device = "/dev/kvm"

    func run() throws {
        // The matrix and the peer bench take Ctrl-C themselves (StopSignals.onEverySignal); until
        // they run there is nothing to finish, so a signal ends the command at once.
        if !migration && !inputLatency && !vnc && replot == nil {
            _ = StopSignals.onEverySignal { signal, _ in _exit(128 + signal) }
        }
        runReportingFailures {
            if let peer { return try runPeerBench(peer) }
            if migration { return try runMigrationBench() }
            if inputLatency { return try runInputLatencyBench() }
            if vnc { return try runVNCBench() }
            let plan = try makePlan()
            if let replot { return try redraw(from: replot, plan: plan) }
            return try runMatrix(plan)
        }
    }

    func makePlan() throws -> BenchPlan {
        var plan = quick ? BenchPlan.quick : BenchPlan()
        if let guests { plan.workloads = try BenchFilters.workloads(guests) }
        if let resolutions { plan.resolutions = try BenchFilters.resolutions(resolutions) }
        if let modes { plan.modes = try BenchFilters.modes(modes) }
        if let ram { plan.ramSizes = try BenchFilters.ramSizes(ram) }
        if let sinks { plan.sinkCounts = try BenchFilters.sinkCounts(sinks) }
        if let pacedRates { plan.pacedRates = try BenchFilters.ratePairs(pacedRates) }
        // The numbers were range checked as they were parsed (NumericOptions.swift); only
        // --rounds depends on another option.
        if let frames {
            plan.frames = frames
            plan.rounds = min(plan.rounds, frames)
        }
        if let warmup { plan.warmupFrames = warmup }
        if let freeRunSeconds { plan.freeRunSeconds = freeRunSeconds }
        if let pacedSeconds { plan.pacedSeconds = pacedSeconds }
        plan.freeRunRefreshHz = refreshHz
        if let rounds {
            guard rounds <= plan.frames else { throw Failure("--rounds \(rounds) is out of range: use 1...\(plan.frames) (the frames per cell)") }
            plan.rounds = rounds
        }
        if let cpus { plan.cpus = cpus }
        if let ringEntries { plan.ringEntries = ringEntries }
        let parts = tile.lowercased().split(separator: "x")
        guard parts.count == 2, let tw = Int(parts[0]), let th = Int(parts[1]), (8...1024).contains(tw), (1...1024).contains(th) else {
            throw Failure("--tile '\(tile)' is not a tile size: use WxH with W in 8...1024 and H in 1...1024, e.g. 64x16")
        }
        plan.tileWidth = tw
        plan.tileHeight = th
        plan.migration = !noMigration
        return plan
    }
}
