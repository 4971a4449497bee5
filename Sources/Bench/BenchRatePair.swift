/// A guest frame rate and a display refresh rate, as `ringside run --guest-hz G --refresh D`
/// pairs them: the paced phase runs the guest at `guestHz` and syncs it the way `run` does
/// for a display at `displayHz` (`SyncLoop.rate(display:guestHz:)`).
public struct BenchRatePair: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public let guestHz: Int
    public let displayHz: Int

    public init(guestHz: Int, displayHz: Int) {
        self.guestHz = guestHz
        self.displayHz = displayHz
    }

    /// Both rates are whole Hz in this range (`run` refreshes at most 1000 times a second).
    public static let hzRange = 1...1000

    /// `60/144`: guest Hz, then display Hz.
    public var description: String { "\(guestHz)/\(displayHz)" }

    /// `60_144`: the pair inside record field names (`paced_60_144_latency_p50_us`).
    public var fieldKey: String { "\(guestHz)_\(displayHz)" }

    /// One display period in microseconds: the paced latency p99 target.
    public var displayPeriodMicros: Double { 1e6 / Double(displayHz) }

    /// `G/D` with whole Hz in `hzRange`.
    public static func parse(_ text: String) -> BenchRatePair? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let g = Int(parts[0]), let d = Int(parts[1]),
              hzRange.contains(g), hzRange.contains(d) else { return nil }
        return BenchRatePair(guestHz: g, displayHz: d)
    }

    /// By guest Hz, then display Hz: the order of runs, records and fields.
    public static func < (a: BenchRatePair, b: BenchRatePair) -> Bool {
        (a.guestHz, a.displayHz) < (b.guestHz, b.displayHz)
    }

    /// 60/60, 60/144, 144/60: the rates users run at.
    public static let defaults = [
        BenchRatePair(guestHz: 60, displayHz: 60), BenchRatePair(guestHz: 60, displayHz: 144),
        BenchRatePair(guestHz: 144, displayHz: 60),
    ]
}
