import ArgumentParser
import Bench
import Dispatch
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
    @Option(help: "Guests, comma-separated: idle, desktop, terminal, plasma, bounce (= bounce4,bounce16,bounce64), bounceN, alternate or alternateN (phases of N frames; alternate = 60).")
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
            help: "Turns per cell: the cells of a group alternate this many times, at most --frames (default 4; 2 with --quick).",
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
    @Flag(name: .customLong("input-latency"), help: "Input latency instead of the matrix: from a key event pushed at a random moment to the end of the first guest frame that can show it, per guest (default idle,desktop,plasma at 1280x800) paced at 60 Hz and free-running.")
    var inputLatency = false
    @Flag(help: "VNC instead of the matrix: bytes and encode time per guest frame for Raw, ZRLE, Tight and Tight with JPEG (quality level 5), served from the dirty tiles beside a compare-only and a full-frame server, per guest (default idle,desktop,plasma) at 1280x800 and 1920x1080 (--resolutions), lockstep (--frames, default 60); then host cost with 1, 8 and 32 clients, and update latency over loopback with 1, 8 and 32 clients. With --quick: idle and desktop at 640x400, Raw and ZRLE, 6 frames, 1 and 8 clients.")
    var vnc = false
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
        // The matrix takes Ctrl-C itself (see `execute`); the other benches end on it as before.
        // Until the matrix runs there is nothing to finish: a signal ends the command at once.
        if !migration && !inputLatency && !vnc && replot == nil {
            _ = StopSignals.onEverySignal { signal, _ in _exit(128 + signal) }
        }
        runReportingFailures { try execute() }
    }

    func makePlan() throws -> BenchPlan {
        var plan = quick ? BenchPlan.quick : BenchPlan()
        do {
            if let guests { plan.workloads = try BenchFilters.workloads(guests) }
            if let resolutions { plan.resolutions = try BenchFilters.resolutions(resolutions) }
            if let modes { plan.modes = try BenchFilters.modes(modes) }
            if let ram { plan.ramSizes = try BenchFilters.ramSizes(ram) }
            if let sinks { plan.sinkCounts = try BenchFilters.sinkCounts(sinks) }
            if let pacedRates { plan.pacedRates = try BenchFilters.ratePairs(pacedRates) }
        } catch { throw Failure("\(error)") }
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

    private func checkWritable(_ path: String?, _ option: String) throws {
        guard let path else { return }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw Failure("\(option) \(path): directory \(dir) does not exist")
        }
    }

    private func execute() throws -> Int32 {
        if migration { return try runMigrationBench() }
        if inputLatency { return try runInputLatencyBench() }
        if vnc { return try runVNCBench() }
        let plan = try makePlan()
        if let replot {
            guard let chart else { throw Failure("--replot needs --chart FILE to draw into") }
            try checkWritable(chart, "--chart")
            let records: [BenchRecord]
            do {
                records = try BenchFiles.records(fromJSON: Data(contentsOf: URL(fileURLWithPath: replot)))
            } catch let e as BenchError {
                throw Failure("--replot \(replot): \(e)")
            } catch {
                throw Failure("--replot \(replot): cannot read it (\(error.localizedDescription))")
            }
            if let e = writeFiles(records, plan: plan, outputs: [(chart, .chart)]) { throw Failure(e) }
            Console.out("wrote chart of \(records.count) records to \(chart)")
            return 0
        }
        try checkWritable(json, "--json")
        try checkWritable(csv, "--csv")
        try checkWritable(chart, "--chart")
        let runner: BenchRunner
        do { runner = try BenchRunner(plan: plan, device: device) } catch { throw Failure("\(error)") }

        let total = plan.cellCount
        Console.out("ringside bench: \(total) cells" + (quick ? " (--quick)" : ""))
        for line in runner.setup { Console.out("  " + line) }
        let table = BenchTable(showSinks: plan.sinkCounts.count > 1)
        Console.out(table.header)

        // Ctrl-C (and SIGTERM, SIGHUP) are taken by one thread with sigwait, blocked in every
        // other (StopSignals, started in `run()` before any thread): a DispatchSource signal
        // source on Linux installs a handler instead, so the signal lands on whichever thread
        // the kernel picks, cuts its system call short (a vCPU's KVM_RUN, a measuring sleep),
        // and leaves that thread, and every thread it starts later, with nearly every signal
        // blocked, the vCPU kick (SIGUSR1) included.
        let interrupts = StopSignals.onEverySignal { _, count in
            if count == 1 {
                Console.error("interrupted: finishing the cells now running, then stopping (Ctrl-C again to drop them)")
                runner.requestStop()
            } else {
                Console.error("interrupted again: dropping the cells now running")
                runner.abandon()
            }
        }
        defer { interrupts.cancel() }

        let start = Date()
        var records: [BenchRecord] = []
        var writeError: String?
        var groupEnd = 0
        var events = BenchEvents()
        events.groupStarted = { group, total in
            let last = group.firstIndex + group.cells.count
            groupEnd = last
            Console.out("-- [\(group.firstIndex + 1)-\(last)/\(total)] \(group.workload) \(group.resolution) \(formatBytes(group.ramBytes))"
                + (group.cpus > 1 ? " \(group.cpus) vCPUs" : "") + ": "
                + group.cells.map { table.showSinks ? "\($0.mode.rawValue) x\($0.sinks)" : $0.mode.rawValue }.joined(separator: ", "))
        }
        events.cellFinished = { result, total in
            Console.out(table.row(result, total: total))
            if let line = result.record.flatMap(BenchTable.pacedLine) { Console.out(line) }
            for note in result.notes { Console.out("      note: \(note)") }
            if let r = result.record { records.append(r) }
            // Rewrite the files after each group, so an interrupted or crashed run keeps what finished.
            if result.index + 1 == groupEnd { writeError = writeError ?? writeFiles(records, plan: plan, chart: false) }
        }
        let summary = runner.run(events)
        writeError = writeError ?? writeFiles(summary.records, plan: plan, chart: true)
        let elapsed = Date().timeIntervalSince(start)
        Console.out(String(format: "%d of %d cells in %.1f s", summary.records.count, total, elapsed)
            + (summary.failures.isEmpty ? "" : ", \(summary.failures.count) failed")
            + (summary.interrupted ? ", interrupted" : ""))
        for (path, what) in [(json, "records"), (csv, "CSV"), (chart, "chart")] {
            if let path { Console.out("wrote \(what) to \(path)") }
        }
        if let writeError { throw Failure(writeError) }
        if summary.interrupted { return 130 }
        return summary.failures.isEmpty ? 0 : 1
    }

    enum OutputKind { case json, csv, chart }

    /// Writes the JSON, CSV and (when `chart`) the chart; returns the first failure as a line.
    private func writeFiles(_ records: [BenchRecord], plan: BenchPlan, chart drawChart: Bool) -> String? {
        writeFiles(records, plan: plan, outputs: [(json, .json), (csv, .csv)] + (drawChart ? [(chart, .chart)] : []))
    }

    private func writeFiles(_ records: [BenchRecord], plan: BenchPlan, outputs: [(String?, OutputKind)]) -> String? {
        for (path, kind) in outputs {
            guard let path else { continue }
            let text: String
            switch kind {
            case .json: text = BenchFiles.json(records)
            case .csv: text = BenchFiles.csv(records)
            case .chart:
                let cpus = Set(records.map(\.cpus)).sorted().map(String.init).joined(separator: "/")
                let subtitle = "\(records.count) cells, \(cpus) vCPU, tile \(plan.tileWidth)x\(plan.tileHeight), "
                    + "\(ProcessInfo.processInfo.activeProcessorCount) host cores; lines join the workloads of one mode"
                text = BenchChart.svg(records, tileWidth: plan.tileWidth, tileHeight: plan.tileHeight, subtitle: subtitle)
            }
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                return "cannot write \(path): \(error.localizedDescription)"
            }
        }
        return nil
    }
}

