import Machine
import Tracking

/// How a run ended and what it did, for the CLI's closing lines.
public struct RunSummary: Sendable {
    public var outcome: MachineOutcome
    /// From `GuestSession.start()` to the machine's end.
    public var seconds: Double
    /// Frames each vCPU drew here (a received guest arrived with the source's counts).
    public var framesPerCPU: [Int]
    public var stats: TrackingStats
    /// Doorbell-to-shadow latencies in nanoseconds, sorted (with `SessionSettings.stats` only).
    public var latenciesNanos: [UInt64] = []
    /// Each mode set: from the DISPI ENABLE write to the first new frame in the shadow (ns),
    /// the VMM's part of it, and the mode in force at the end (with `stats` only).
    public var modeSetsNanos: [UInt64] = []
    public var modeSetCostsNanos: [(rebuild: UInt64, copy: UInt64)] = []
    public var finalMode: DisplayMode
    /// The PNG dumper's line (`wrote N PNG files to ...`), with `--png`.
    public var pngSummary: String?
    /// How the outgoing migration ended the run, if it did.
    public var migration: MigrationOutcome?
}
