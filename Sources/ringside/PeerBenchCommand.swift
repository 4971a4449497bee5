import Foundation
import PeerBench
import QEMUPeer

/// `ringside bench --peer qemu`: runs PeerBench and prints its records side by side.
extension BenchCommand {
    func runPeerBench(_ peer: String) throws -> Int32 {
        guard peer == "qemu" else { throw Failure("--peer '\(peer)' is not a peer: the one there is is qemu") }
        let plan = try peerPlan()
        if let json {
            let dir = URL(fileURLWithPath: json).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: dir) else { throw Failure("--json \(json): directory \(dir) does not exist") }
        }
        let installation = try QEMUInstallation.find()
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let bench = try PeerBench(plan: plan, ringsideExecutable: exe, installation: installation, device: device)

        let interrupts = StopSignals.onEverySignal { signal, count in
            guard count == 1 else { _exit(128 + signal) }
            Console.error("interrupted: stopping the cell now running; the records so far are kept")
            bench.requestStop()
        }
        defer { interrupts.cancel() }
        return try run(bench, plan: plan)
    }

    /// The plan the options ask for, each one checked.
    private func peerPlan() throws -> PeerBenchPlan {
        var plan = quick ? PeerBenchPlan.quick : PeerBenchPlan()
        if let guests {
            let all = PeerBenchPlan().workloads
            plan.workloads = try guests.split(separator: ",").map { name in
                guard let w = all.first(where: { $0.label == name }) else {
                    throw Failure("--guests '\(name)' is not a --peer workload: use \(all.map(\.label).joined(separator: ", "))")
                }
                return w
            }
            plan.migrationWorkloads = plan.migrationWorkloads.filter { m in plan.workloads.contains { $0.label == m } }
        }
        if let resolutions {
            plan.resolutions = try resolutions.split(separator: ",").map { part in
                let wh = part.lowercased().split(separator: "x").compactMap { Int($0) }
                guard wh.count == 2, (64...7680).contains(wh[0]), (64...4320).contains(wh[1]) else {
                    throw Failure("--resolutions '\(part)' is not a size: use WxH, e.g. 1280x800")
                }
                return (wh[0], wh[1])
            }
        }
        if let ram {
            plan.migrationRAM = try ram.split(separator: ",").map { part in
                guard let bytes = parseMemorySizeText(String(part)) else { throw Failure("--ram '\(part)' is not a size: use e.g. 256M or 4G") }
                return bytes
            }
        }
        if let freeRunSeconds { plan.seconds = freeRunSeconds }
        if let cells = peerCells {
            let names = Set(cells.split(separator: ",").map(String.init))
            let known: Set = ["display", "idle", "speed", "migration"]
            guard names.isSubset(of: known) else { throw Failure("--peer-cells '\(cells)': use display, idle, speed, migration (comma-separated)") }
            plan.display = names.contains("display")
            plan.idle = names.contains("idle")
            plan.speed = names.contains("speed")
            if !names.contains("migration") { plan.migrationWorkloads = [] }
        }
        if noMigration { plan.migrationWorkloads = [] }
        return plan
    }

    /// Runs the cells, a line per record, then the side-by-side table and the JSON.
    private func run(_ bench: PeerBench, plan: PeerBenchPlan) throws -> Int32 {
        Console.out("ringside bench --peer qemu\(quick ? " --quick" : ""): \(plan.workloads.map(\.label).joined(separator: ", ")) at "
            + plan.resolutions.map { "\($0.width)x\($0.height)" }.joined(separator: ", ") + ", guest at \(Int(plan.guestHz)) Hz, "
            + String(format: "%g s measured per cell after %g s", plan.seconds, plan.warmup)
            + ", load average " + ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?")
            + " on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        Console.out("  " + PeerBench.ringsideSettings)
        Console.out("  " + PeerBench.qemuSettings)
        var records: [PeerRecord] = []
        var events = PeerBench.Events()
        events.progress = { Console.out("-- " + $0) }
        events.failure = { Console.error("cell failed: " + $0) }
        events.skipped = { Console.out("skipped: " + $0) }
        events.record = { r in
            records.append(r)
            Console.out("   " + PeerTable.line(r))
            if let json { try? PeerRecord.json(records).write(toFile: json, atomically: true, encoding: .utf8) }
        }
        let ok = bench.run(events)
        Console.out("QEMU \(bench.qemuVersion)")
        for line in PeerTable.sideBySide(records) { Console.out(line) }
        if let json {
            do { try PeerRecord.json(records).write(toFile: json, atomically: true, encoding: .utf8) } catch {
                throw Failure("--json \(json): \(error.localizedDescription)")
            }
            Console.out("wrote \(records.count) records to \(json)")
        }
        if bench.stopping { return 130 }
        return ok ? 0 : 1
    }

    private func parseMemorySizeText(_ text: String) -> UInt64? {
        let t = text.uppercased()
        guard let unit = t.last, let n = UInt64(t.dropLast()) else { return nil }
        switch unit {
        case "M": return n << 20
        case "G": return n << 30
        default: return nil
        }
    }
}

