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
    /// From pausing the vCPUs here to starting them at the destination (`Downtime`), the
    /// definition the destination reports too.
    public var downtimeSeconds = 0.0
    /// What the budget's estimate expected of it when the guest was paused.
    public var expectedDowntimeSeconds = 0.0
    /// Whether pre-copy converged (a report is returned only when it did: otherwise the
    /// migration is abandoned with `MigrationError.didNotConverge`).
    public var converged = false
    /// Auto-converge's steps, in order: how much the guest was slowed (percent of its pace).
    public var autoConverge: [Int] = []
    /// Where the downtime went, in order: (phase, seconds) from the pause to the start there.
    public var handOver: [(phase: String, seconds: Double)] = []
    /// `handOver` as one line of milliseconds.
    public var handOverLine: String {
        handOver.map { String(format: "%@ %.2f", $0.phase, $0.seconds * 1000) }.joined(separator: ", ")
    }
    public var bandwidth: Double { seconds > 0 ? Double(totalBytes) / seconds : 0 }
    /// `bandwidth` as if page batches had gone uncompressed: the rate pages cross the link, in
    /// uncompressed bytes, which the downtime budget's estimate needs.
    public var pageBandwidth: Double {
        seconds > 0 ? Double(totalBytes - compression.wireBytes + compression.rawBytes) / seconds : 0
    }

    /// Page batches: how they were sent (`--migrate-compress`).
    public struct Compression: Sendable {
        public var mode = "off"
        /// Whether any batch went out compressed.
        public var used = false
        /// Why compression is on or off (`PageCompressor`).
        public var decision = "off"
        /// Page frames as they would be without compression, and as they were sent.
        public var rawBytes = 0
        public var wireBytes = 0
        public var batches = 0
        public var compressedBatches = 0
        public var compressSeconds = 0.0
        /// Bytes sent over bytes before compression (1: nothing saved).
        public init() {}
        public var ratio: Double { rawBytes > 0 ? Double(wireBytes) / Double(rawBytes) : 1 }
        /// One line for the summary: `zlib, 412.0 MiB of pages in 96.3 MiB (0.23), 1.9 s compressing` or `off`.
        public var line: String {
            guard used else { return decision }
            return String(format: "zlib %@, %.1f MiB of pages sent as %.1f MiB (ratio %.2f), %.2f s compressing", decision,
                          Double(rawBytes) / 1048576, Double(wireBytes) / 1048576, ratio, compressSeconds)
        }
    }
    public var compression = Compression()
}
