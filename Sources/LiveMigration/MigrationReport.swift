import Foundation

/// What happened, for `--stats` and the summary.
public struct MigrationReport: Sendable {
    public struct Round: Sendable {
        public var number: Int
        public var pages: Int
        public var bytes: Int
        public var seconds: Double
        /// Taking the round's page set: a sync (harvest and reset) plus the hand-over of the set.
        /// With the ring this follows what was dirtied; with the bitmap it walks all of RAM.
        public var syncSeconds: Double = 0
    }
    public var rounds: [Round] = []
    /// Pages and bytes sent while the guest was paused (the last round).
    public var finalPages = 0
    public var totalBytes = 0
    public var seconds = 0.0
    /// Source: from pausing the vCPUs to the destination's `started`.
    public var downtimeSeconds = 0.0
    /// Whether pre-copy converged (a report is returned only when it did: otherwise the
    /// migration is abandoned with `MigrationError.didNotConverge`).
    public var converged = false
    /// Where the downtime went, in order: (phase, seconds) from the pause to `started`.
    public var handOver: [(phase: String, seconds: Double)] = []
    /// `handOver` as one line of milliseconds.
    public var handOverLine: String {
        handOver.map { String(format: "%@ %.2f", $0.phase, $0.seconds * 1000) }.joined(separator: ", ")
    }
    public var bandwidth: Double { seconds > 0 ? Double(totalBytes) / seconds : 0 }
}
