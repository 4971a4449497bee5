import Bench
import Foundation

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

    /// `-- [1-5/40] desktop 1280x800 256M: ring, bitmap, compare, full, auto`.
    func groupLine(_ group: BenchGroup, total: Int) -> String {
        "-- [\(group.firstIndex + 1)-\(group.firstIndex + group.cells.count)/\(total)] \(group.workload) \(group.resolution) \(formatBytes(group.ramBytes))"
            + (group.cpus > 1 ? " \(group.cpus) vCPUs" : "") + ": "
            + group.cells.map { showSinks ? "\($0.mode.rawValue) x\($0.sinks)" : $0.mode.rawValue }.joined(separator: ", ")
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
