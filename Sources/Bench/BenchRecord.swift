import Foundation

/// The measurements of one cell. Field names are those of the JSON and CSV files.
///
/// `sinks` is the number of null display sinks of the cell: after every sync of every phase,
/// each one reads the damage log (its own query) and draws nothing.
///
/// Times are host microseconds per guest frame. From the lockstep phase (one sync per guest
/// frame, guest held still): `host_us_median`/`host_us_p99` are the wall time of the whole
/// sync (harvest, reset, migration list, fold, copy, damage record, bookkeeping) plus the
/// sink reads, plus any ring-full harvest during the frame; the phase columns are per-frame
/// medians of the session's own phase timers, so they need not add up to the total;
/// `present_us` is the median time of all the sinks' reads after a sync, together (none of
/// it is in harvest, reset, fold or copy); `display_fps` is `1e6 / host_us_median`; the dirty
/// counts are per-frame means; `guest_fps` is `1e6 /` the median guest time per frame
/// (release at one doorbell to the next: drawing plus the write faults of one reset per
/// frame).
///
/// From the free-run phase (guest unpaced, syncs back to back): `latency_p50_us` and
/// `latency_p99_us`, frame doorbell to the end of the copy into the shadow, and
/// `free_run_guest_fps`, the guest's frames per second meanwhile. A guest the refresher
/// starved of CPU makes no frame: `free_run_guest_fps` is then 0 and the latencies null.
///
/// From the paced phase, one set of four fields per rate pair G/D (guest paced at G Hz,
/// synced by a `SyncLoop` as `ringside run` does for a display at D Hz), named with the pair:
/// `paced_G_D_guest_fps` (the guest's achieved frames per second), `paced_G_D_samples`
/// (frames whose latency was measured), `paced_G_D_latency_p50_us` and
/// `paced_G_D_latency_p99_us` (doorbell to the end of the copy). Pairs come in
/// `BenchRatePair` order; a run without the paced phase has none of these fields.
///
/// A value that could not be measured is `nil` (JSON `null`, CSV empty). JSON written before
/// a field existed reads back with `sinks` 1, the other new fields `nil` and no pairs.
public struct BenchRecord: Sendable, Equatable {
    public var guest: String
    public var width: Int
    public var height: Int
    public var mode: String
    public var cpus: Int
    public var ramBytes: UInt64
    /// Null display sinks reading after every sync.
    public var sinks = 1
    /// Lockstep frames measured.
    public var frames: Int
    public var displayFPS: Double?
    public var guestFPS: Double?
    public var hostMedianMicros: Double?
    public var hostP99Micros: Double?
    /// Mean host µs per frame over the lockstep run (a workload that changes character has
    /// no meaningful median).
    public var hostMeanMicros: Double?
    /// Frames per second of the whole lockstep run: frames over the guest's time plus the
    /// host's (the two take turns there), the run's overall speed.
    public var lockstepFPS: Double?
    public var harvestMicros: Double?
    public var resetMicros: Double?
    public var foldMicros: Double?
    public var copyMicros: Double?
    /// The reads of all the null sinks after a sync: each takes its repainted tiles from the
    /// damage log under the lock and draws nothing.
    public var presentMicros: Double?
    /// Unique dirty pages per frame (framebuffer and, with a migration list, RAM).
    public var dirtyPages: Double?
    public var dirtyTiles: Double?
    public var bytesCopied: Double?
    public var latencyP50Micros: Double?
    public var latencyP99Micros: Double?
    /// The guest's frames per second in the free-run phase; 0 when it made none.
    public var freeRunGuestFPS: Double?
    /// The paced phase, one result per rate pair.
    public var paced: [BenchPacedResult] = []

    public init(guest: String, width: Int, height: Int, mode: String, cpus: Int, ramBytes: UInt64, frames: Int) {
        self.guest = guest
        self.width = width
        self.height = height
        self.mode = mode
        self.cpus = cpus
        self.ramBytes = ramBytes
        self.frames = frames
    }

