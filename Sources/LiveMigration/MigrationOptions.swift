/// How a source migrates.
public struct MigrationOptions: Sendable {
    /// Converge when the pages left can be sent within this at the bandwidth seen so far.
    public var maxDowntimeSeconds = 0.3
    /// Bytes per second at most (nil: as fast as the connection goes).
    public var maxBandwidth: Double?
    /// Pre-copy rounds at most before stopping the guest regardless.
    public var maxRounds = 30
    /// Send a digest of every page before completing; the destination refuses to resume on
    /// any difference.
    public var verify = false
    /// Seconds without a message from the other side before giving up.
    public var timeout = 30.0
    /// Whether page batches are compressed (`--migrate-compress`).
    public var compression: CompressionMode = .auto
    /// Whether the guest's pace is slowed when it dirties pages faster than the link takes
    /// them (`--auto-converge`, `AutoConverge`).
    public var autoConverge = true
    /// TLS for the stream (`--migrate-tls-*`); nil: plain TCP.
    public var tls: MigrationTLS?
    public init() {}
}
