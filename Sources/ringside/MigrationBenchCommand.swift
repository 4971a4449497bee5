import Bench
import Foundation
import LiveMigration
import Machine
import Tracking

extension BenchCommand {
    /// `ringside bench --migration`: one line per run of each (guest, RAM, mode), the cells
    /// taking turns run by run (`--rounds`), then one line per cell: how often the downtime
    /// kept to `--max-downtime`.
    func runMigrationBench() throws -> Int32 {
        // pagewriter (random RAM and framebuffer pages every frame) is a migration workload too.
        let names = (guests ?? (quick ? "desktop" : "idle,desktop,bounce16,plasma,pagewriter")).split(separator: ",").map(String.init)
        let workloads = try names.flatMap { name -> [BenchWorkload] in
            if name == "pagewriter" { return [BenchWorkload(label: "pagewriter", guest: "pagewriter", arguments: "pages=200 fb=1")] }
            return try BenchFilters.workloads(name)
        }
        let ramSizes = try BenchFilters.ramSizes(ram ?? (quick ? "256M" : "256M,4G,16G"))
        let modeList = try BenchFilters.modes(modes ?? "ring,bitmap")
        guard modeList.allSatisfy(\.hasPageList) else { throw Failure("--migration needs modes with a page list: ring, bitmap") }
        var options = MigrationOptions()
        options.maxDowntimeSeconds = (maxDowntimeMS ?? 30) / 1000
        options.verify = false
        let compressions = try (compress ?? "auto").split(separator: ",").map { text -> CompressionMode in
            guard let m = CompressionMode(rawValue: String(text)) else { throw Failure("--compress '\(text)': use auto, on or off, comma-separated") }
            return m
        }
        if let migrationBandwidth {
            guard let bytes = parseMemorySize(migrationBandwidth), bytes >= 1 << 20 else {
                throw Failure("--max-bandwidth '\(migrationBandwidth)' is not a rate: use bytes per second, at least 1M, e.g. 20M")
            }
            options.maxBandwidth = Double(bytes)
        }
        let runs = rounds ?? 1
        let cells = workloads.flatMap { w in ramSizes.flatMap { r in modeList.flatMap { m in compressions.map { (w, r, m, $0) } } } }
        Console.out("ringside bench --migration: \(cells.count * runs) migrations over loopback (\(cells.count) cells, \(runs) run\(runs == 1 ? "" : "s") each), "
            + String(format: "1280x800 paced at 60 Hz, 1 s of running first, downtime budget %g ms, max 30 rounds", options.maxDowntimeSeconds * 1000)
            + (options.maxBandwidth.map { String(format: ", at most %.0f MiB/s", $0 / 1048576) } ?? ""))
        Console.out("| guest | RAM | mode | compress | rounds | converged | pages sent | MiB of pages | MiB sent | ratio | s compressing | seconds | later rounds ms | sync us per later round | sync us median of 30 | last round pages | downtime ms (source) | downtime ms (destination) | expected ms |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var results = [[MigrationBenchRecord]](repeating: [], count: cells.count)
        for _ in 0..<runs {
            for (i, (w, ramBytes, mode, compression)) in cells.enumerated() {
                var options = options
                options.compression = compression
                let r = MigrationBench.run(workload: w, ramBytes: ramBytes, mode: mode, warmup: quick ? 0.5 : 1, options: options, device: device)
                results[i].append(r)
                Console.out(Self.migrationRow(r))
            }
        }
        Console.out("")
        Console.out("| guest | RAM | mode | runs | handed over | within budget | abandoned in one line | failed | downtime ms p50 | p95 | max |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|---|")
        for (i, (_, ramBytes, _, _)) in cells.enumerated() {
            Console.out(Self.budgetRow(results[i], ramBytes: ramBytes, budgetMs: options.maxDowntimeSeconds * 1000))
        }
        return results.joined().contains { $0.failure != nil && !$0.abandoned } ? 1 : 0
    }

    private static func migrationRow(_ r: MigrationBenchRecord) -> String {
        if let f = r.failure { return "| \(r.guest) | \(formatBytes(r.ramBytes)) | \(r.mode) | \(r.compression) | \(r.abandoned ? "abandoned" : "failed"): \(f) |" }
        let c = r.compressionReport
        return String(format: "| %@ | %@ | %@ | %@ | %d | %@ | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.0f | %.0f | %d | %.1f | %.1f | %.1f |", r.guest, formatBytes(r.ramBytes), r.mode,
                      r.compression + (c.used ? " (used)" : c.mode == "auto" ? " (not used)" : ""),
                      r.rounds, r.converged ? "yes" : "no", r.pagesSent, Double(c.rawBytes) / 1048576, Double(r.bytesSent) / 1048576, c.ratio,
                      c.compressSeconds, r.seconds,
                      r.laterRoundMs, r.laterSyncUs, r.takeMedianUs, r.finalPages, r.downtimeMs, r.destinationDowntimeMs, r.expectedDowntimeMs)
    }

    /// One cell's runs: how many handed over, how many of those kept to the budget, how many
    /// were abandoned cleanly (the guest ran on at the source), and the downtimes.
    private static func budgetRow(_ runs: [MigrationBenchRecord], ramBytes: UInt64, budgetMs: Double) -> String {
        let first = runs[0]
        let label = "\(first.mode), compress \(first.compression)"
        let done = runs.filter { $0.failure == nil }.map(\.downtimeMs).sorted()
        let within = done.filter { $0 <= budgetMs }.count
        let abandoned = runs.filter(\.abandoned).count
        let failed = runs.filter { $0.failure != nil && !$0.abandoned }.count
        func pct(_ p: Double) -> String { done.isEmpty ? "-" : String(format: "%.1f", done[min(done.count - 1, Int(Double(done.count) * p))]) }
        return "| \(first.guest) | \(formatBytes(ramBytes)) | \(label) | \(runs.count) | \(done.count) | \(within) of \(done.count) | \(abandoned) | \(failed) | "
            + "\(pct(0.5)) | \(pct(0.95)) | \(done.last.map { String(format: "%.1f", $0) } ?? "-") |"
    }
}