    /// The fields in file order, each as a JSON value.
    public var fields: [(String, BenchValue)] {
        [
            ("guest", .text(guest)), ("width", .int(width)), ("height", .int(height)), ("mode", .text(mode)),
            ("cpus", .int(cpus)), ("ram_bytes", .int(Int(ramBytes))), ("sinks", .int(sinks)), ("frames", .int(frames)),
            ("display_fps", .number(displayFPS)), ("guest_fps", .number(guestFPS)),
            ("host_us_median", .number(hostMedianMicros)), ("host_us_p99", .number(hostP99Micros)),
            ("harvest_us", .number(harvestMicros)), ("reset_us", .number(resetMicros)),
            ("fold_us", .number(foldMicros)), ("copy_us", .number(copyMicros)), ("present_us", .number(presentMicros)),
            ("dirty_pages", .number(dirtyPages)), ("dirty_tiles", .number(dirtyTiles)), ("bytes_copied", .number(bytesCopied)),
            ("latency_p50_us", .number(latencyP50Micros)), ("latency_p99_us", .number(latencyP99Micros)),
            ("free_run_guest_fps", .number(freeRunGuestFPS)),
            ("host_us_mean", .number(hostMeanMicros)), ("lockstep_fps", .number(lockstepFPS)),
        ] + paced.flatMap(\.fields)
    }

    /// The fields every record has (a record of the paced phase adds four per rate pair).
    public static let fieldNames = BenchRecord(guest: "", width: 0, height: 0, mode: "", cpus: 0, ramBytes: 0, frames: 0).fields.map(\.0)
}

/// The paced phase of one cell at one rate pair.
public struct BenchPacedResult: Sendable, Equatable {
    public var rates: BenchRatePair
    /// The guest's achieved frames per second (per vCPU).
    public var guestFPS: Double?
    /// Frames whose doorbell-to-shadow latency was measured.
    public var samples: Int
    public var latencyP50Micros: Double?
    public var latencyP99Micros: Double?

    public init(rates: BenchRatePair, guestFPS: Double? = nil, samples: Int = 0,
                latencyP50Micros: Double? = nil, latencyP99Micros: Double? = nil) {
        self.rates = rates
        self.guestFPS = guestFPS
        self.samples = samples
        self.latencyP50Micros = latencyP50Micros
        self.latencyP99Micros = latencyP99Micros
    }

    static let suffixes = ["guest_fps", "samples", "latency_p50_us", "latency_p99_us"]

    /// `paced_G_D_guest_fps`, `paced_G_D_samples`, `paced_G_D_latency_p50_us`, `paced_G_D_latency_p99_us`.
    public var fields: [(String, BenchValue)] {
        let values: [BenchValue] = [.number(guestFPS), .int(samples), .number(latencyP50Micros), .number(latencyP99Micros)]
        return zip(Self.suffixes, values).map { ("paced_\(rates.fieldKey)_\($0)", $1) }
    }

    /// The pair and suffix a `paced_G_D_suffix` field name holds, or nil.
    static func parseField(_ name: String) -> (BenchRatePair, String)? {
        let parts = name.split(separator: "_", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "paced", let g = Int(parts[1]), let d = Int(parts[2]),
              suffixes.contains(parts[3]) else { return nil }
        return (BenchRatePair(guestHz: g, displayHz: d), parts[3])
    }
}

/// A JSON scalar.
public enum BenchValue: Sendable, Equatable {
    case text(String)
    case int(Int)
    case number(Double?)

    /// JSON text: numbers with up to 3 decimals, `null` for a missing or non-finite number.
    public var json: String {
        switch self {
        case .text(let s): return jsonString(s)
        case .int(let i): return String(i)
        case .number(let d): return d.flatMap { $0.isFinite ? formatNumber($0) : nil } ?? "null"
        }
    }

