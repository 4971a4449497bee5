import Foundation
import GuestSession
import LiveMigration
import Machine
import Snapshot
import Tracking

/// The lines `ringside run` and `ringside receive` print: the events of a running guest,
/// the header, the migration lines and the summary.
enum RunLines {
    /// Each session event as its line on stdout or stderr.
    static func events(_ o: RunSettings) -> SessionEvents {
        var e = SessionEvents()
        let stats = o.stats, scriptPath = o.input.inputScript ?? ""
        e.consoleLine = { cpu, cpus, line in Console.out(cpus > 1 ? "guest[\(cpu)]: \(line)" : "guest: \(line)") }
        e.warning = { w in
            switch w {
            case .modeRefused(let cpu, let why):
                Console.error("warning: the guest (vCPU \(cpu)) asked for a display \(why); the old mode stays")
            case .scriptEventsAfterLastFrame(let late, let frames):
                Console.error("warning: --input-script \(scriptPath): \(late) event\(late == 1 ? " is" : "s are") for frames after --frames \(frames) and will not reach the guest")
            }
        }
        e.syncFailed = { Console.error($0) }
        e.inputLogged = { frame, event in Console.out("input: frame \(frame): \(event.scriptText)") }
        e.intervalStats = { s in
            Console.out(s.line(label: "stats"))
            for line in s.switchLines { Console.out(line) } // each of auto's switches, with its reason
        }
        e.migrationRound = { Console.out(describe($0)) }
        e.migration = { m in
            switch m {
            case .started(let to, let attempt, let attempts):
                Console.out("migrating to \(to)" + (attempts > 1 ? " (attempt \(attempt) of \(attempts))" : ""))
            case .progress(let line): if stats { Console.out(line) }
            case .abandoned(let to, let reason): Console.error("migration to \(to) abandoned: \(reason)")
            case .failed(let to, let reason): Console.error("migration to \(to) failed, the guest keeps running here: \(reason)")
            }
        }
        return e
    }

    /// `ringside: desktop at 1280x800, 1 vCPU, 256 MiB RAM, tracking ring (...), tile 64x16, guest paced at 60 Hz`.
    static func header(_ guest: GuestSession) -> String {
        let config = guest.machine.config, plan = guest.plannedTracking, tile = guest.settings.tile
        return "ringside: \(config.image.name) at \(config.width)x\(config.height), \(config.cpus) vCPU\(config.cpus > 1 ? "s" : ""), "
            + "\(config.ramBytes >> 20) MiB RAM, tracking \(plan.mode.rawValue) (\(plan.reason)), tile \(tile.width)x\(tile.height)"
            + (config.guestHz > 0 ? ", guest paced at \(config.guestHz) Hz" : ", guest free-running")
    }

    /// `ringside: restored desktop from a.snap + 2 incremental: 1234 pages in 12.3 ms, at frame 600`.
    static func restored(_ r: SnapshotRestore.Restored, files: [String]) -> String {
        let frames = r.session.machine.frameCounts.map(String.init).joined(separator: "/")
        return String(format: "ringside: restored %@ from %@%@: %d pages in %.1f ms, at frame %@", r.config.imageName, files[0],
                      files.count > 1 ? " + \(files.count - 1) incremental" : "", r.pages, r.seconds * 1000, frames)
    }

    static func received(_ r: MigrationDestination.Report) -> String {
        String(format: "migration received from %@: %d rounds, %d pages, %.1f MiB in %.2f s; downtime %.1f ms%@",
               r.source, r.rounds, r.pages, Double(r.bytes) / 1048576, r.seconds,
               r.downtimeSeconds * 1000, r.verifiedPages > 0 ? "; \(r.verifiedPages) pages verified" : "")
    }

    static func migrated(to: String, _ r: MigrationReport) -> String {
        String(format: "migrated to %@: %d rounds, %.1f MiB in %.2f s (%.0f MiB/s), last round %d pages; downtime %.1f ms",
               to, r.rounds.count, Double(r.totalBytes) / 1048576, r.seconds, r.bandwidth / 1048576, r.finalPages, r.downtimeSeconds * 1000)
    }

    /// Frames per second, with `stats` the totals, latencies and mode sets, and the display's syncs.
    static func summary(_ s: RunSummary, cpus: Int, stats: Bool) -> [String] {
        let elapsed = s.seconds
        let total = s.framesPerCPU.reduce(0, +)
        let perCPU = cpus > 1 ? " (" + s.framesPerCPU.enumerated().map { "vCPU \($0.offset): \(String(format: "%.1f", Double($0.element) / elapsed))" }.joined(separator: ", ") + ")" : ""
        var lines = [String(format: "guest frames/s: %.1f%@ over %.2f s, %d frames", Double(total) / Double(cpus) / elapsed, perCPU, elapsed, total)]
        if stats { lines += statsLines(s) }
        lines.append(String(format: "display: %d syncs (%.1f/s), %.1f dirty tiles per sync", s.stats.syncs, Double(s.stats.syncs) / elapsed,
                            Double(s.stats.dirtyTiles) / Double(max(1, s.stats.syncs)))
                     + (s.stats.idleSyncs > 0 ? "; \(s.stats.idleSyncs) more with no reader (harvest only)" : ""))
        return lines
    }

    private static func statsLines(_ s: RunSummary) -> [String] {
        var lines = [s.stats.line(label: "total")]
        let lat = s.latenciesNanos
        if !lat.isEmpty {
            func pct(_ p: Double) -> Double { Double(lat[min(lat.count - 1, Int(Double(lat.count) * p))]) / 1000 }
            lines.append(String(format: "latency from frame doorbell to shadow: p50 %.1f us, p99 %.1f us (%d samples)", pct(0.5), pct(0.99), lat.count))
        }
        let sets = s.modeSetsNanos
        if !sets.isEmpty {
            lines.append("mode sets: \(sets.count), from the DISPI ENABLE write to the first new frame in the shadow: "
                + sets.prefix(16).map { String(format: "%.2f", Double($0) / 1e6) }.joined(separator: ", ") + " ms"
                + ", now \(s.finalMode)")
            lines.append("mode sets, the VMM's part (rebuild grid and shadow + whole-frame copy): "
                + s.modeSetCostsNanos.prefix(16).map { String(format: "%.2f+%.2f", Double($0.rebuild) / 1e6, Double($0.copy) / 1e6) }.joined(separator: ", ") + " ms")
        }
        return lines
    }

    /// `migration round 3: 12 pages; ram 10 [4-9,30,...]; framebuffer 2 [0-1]`.
    static func describe(_ round: TrackingSession.Round) -> String {
        func ranges(_ pages: [UInt64]) -> String {
            let sorted = pages.sorted()
            var parts: [String] = []
            var i = 0
            while i < sorted.count && parts.count < 8 {
                var j = i
                while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
                parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
                i = j + 1
            }
            return parts.joined(separator: ",") + (i < sorted.count ? ",..." : "")
        }
        let ram = round.pages.pages(slot: GuestLayout.ramSlot)
        let fb = round.pages.pages(slot: GuestLayout.framebufferSlot)
        return "migration round \(round.number): \(round.total) pages; ram \(ram.count) [\(ranges(ram))]; framebuffer \(fb.count) [\(ranges(fb))]"
    }
}