/// The table printed as cells finish. A sinks column appears when more than one count is measured.
struct BenchTable {
    let showSinks: Bool

    var header: String {
        [
            pad("cell", 11), pad("guest", 13), pad("resolution", 10), pad("mode", 8), lpad("RAM", 4),
        ].joined(separator: " ") + (showSinks ? " " + lpad("sinks", 5) : "") + " " + [
            lpad("disp fps", 9), lpad("host us", 9), lpad("p99", 9), " |", lpad("harvest", 8), lpad("reset", 7),
            lpad("fold", 7), lpad("copy", 8), lpad("present", 8), " |", lpad("guest fps", 10), lpad("pages", 8),
            lpad("tiles", 8), lpad("KiB", 8), " |", lpad("lat p50", 9), lpad("p99 us", 9),
        ].joined(separator: " ")
    }

    func row(_ result: BenchCellResult, total: Int) -> String {
        let c = result.cell
        let head = [
            pad("[\(result.index + 1)/\(total)]", 11), pad(c.workload.label + (c.cpus > 1 ? " x\(c.cpus)" : ""), 13), pad("\(c.resolution)", 10), pad(c.mode.rawValue, 8),
            lpad(formatBytes(c.ramBytes), 4),
        ].joined(separator: " ") + (showSinks ? " " + lpad("\(c.sinks)", 5) : "")
        guard let r = result.record else { return head + "  FAILED: \(result.failure ?? "unknown")" }
        return [
            head, lpad(Self.num(r.displayFPS), 9), lpad(Self.num(r.hostMedianMicros), 9), lpad(Self.num(r.hostP99Micros), 9), " |",
            lpad(Self.num(r.harvestMicros), 8), lpad(Self.num(r.resetMicros), 7), lpad(Self.num(r.foldMicros), 7),
            lpad(Self.num(r.copyMicros), 8), lpad(Self.num(r.presentMicros), 8), " |", lpad(Self.num(r.guestFPS), 10),
            lpad(Self.num(r.dirtyPages), 8), lpad(Self.num(r.dirtyTiles), 8), lpad(Self.num(r.bytesCopied.map { $0 / 1024 }), 8), " |",
            lpad(Self.num(r.latencyP50Micros), 9), lpad(Self.num(r.latencyP99Micros), 9),
        ].joined(separator: " ")
    }

    /// `      paced: 60/60 p50 85 p99 210 us, 60 fps (20) | ...`; nil without a paced phase. A
    /// p99 over one display period, or a p50 over 0.5 ms, is marked `!`.
    static func pacedLine(_ r: BenchRecord) -> String? {
        guard !r.paced.isEmpty else { return nil }
        return "      paced: " + r.paced.map { p in
            let slow = (p.latencyP50Micros ?? 0) > 500 || (p.latencyP99Micros ?? 0) > p.rates.displayPeriodMicros
            return "\(p.rates) p50 \(num(p.latencyP50Micros)) p99 \(num(p.latencyP99Micros)) us\(slow ? " !" : ""), "
                + "\(num(p.guestFPS)) fps (\(p.samples) samples)"
        }.joined(separator: " | ")
    }

    /// Three significant digits, at most one decimal: `0.41`, `12.3`, `4567`.
    static func num(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        if v == 0 { return "0" }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        return String(format: "%.2f", v)
    }

    func pad(_ s: String, _ n: Int) -> String { Self.pad(s, n) }
    func lpad(_ s: String, _ n: Int) -> String { Self.lpad(s, n) }
    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}