/// The peer bench's lines: one per record as it comes, and tables of Ringside beside QEMU.
enum PeerTable {
    static func f(_ v: Double?, _ format: String = "%.2f") -> String { v.map { String(format: format, $0) } ?? "-" }
    static func i(_ v: Int?) -> String { v.map(String.init) ?? "-" }

    static func line(_ r: PeerRecord) -> String {
        let head = "\(r.vmm) \(r.cell) \(r.guest) \(r.width)x\(r.height)" + (r.encoding.map { " \($0)" } ?? "")
        switch r.cell {
        case "display":
            return head + ": \(f(r.updatesPerSecond, "%.1f")) updates/s, \(f(r.bytesPerUpdate, "%.0f")) B/update, \(f(r.cpuMsPerUpdate)) ms CPU/update, "
                + "latency p50 \(f(r.latencyP50Ms, "%.1f")) / p99 \(f(r.latencyP99Ms, "%.1f")) ms, never seen \(i(r.framesNeverSeen)) of \(i(r.framesInWindow)), torn \(i(r.tornUpdates)) of \(i(r.updates))"
                + (r.note.map { " (\($0))" } ?? "")
        case "idle":
            return head + ": \(f(r.cpuSecondsPerSecond, "%.4f")) s CPU per s, peak RSS \(mib(r.peakRSSBytes))"
        case "speed":
            return head + " (\(r.settings.split(separator: ";").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")): "
                + "\(f(r.guestFPS, "%.0f")) frames/s \(r.client == true ? "with" : "without") a client, \(f(r.cpuSecondsPerSecond, "%.3f")) s CPU per s"
        case "migration":
            return head + " \(mib(r.ramBytes)) budget \(f(r.downtimeBudgetMs, "%.0f")) ms: downtime reported \(f(r.reportedDowntimeMs, "%.1f")) ms, "
                + "guest-visible \(f(r.guestVisibleDowntimeMs, "%.1f")) ms, total \(f(r.totalSeconds, "%.3f")) s, \(mib(r.bytesSent.map { UInt64($0) })) sent"
        case "frame":
            return head + ": frame \(i(r.frame)) " + (r.identical == true ? "identical to the guest's own" : "DIFFERS from the guest's own")
        default:
            return head
        }
    }

    static func mib(_ b: UInt64?) -> String { b.map { String(format: "%.1f MiB", Double($0) / 1048576) } ?? "-" }

    /// Ringside | QEMU | ratio, for the cells both measured.
    static func sideBySide(_ records: [PeerRecord]) -> [String] {
        var out = ["", "| cell | guest | size | encoding | measure | Ringside | QEMU | Ringside / QEMU |", "|---|---|---|---|---|---|---|---|"]
        func key(_ r: PeerRecord) -> String {
            "\(r.cell)|\(r.guest)|\(r.width)x\(r.height)|\(r.encoding ?? "")|\(r.client.map { "\($0)" } ?? "")|\(r.ramBytes ?? 0)|\(r.downtimeBudgetMs ?? 0)|"
                + (r.cell == "speed" ? (r.settings.contains("bitmap") ? "bitmap" : "ring") : "")
        }
        var order: [String] = []
        var pairs: [String: (PeerRecord?, PeerRecord?)] = [:]
        for r in records {
            let k = key(r)
            if pairs[k] == nil { order.append(k) }
            var p = pairs[k] ?? (nil, nil)
            if r.vmm == "ringside" { p.0 = r } else { p.1 = r }
            pairs[k] = p
        }
        let measures: [(String, KeyPath<PeerRecord, Double?>)] = [
            ("updates/s", \.updatesPerSecond), ("bytes/update", \.bytesPerUpdate), ("CPU ms/update", \.cpuMsPerUpdate),
            ("latency p50 ms", \.latencyP50Ms), ("latency p99 ms", \.latencyP99Ms), ("CPU s/s", \.cpuSecondsPerSecond),
            ("frames/s", \.guestFPS), ("downtime reported ms", \.reportedDowntimeMs), ("downtime guest-visible ms", \.guestVisibleDowntimeMs),
            ("migration total s", \.totalSeconds), ("migration bytes", \.bytesSent),
        ]
        let counts: [(String, KeyPath<PeerRecord, Int?>, KeyPath<PeerRecord, Int?>)] = [
            ("frames never seen", \.framesNeverSeen, \.framesInWindow), ("torn updates", \.tornUpdates, \.updates),
        ]
        for k in order {
            guard let (a, b) = pairs[k], let any = a ?? b else { continue }
            let size = "\(any.width)x\(any.height)"
            var enc = any.encoding ?? ""
            if any.cell == "speed" { enc = (any.client == true ? "client" : "no client") + (k.hasSuffix("bitmap") ? ", QEMU bitmap" : "") }
            if any.cell == "migration" { enc = "\(mib(any.ramBytes)), \(Int(any.downtimeBudgetMs ?? 0)) ms" }
            for (name, path) in measures {
                let x = a?[keyPath: path], y = b?[keyPath: path]
                guard x != nil || y != nil else { continue }
                let ratio = (x != nil && y != nil && y! != 0) ? String(format: "%.2f", x! / y!) : "-"
                out.append("| \(any.cell) | \(any.guest) | \(size) | \(enc) | \(name) | \(f(x, "%.3g")) | \(f(y, "%.3g")) | \(ratio) |")
            }
            for (name, path, of) in counts {
                let x = a?[keyPath: path], y = b?[keyPath: path]
                guard x != nil || y != nil else { continue }
                out.append("| \(any.cell) | \(any.guest) | \(size) | \(enc) | \(name) | \(i(x)) of \(i(a?[keyPath: of])) | \(i(y)) of \(i(b?[keyPath: of])) | - |")
            }
            if any.cell == "frame" {
                out.append("| frame | \(any.guest) | \(size) | Raw | frame \(i(any.frame)) identical | \(a?.identical.map { "\($0)" } ?? "-") | \(b?.identical.map { "\($0)" } ?? "-") | - |")
            }
            for (name, path) in [("peak RSS", \PeerRecord.peakRSSBytes), ("RSS at the end", \PeerRecord.rssBytes)] {
                let ra = a?[keyPath: path], rb = b?[keyPath: path]
                guard ra != nil || rb != nil, any.cell != "frame" else { continue }
                out.append("| \(any.cell) | \(any.guest) | \(size) | \(enc) | \(name) | \(mib(ra)) | \(mib(rb)) | \(ra != nil && rb != nil ? String(format: "%.2f", Double(ra!) / Double(rb!)) : "-") |")
            }
        }
        return out
    }
}
