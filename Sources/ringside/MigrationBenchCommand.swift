import Bench
import Foundation
import LiveMigration
import Tracking

extension BenchCommand {
    /// `ringside bench --migration`: one line per (guest, RAM, mode), modes side by side.
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
        options.maxDowntimeSeconds = 0.03
        options.verify = false
        Console.out("ringside bench --migration: \(workloads.count * ramSizes.count * modeList.count) migrations over loopback, "
            + "1280x800 paced at 60 Hz, 1 s of running first, downtime budget 30 ms, max 30 rounds")
        Console.out("| guest | RAM | mode | rounds | converged | pages sent | MiB sent | seconds | later rounds ms | sync us per later round | sync us median of 30 | last round pages | downtime ms (source) | downtime ms (destination) |")
        Console.out("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var failed = 0
        for w in workloads {
            for ramBytes in ramSizes {
                for mode in modeList {
                    let r = MigrationBench.run(workload: w, ramBytes: ramBytes, mode: mode, warmup: quick ? 0.5 : 1, options: options, device: device)
                    if let f = r.failure {
                        failed += 1
                        Console.out("| \(r.guest) | \(formatBytes(ramBytes)) | \(r.mode) | failed: \(f) |")
                        continue
                    }
                    Console.out(String(format: "| %@ | %@ | %@ | %d | %@ | %d | %.1f | %.2f | %.1f | %.0f | %.0f | %d | %.1f | %.1f |", r.guest, formatBytes(ramBytes), r.mode,
                                       r.rounds, r.converged ? "yes" : "no", r.pagesSent, Double(r.bytesSent) / 1048576, r.seconds,
                                       r.laterRoundMs, r.laterSyncUs, r.takeMedianUs, r.finalPages, r.downtimeMs, r.destinationDowntimeMs))
                }
            }
        }
        return failed == 0 ? 0 : 1
    }
}