    /// CSV text: the same, with an empty field for a missing number and quotes where needed.
    public var csv: String {
        switch self {
        case .text(let s):
            return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        case .int(let i): return String(i)
        case .number(let d): return d.flatMap { $0.isFinite ? formatNumber($0) : nil } ?? ""
        }
    }
}

/// `12`, `12.5`, `0.125`: at most 3 decimals, no exponent, no trailing zeros.
func formatNumber(_ d: Double) -> String {
    let rounded = (d * 1000).rounded() / 1000
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
    var s = String(format: "%.3f", rounded)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}

/// Serializations of a list of records.
public enum BenchFiles {
    /// A JSON array, one object per record, fields in `BenchRecord.fieldNames` order.
    public static func json(_ records: [BenchRecord]) -> String {
        if records.isEmpty { return "[]\n" }
        let rows = records.map { r in
            "  {" + r.fields.map { "\(jsonString($0.0)): \($0.1.json)" }.joined(separator: ", ") + "}"
        }
        return "[\n" + rows.joined(separator: ",\n") + "\n]\n"
    }

    /// Reads back what `json` wrote (for redrawing a chart without re-running).
    public static func records(fromJSON data: Data) throws(BenchError) -> [BenchRecord] {
        guard let rows = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw BenchError("not a JSON array of bench records")
        }
        return try rows.enumerated().map { (i, row) throws(BenchError) in
            func int(_ k: String) throws(BenchError) -> Int {
                guard let n = row[k] as? NSNumber else { throw BenchError("record \(i + 1) has no number '\(k)'") }
                return n.intValue
            }
            func text(_ k: String) throws(BenchError) -> String {
                guard let t = row[k] as? String else { throw BenchError("record \(i + 1) has no text '\(k)'") }
                return t
            }
            func number(_ k: String) -> Double? { (row[k] as? NSNumber)?.doubleValue }
            var r = BenchRecord(guest: try text("guest"), width: try int("width"), height: try int("height"), mode: try text("mode"),
                                cpus: try int("cpus"), ramBytes: UInt64(try int("ram_bytes")), frames: try int("frames"))
            r.displayFPS = number("display_fps"); r.guestFPS = number("guest_fps")
            r.hostMedianMicros = number("host_us_median"); r.hostP99Micros = number("host_us_p99")
            r.hostMeanMicros = number("host_us_mean"); r.lockstepFPS = number("lockstep_fps")
            r.harvestMicros = number("harvest_us"); r.resetMicros = number("reset_us"); r.foldMicros = number("fold_us")
            r.copyMicros = number("copy_us"); r.presentMicros = number("present_us")
            r.dirtyPages = number("dirty_pages"); r.dirtyTiles = number("dirty_tiles"); r.bytesCopied = number("bytes_copied")
            r.latencyP50Micros = number("latency_p50_us"); r.latencyP99Micros = number("latency_p99_us")
            r.sinks = (row["sinks"] as? NSNumber)?.intValue ?? 1 // written before sink counts were measured
            r.freeRunGuestFPS = number("free_run_guest_fps")
            var paced: [BenchRatePair: BenchPacedResult] = [:]
            for key in row.keys {
                guard let (pair, suffix) = BenchPacedResult.parseField(key) else { continue }
                var p = paced[pair] ?? BenchPacedResult(rates: pair)
                switch suffix {
                case "guest_fps": p.guestFPS = number(key)
                case "samples": p.samples = (row[key] as? NSNumber)?.intValue ?? 0
                case "latency_p50_us": p.latencyP50Micros = number(key)
                default: p.latencyP99Micros = number(key)
                }
                paced[pair] = p
            }
            r.paced = paced.keys.sorted().map { paced[$0]! }
            return r
        }
    }

    /// A header line, then one line per record. The header has every field of any record, in
    /// order of first appearance; a record without one (another run's rate pairs) leaves it empty.
    public static func csv(_ records: [BenchRecord]) -> String {
        var names = BenchRecord.fieldNames
        for r in records { for (name, _) in r.fields where !names.contains(name) { names.append(name) } }
        var lines = [names.joined(separator: ",")]
        for r in records {
            let values = Dictionary(r.fields, uniquingKeysWith: { first, _ in first })
            lines.append(names.map { values[$0]?.csv ?? "" }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
