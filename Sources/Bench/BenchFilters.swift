import Foundation
import Machine
import Tracking

/// Parsers for the comma-separated filters of `ringside bench`; each error is one line.
public enum BenchFilters {
    static func items(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `desktop,bounce16,plasma,doom`; plain `bounce` means bounce4, bounce16 and bounce64.
    public static func workloads(_ text: String) throws(BenchError) -> [BenchWorkload] {
        var out: [BenchWorkload] = []
        for item in items(text) {
            let found: [BenchWorkload]
            if item == "bounce" {
                found = BenchWorkload.defaults.filter { $0.guest == "bounce" }
            } else if let w = BenchWorkload.named(item) {
                found = [w]
            } else {
                throw BenchError("--guests: unknown guest '\(item)' (use idle, desktop, terminal, plasma, bounce, bounceN for N sprites, e.g. bounce16, alternate / alternateN for phases of N frames, or doom)")
            }
            for w in found where !out.contains(w) { out.append(w) }
        }
        if out.isEmpty { throw BenchError("--guests '\(text)' names no guest") }
        return out
    }

    /// `640x480,1920x1080`.
    public static func resolutions(_ text: String) throws(BenchError) -> [BenchResolution] {
        var out: [BenchResolution] = []
        for item in items(text) {
            guard let r = BenchResolution.parse(item) else {
                throw BenchError("--resolutions: '\(item)' is not a resolution: use WxH with width 64...7680 and height 64...4320, e.g. 1280x800")
            }
            if !out.contains(r) { out.append(r) }
        }
        if out.isEmpty { throw BenchError("--resolutions '\(text)' names no resolution") }
        return out
    }

    /// `ring,bitmap,compare,full`.
    public static func modes(_ text: String) throws(BenchError) -> [TrackingMode] {
        var out: [TrackingMode] = []
        for item in items(text) {
            guard let m = TrackingMode(rawValue: item.lowercased()) else {
                throw BenchError("--modes: '\(item)' is not a tracking mode: use ring, bitmap, compare, full or auto")
            }
            if !out.contains(m) { out.append(m) }
        }
        if out.isEmpty { throw BenchError("--modes '\(text)' names no mode") }
        return out
    }

    /// `256M,4G,16G`.
    public static func ramSizes(_ text: String) throws(BenchError) -> [UInt64] {
        var out: [UInt64] = []
        for item in items(text) {
            guard let bytes = parseMemorySize(item), bytes >= GuestLayout.minRAM, bytes <= GuestLayout.maxRAM,
                  bytes % GuestLayout.largePage == 0 else {
                throw BenchError("--ram: '\(item)' is not a guest RAM size: use 8M...32G in whole 2M steps, e.g. 256M or 4G")
            }
            if !out.contains(bytes) { out.append(bytes) }
        }
        if out.isEmpty { throw BenchError("--ram '\(text)' names no size") }
        return out
    }

    /// `1,16`: display sink counts, each 1...64, in the order given.
    public static func sinkCounts(_ text: String) throws(BenchError) -> [Int] {
        var out: [Int] = []
        for item in items(text) {
            guard let n = Int(item), BenchPlan.sinkRange.contains(n) else {
                throw BenchError("--sinks: '\(item)' is not a sink count: use whole numbers 1...64, e.g. --sinks 1,16")
            }
            if !out.contains(n) { out.append(n) }
        }
        if out.isEmpty { throw BenchError("--sinks '\(text)' names no sink count") }
        return out
    }

    /// `60/60,60/144,144/60`: guest Hz / display Hz, whole Hz 1...1000, sorted by guest then
    /// display Hz (the order records hold them in).
    public static func ratePairs(_ text: String) throws(BenchError) -> [BenchRatePair] {
        var out: [BenchRatePair] = []
        for item in items(text) {
            guard let pair = BenchRatePair.parse(item) else {
                throw BenchError("--paced-rates: '\(item)' is not a rate pair: use GUEST/DISPLAY in whole Hz 1...1000, e.g. 60/144")
            }
            if !out.contains(pair) { out.append(pair) }
        }
        if out.isEmpty { throw BenchError("--paced-rates '\(text)' names no rate pair") }
        return out.sorted()
    }
}
