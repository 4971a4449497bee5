import Machine
import Foundation

/// Counters over a span of syncs (`--stats` prints them once a second and at the end).
public struct TrackingStats: Sendable {
    public var syncs = 0
    /// Syncs with no display sink alive: a harvest only, no fold, copy or damage record
    /// (their entries and pages are counted above, their harvest time is not).
    public var idleSyncs = 0
    /// Times the display left idle for a reader (each copied the whole frame once).
    public var displayWakes = 0
    public var ringFullHarvests = 0
    public var entries = 0
    public var duplicates = 0
    public var uniquePages = 0
    public var dirtyTiles = 0
    public var bytesCopied = 0
    public var harvestNanos: UInt64 = 0
    public var resetNanos: UInt64 = 0
    public var foldNanos: UInt64 = 0
    public var copyNanos: UInt64 = 0
    public var resetMismatches = 0
    /// `--tracking auto`: switches between logged tracking and full repaint, and the method
    /// in force when the stats were taken.
    public var methodSwitches = 0
    public var method: DisplayMethod?
    /// The switches themselves, oldest first: at most `keptSwitches` (the count goes on).
    public var switches: [MethodSwitch] = []
    public static let keptSwitches = 16
    /// Guest mode sets the display followed, and the mode shown after the last of them.
    public var modeSets = 0
    public var mode: DisplayMode?

    public init() {}

    mutating func add(_ h: HarvestResult) {
        entries += h.entries
        duplicates += h.duplicates
        uniquePages += h.uniquePages
        harvestNanos += h.harvestNanos
        resetNanos += h.resetNanos
    }

    /// Adds one sync: its harvest and the display's fold and copy.
    mutating func record(_ h: HarvestResult, foldNanos: UInt64, copyNanos: UInt64, bytes: Int, tiles: Int, mismatches: Int) {
        add(h)
        syncs += 1
        self.foldNanos += foldNanos
        self.copyNanos += copyNanos
        bytesCopied += bytes
        dirtyTiles += tiles
        resetMismatches = mismatches
    }

    /// Adds one idle sync: its counts, not its time (the per-sync times are the display's).
    mutating func recordIdle(_ h: HarvestResult) {
        idleSyncs += 1
        entries += h.entries
        duplicates += h.duplicates
        uniquePages += h.uniquePages
    }

    mutating func recordSwitch(_ s: MethodSwitch) {
        methodSwitches += 1
        if switches.count < Self.keptSwitches { switches.append(s) }
    }

    /// A line per switch kept, and one for those left out.
    public var switchLines: [String] {
        switches.map(\.line) + (methodSwitches > switches.count ? ["auto: \(methodSwitches - switches.count) more switches"] : [])
    }

    /// Host time of the tracking pipeline (harvest + reset + fold + copy).
    public var totalNanos: UInt64 { harvestNanos + resetNanos + foldNanos + copyNanos }

    /// One line: counts and per-phase time per sync.
    public func line(label: String) -> String {
        let n = max(1, syncs)
        func us(_ ns: UInt64) -> String { String(format: "%.1f", Double(ns) / Double(n) / 1000) }
        return "\(label): \(syncs) syncs, \(entries) entries (\(duplicates) duplicates, \(uniquePages) unique pages), "
            + "\(dirtyTiles) dirty tiles, \(bytesCopied / 1024) KiB copied; per sync us: harvest \(us(harvestNanos)) "
            + "reset \(us(resetNanos)) fold \(us(foldNanos)) copy \(us(copyNanos)) total \(us(totalNanos))"
            + (idleSyncs > 0 ? "; \(idleSyncs) idle syncs (no reader)" : "")
            + (ringFullHarvests > 0 ? "; \(ringFullHarvests) ring-full harvests" : "")
            + (resetMismatches > 0 ? "; \(resetMismatches) reset-count mismatches" : "")
            + (method.map { "; auto: \($0.rawValue)" } ?? "")
            + (methodSwitches > 0 ? ", \(methodSwitches) switch\(methodSwitches == 1 ? "" : "es") of method" : "")
            + (modeSets > 0 ? "; \(modeSets) mode set\(modeSets == 1 ? "" : "s"), now \(mode.map(\.description) ?? "?")" : "")
    }
}
